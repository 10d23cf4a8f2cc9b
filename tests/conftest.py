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


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory, menagerie_available):
    """The README's main job, trimmed (NIL-H1-Walk, cpu-smoke, 60 iterations: 40 updates after 20 random steps),
    trained once for the tests that need a run folder: (the folder train.py ran in, the run's folder)."""
    import glob
    import os
    import subprocess
    import sys

    cwd = tmp_path_factory.mktemp("main_job")
    train = [sys.executable, os.path.join(os.path.dirname(os.path.dirname(__file__)), "scripts", "train.py"),
             "--task", "NIL-H1-Walk", "--headless", "--preset", "cpu-smoke", "--max_iterations", "60",
             "--eval_steps", "12", "--run_name", "smoke", "agent.learning_starts=20",
             "env.imitation.reward.ablation=only_iou"]  # the preset's own is no_video: IoU and penalties
    result = subprocess.run(train, cwd=cwd, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return cwd, glob.glob(str(cwd / "logs" / "bro" / "nil_h1_walk" / "*_smoke"))[-1]
