"""Robots as data: the robot files of assets/robots, a robot file given on the command line, and the errors a
broken file gets. No simulator."""

import math
import os

import pytest

from nil_ext.assets.robots import ROBOT_FILES_ENV, ROBOTS, ROBOTS_DIR, RobotConfigError, get_robot_spec, load_robot_file
from nil_ext.cli import user_errors
from nil_ext.errors import TaskError
from nil_ext.task_loading import import_tasks, load_cfg


def test_the_four_robots_are_read_from_their_files():
    assert {"h1", "g1", "talos", "a1"} <= set(ROBOTS)
    for name in ("h1", "g1", "talos", "a1"):
        spec = get_robot_spec(name)
        assert spec.source == str(ROBOTS_DIR / f"{name}.toml")
    h1, a1 = get_robot_spec("h1"), get_robot_spec("a1")
    assert h1.menagerie == "unitree_h1" and h1.keyframe_file == "scene.xml" and h1.hand_offset == (0.28, 0.0, -0.015)
    assert h1.pose_overrides == {".*_hip_pitch": 0.0, ".*_knee": 0.0, ".*_ankle": -0.06}
    assert h1.base_pitch == 0.06 and h1.kp_per_effort_overrides == {".*_ankle": 20.0}
    assert a1.quadruped and a1.action_scale == 0.25 and get_robot_spec("talos").gains_file == "talos_position.xml"


def test_h1_starts_leaning_on_flat_feet_with_stiff_ankles(menagerie_available):
    """The robot file's lean turns the start quaternion, and per-joint gains replace the robot-wide one."""
    from nil_ext.assets.robot_model import read_robot_info

    spec = get_robot_spec("h1")
    info = read_robot_info(spec, spec.model_dir())
    x, y, z, w = info.base_quat_xyzw
    assert x == pytest.approx(0.0) and z == pytest.approx(0.0) and 2 * math.atan2(y, w) == pytest.approx(0.06)
    assert info.joint_pos["left_ankle"] == -0.06 and info.joint_pos["right_knee"] == 0.0
    assert info.stiffness["left_ankle"] == 20.0 * info.effort_limit["left_ankle"] == 800.0
    assert info.stiffness["left_knee"] == 5.0 * info.effort_limit["left_knee"]
    assert info.damping["right_ankle"] == pytest.approx(0.02 * 800.0)


@pytest.fixture
def isolated_robot_files(monkeypatch):
    """Robots added by a test stay in this test: the robots, their task ids, the setting child processes read."""
    import gymnasium as gym

    from nil_ext.tasks import WALK_TASKS

    monkeypatch.setattr("nil_ext.assets.robots.ROBOTS", dict(ROBOTS))
    monkeypatch.setattr("nil_ext.tasks.WALK_TASKS", dict(WALK_TASKS))
    monkeypatch.delenv(ROBOT_FILES_ENV, raising=False)
    tasks = set(gym.registry)
    yield
    for task_id in set(gym.registry) - tasks:
        del gym.registry[task_id]


def test_a_robot_file_gets_a_walk_task_with_no_python_edit(ant_robot_file, isolated_robot_files, menagerie_available):
    assert import_tasks("NIL-Walk", str(ant_robot_file)) == "NIL-Ant-Walk"
    assert str(ant_robot_file) in os.environ[ROBOT_FILES_ENV]  # processes started from here know it too
    cfg = load_cfg("NIL-Ant-Walk", "env_cfg_entry_point", preset="cpu-smoke")
    assert cfg.robot_name == "ant" and cfg.robot_config == str(ant_robot_file) and cfg.actions.joint.scale == 0.25
    assert load_cfg("NIL-Ant-Walk", "bro_cfg_entry_point", preset="cpu-smoke").experiment_name == "nil_ant_walk"


def test_the_policy_moves_the_joints_its_robot_file_names(menagerie_available):
    """TALOS's policy leaves its grippers and head at their start pose (28 of its 44 actuated joints); the other robots
    move every actuated joint."""
    talos = load_cfg("NIL-Talos-Walk", "env_cfg_entry_point", preset="cpu-smoke").actions.joint.joint_names
    assert len(talos) == 28 and not [k for k in talos if k.startswith(("gripper", "head"))]
    assert sum(k.startswith("leg_") for k in talos) == 12 and sum(k.startswith("arm_") for k in talos) == 14
    assert len(load_cfg("NIL-H1-Walk", "env_cfg_entry_point", preset="cpu-smoke").actions.joint.joint_names) == 19


def test_nil_walk_without_a_robot_file_says_what_to_give():
    with pytest.raises(TaskError, match="--robot_config FILE.toml"):
        import_tasks("NIL-Walk")


BROKEN = [
    # (what to change in the Ant's file, what the error must say)
    (lambda t: t.replace('display_name = "Ant"\n', ""), "missing required field(s) ['display_name']"),
    (lambda t: t.replace("base_body", "base_bdy"), "unknown field(s) ['base_bdy']"),
    (lambda t: t.replace("kp_per_effort = 1.0", 'kp_per_effort = "high"'), "field 'kp_per_effort'"),
    (lambda t: t.replace("ant.xml", "no_such_robot.xml"), "field 'mjcf': no MJCF file at"),
    (lambda t: t.replace('foot_bodies = ".*aux_.*"', 'foot_bodies = "foot_.*"'), "field 'foot_bodies': 'foot_.*' matches 0"),
    (lambda t: t.replace('base_body = "torso"', 'base_body = "pelvis"'), "field 'base_body': 'pelvis' matches 0"),
    (lambda t: t.replace('"ankle_[14]"', '"knee_[14]"'), "field 'pose_overrides': 'knee_[14]' matches 0 of the joints"),
    (lambda t: t.replace("quadruped = true", 'quadruped = true\nkeyframe = "home"'), "field 'keyframe'"),
    (lambda t: t.replace("quadruped = true", 'quadruped = true\npolicy_joints = "wing_.*"'),
     "field 'policy_joints': 'wing_.*' matches 0 of the joints"),
    (lambda t: t + '[kp_per_effort_overrides]\n"ankle(" = 2.0\n', "field 'kp_per_effort_overrides': 'ankle(' is not"),
    (lambda t: t + "[oops", "not valid TOML"),
]


@pytest.mark.parametrize("change, message", BROKEN, ids=[m.split(":")[0][:30] for _, m in BROKEN])
def test_a_broken_robot_file_is_refused_naming_the_field(change, message, ant_robot_file, tmp_path,
                                                         isolated_robot_files):
    broken = tmp_path / "ant.toml"
    broken.write_text(change(ant_robot_file.read_text()))
    with pytest.raises(user_errors()) as err:  # what the scripts say in one line, no traceback (cli.run)
        import_tasks("NIL-Walk", str(broken))
    assert message in str(err.value) and str(broken) in str(err.value)


def test_a_missing_robot_file_is_named(tmp_path):
    with pytest.raises(RobotConfigError, match="Robot file not found"):
        load_robot_file(tmp_path / "nothing.toml")


def test_a_robot_from_a_file_trains_and_its_checkpoint_plays_without_the_file_named(ant_robot_file, tmp_path,
                                                                                       menagerie_available):
    """gymnasium's Ant, from a robot file outside the checkout: train.py (cpu-smoke, its glide demo as reference)
    writes a checkpoint, and play.py finds the robot file through the run's params."""
    import glob
    import subprocess
    import sys

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {k: v for k, v in os.environ.items() if k != ROBOT_FILES_ENV}
    train = [sys.executable, os.path.join(repo, "scripts", "train.py"), "--task", "NIL-Walk", "--robot_config",
             str(ant_robot_file), "--headless", "--preset", "cpu-smoke", "--max_iterations", "30", "--eval_steps", "5",
             "agent.learning_starts=20"]  # ten updates after 20 random steps
    result = subprocess.run(train, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    checkpoints = glob.glob(str(tmp_path / "logs" / "bro" / "nil_ant_walk" / "*" / "model_*.pt"))
    assert checkpoints, result.stdout[-2000:]

    play = [sys.executable, os.path.join(repo, "scripts", "play.py"), "--task", "NIL-Ant-Walk", "--checkpoint",
            checkpoints[-1], "--steps", "10"]
    result = subprocess.run(play, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    layout = os.path.join(os.path.dirname(checkpoints[-1]), "exported", "observation_layout.json")
    assert '"ankle_1"' in open(layout).read()  # the Ant's joints, exported


def test_generate_reference_takes_the_robot_from_a_robot_file(ant_robot_file, tmp_path, isolated_robot_files):
    import importlib.util

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    spec = importlib.util.spec_from_file_location("generate_reference", os.path.join(repo, "scripts",
                                                                                      "generate_reference.py"))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = ["--generator", "scripted", "--out", str(tmp_path / "ref")]
    assert script.parse_args(["--robot_config", str(ant_robot_file), *out]).robot == "ant"
    assert script.parse_args(["--task", "NIL-A1-Walk", *out]).robot == "a1"
    with pytest.raises(SystemExit):  # argparse's error: an unknown robot, with the known ones listed
        script.parse_args(["--robot", "atlas", *out])
