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


ANT_ROBOT_FILE = """\
# Gymnasium's MuJoCo Ant: an MJCF robot from outside Menagerie, given as a path (no Python edit).
display_name = "Ant"
mjcf = "{mjcf}"
base_body = "torso"
foot_bodies = ".*aux_.*"   # its feet are unnamed bodies: the named upper legs stand in for them
kp_per_effort = 1.0
quadruped = true
action_scale = 0.25

[pose_overrides]          # its ankles start on their limits: bend them to mid-range, legs under the torso
"ankle_[14]" = 0.9
"ankle_[23]" = -0.9
"""


@pytest.fixture(scope="session")
def ant_robot_file(tmp_path_factory):
    """A robot file for gymnasium's Ant (installed with the project's gymnasium pin), in a folder of its own."""
    import importlib.resources

    mjcf = importlib.resources.files("gymnasium") / "envs" / "mujoco" / "assets" / "ant.xml"
    path = tmp_path_factory.mktemp("robots") / "ant.toml"
    path.write_text(ANT_ROBOT_FILE.format(mjcf=mjcf))
    return path


@pytest.fixture(scope="session")
def walking_robot_clip(menagerie_available):
    """H1's scripted walk at 96 px, 36 frames, from an unseen front-left viewpoint: frames, masks (the truth)."""
    from nil_ext.reference.scripted import render_scripted_reference
    from nil_ext.scene.camera import FollowCameraCfg

    camera = FollowCameraCfg(width=96, height=96, yaw_deg=-40.0, height_offset=0.6)
    frames, masks, *_ = render_scripted_reference("h1", camera, num_frames=36)
    return frames, masks
