"""Find a MuJoCo Menagerie robot folder on disk.

Lookup order: the ``NIL_MENAGERIE_DIR`` setting (a folder in Menagerie's layout, for offline machines),
then the ``mujoco-menagerie`` package, which downloads the robot on first use.
"""

from __future__ import annotations

import os
from pathlib import Path

MENAGERIE_DIR_ENV = "NIL_MENAGERIE_DIR"


class MenagerieNotFoundError(FileNotFoundError):
    """Neither the local Menagerie folder nor the download gave the robot."""


def menagerie_robot_dir(menagerie_name: str) -> Path:
    """The folder of one Menagerie robot (e.g. ``unitree_h1``), downloading it if needed."""
    local = os.environ.get(MENAGERIE_DIR_ENV)
    if local:
        path = Path(local).expanduser() / menagerie_name
        if not path.is_dir():
            raise MenagerieNotFoundError(
                f"{MENAGERIE_DIR_ENV}={local} has no folder '{menagerie_name}'. Point {MENAGERIE_DIR_ENV} at a "
                "MuJoCo Menagerie checkout (git clone https://github.com/google-deepmind/mujoco_menagerie), "
                f"or unset it to let the mujoco-menagerie package download '{menagerie_name}'."
            )
        return path
    try:
        import mujoco_menagerie
    except ImportError as err:
        raise MenagerieNotFoundError(_how_to_get(menagerie_name, "the mujoco-menagerie package is not installed")) from err
    try:
        return Path(mujoco_menagerie.get(menagerie_name).path())
    except Exception as err:  # network errors, missing registry entries, checksum failures
        raise MenagerieNotFoundError(_how_to_get(menagerie_name, f"the download failed: {err}")) from err


def _how_to_get(name: str, why: str) -> str:
    return (
        f"Cannot get the Menagerie robot '{name}': {why}.\n"
        f"  Either set {MENAGERIE_DIR_ENV}=/path/to/mujoco_menagerie (a checkout of "
        "https://github.com/google-deepmind/mujoco_menagerie, for offline machines),\n"
        "  or install the mujoco-menagerie package and let it download the robot (needs internet once)."
    )
