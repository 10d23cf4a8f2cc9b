"""Shared fixtures."""

import pytest


@pytest.fixture(scope="session")
def menagerie_available():
    """Fail with the lookup's own advice when the robots cannot be found (set NIL_MENAGERIE_DIR offline)."""
    from nil_ext.assets import MenagerieNotFoundError, menagerie_robot_dir

    try:
        menagerie_robot_dir("unitree_h1")
    except MenagerieNotFoundError as err:
        pytest.fail(str(err))
