"""Robots outside the four, each from a small robot file and nothing else: Newton's example quadruped (URDF),
Newton's example humanoid (USD, used as it is) and Menagerie's A1 stripped of its actuators and keyframes (an
actuator-less MJCF, as robot zoos ship them). Each is read, holds its start pose through a walk episode, renders with
masks, and trains cpu-smoke (marked slow: the default run trains a robot file with gymnasium's Ant in
test_robot_files.py, and holds and renders these three here); a broken actuation table is refused naming the field."""

import os
import subprocess
import sys
from pathlib import Path

import mujoco
import pytest
from script_helpers import script_path

from nil_ext.assets.robots import ROBOT_FILES_ENV, ROBOTS_DIR, RobotConfigError, load_robot_file

EXAMPLES = ROBOTS_DIR / "examples"
EPISODE_SECONDS = 4.0  # a walk episode: the 400-step reference at 100 Hz

BARE_A1_FILE = """\
display_name = "Unitree A1 (bare)"
mjcf = "a1_bare.xml"
base_body = "trunk"
foot_bodies = ".*_calf"
quadruped = true
action_scale = 0.25
kp_per_effort = 12.0  # kp = 400 N m/rad, as a1.toml's (at 4 x 33.5 it sags 10 % in an episode)

[actuation]
".*" = {{ effort = 33.5 }}
{extra}"""


STANDING = '\n[pose_overrides]\n".*_hip_joint" = 0.0\n".*_thigh_joint" = 0.9\n".*_calf_joint" = -1.8\n'


def strip_actuators(mjcf: Path, out: Path) -> Path:
    """A copy of a Menagerie MJCF without its actuators and keyframes (meshes left where they are)."""
    spec = mujoco.MjSpec.from_file(str(mjcf))
    spec.meshdir = str((mjcf.parent / (spec.meshdir or "")).resolve())
    for element in [*spec.actuators, *spec.keys]:
        spec.delete(element)
    out.write_text(spec.to_xml())
    return out


def write_bare_a1(folder: Path, extra: str = "") -> Path:
    """Menagerie's A1 stripped of its actuators and keyframe, and a robot file for it (``extra``: more of the file)."""
    from nil_ext.assets import menagerie_robot_dir

    strip_actuators(menagerie_robot_dir("unitree_a1") / "a1.xml", folder / "a1_bare.xml")
    path = folder / "a1_bare.toml"
    path.write_text(BARE_A1_FILE.format(extra=extra))
    return path


@pytest.fixture(scope="session")
def bare_a1_file(tmp_path_factory, menagerie_available):
    """The bare A1 in A1's standing pose."""
    return write_bare_a1(tmp_path_factory.mktemp("bare_a1"), STANDING)


def _info(path):
    from nil_ext.assets.robot_model import read_robot_info

    spec = load_robot_file(path)
    return spec, read_robot_info(spec, spec.model_dir())


# --- reading: no simulator ---------------------------------------------------------------------------------------


def test_urdf_quadruped_is_compiled_with_a_free_base_and_its_found_pose_stands():
    spec, info = _info(EXAMPLES / "quadruped.toml")
    assert spec.urdf.endswith("quadruped.urdf") and Path(spec.urdf).is_file()
    assert len(info.joint_names) == 12 and set(info.effort_limit.values()) == {80.0}  # the URDF's <limit effort>
    assert set(info.velocity_limit.values()) == {20.0}  # and <limit velocity>
    assert info.stiffness["LF_HFE"] == 2.0 * 80.0 and info.damping["LF_HFE"] == pytest.approx(0.05 * 160.0)
    assert any("free joint added to the root link 'base'" in note for note in info.notes)
    assert info.stand is not None and info.stand.holds, str(info.stand)
    assert 0.4 < info.base_pos[2] < 0.6  # straight legs, feet on the ground


def test_actuator_less_mjcf_takes_its_torque_limits_from_the_actuation_table(bare_a1_file):
    spec, info = _info(bare_a1_file)
    assert len(info.joint_names) == 12 and set(info.effort_limit.values()) == {33.5}
    assert set(info.stiffness.values()) == {12.0 * 33.5}  # the PD rule applies to the table's limits
    assert info.joint_pos["FL_thigh_joint"] == 0.9 and info.stand is None  # the file gives the pose: no search


def test_actuator_less_mjcf_without_a_pose_gets_one_found_and_checked(tmp_path, menagerie_available):
    """Joints at zero, or mid-range where zero is outside the range (A1's calves): A1 kneels, and holds it."""
    _, info = _info(write_bare_a1(tmp_path))
    assert info.joint_pos["FL_thigh_joint"] == 0.0 and info.joint_pos["FL_calf_joint"] == pytest.approx(-1.806, abs=1e-3)
    assert info.stand is not None and info.stand.holds, str(info.stand)


def test_actuation_table_overrides_gains_armature_and_speed_limits(bare_a1_file, tmp_path):
    extra = '".*_calf_joint" = { stiffness = 100.0, damping = 3.0, armature = 0.01, velocity = 20.0 }\n'
    path = write_bare_a1(tmp_path, extra)
    _, info = _info(path)
    assert info.stiffness["FR_calf_joint"] == 100.0 and info.damping["FR_calf_joint"] == 3.0
    assert info.armature == {j: 0.01 for j in info.joint_names if "calf" in j}
    assert info.velocity_limit["RL_calf_joint"] == 20.0 and info.stiffness["RL_thigh_joint"] == 12.0 * 33.5


def test_a_robot_that_does_not_stand_under_its_gains_is_refused_with_the_numbers(tmp_path, menagerie_available):
    """H1 stripped of its actuators, straight-legged at zero, under a stiffness far below gravity's pull."""
    from nil_ext.assets import menagerie_robot_dir

    strip_actuators(menagerie_robot_dir("unitree_h1") / "h1.xml", tmp_path / "h1_bare.xml")
    robot = ('display_name = "H1 (bare)"\nmjcf = "h1_bare.xml"\nbase_body = "pelvis"\nfoot_bodies = ".*_ankle_link"\n'
             'kp_per_effort = {kp}\n[actuation]\n".*" = {{ effort = 100.0 }}\n')
    (tmp_path / "h1_bare.toml").write_text(robot.format(kp=0.05))
    with pytest.raises(RobotConfigError, match=r"field 'actuation': the robot does not stand .*base height "
                                               r"1\.\d+ -> 0\.\d+ m, tilt up to"):
        _info(tmp_path / "h1_bare.toml")


BROKEN_ACTUATION = [
    # (what to do to the bare A1's file, what the one-line error must say)
    (lambda t: t.replace('".*" = { effort = 33.5 }', '".*_calf_joint" = { effort = 33.5 }'),
     "field 'actuation': joint(s) FR_hip_joint"),
    (lambda t: t + '"wing_.*" = { effort = 5.0 }\n', "field 'actuation': 'wing_.*' matches 0 of the actuated joints"),
    (lambda t: t + '"FR_.*" = { torque = 5.0 }\n', "field 'actuation': 'FR_.*' has unknown key(s) ['torque']"),
    (lambda t: t.replace("effort = 33.5", "effort = -1.0"), "field 'actuation': '.*': effort = -1.0 must be positive"),
    (lambda t: t.replace('mjcf = "a1_bare.xml"', 'mjcf = "a1_bare.xml"\nurdf = "a1.urdf"'),
     "field 'mjcf': give exactly one of"),
    (lambda t: t.replace('mjcf = "a1_bare.xml"', 'urdf = "a1.urdf"'), "field 'urdf': no URDF file at"),
    (lambda t: t.replace('mjcf = "a1_bare.xml"', 'package = "no_such_package"\nmjcf = "a1_bare.xml"'),
     "field 'package': no installed Python package 'no_such_package'"),
]


@pytest.mark.parametrize("change, message", BROKEN_ACTUATION, ids=[m.split(":")[0][:40] for _, m in BROKEN_ACTUATION])
def test_a_broken_actuation_or_model_field_is_refused_naming_the_field(change, message, tmp_path,
                                                                       menagerie_available):
    path = write_bare_a1(tmp_path)
    path.write_text(change(path.read_text()))
    with pytest.raises(RobotConfigError) as err:
        _info(path)
    assert message in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)


def test_urdf_package_roots_resolve_meshes_and_a_missing_root_is_named(tmp_path):
    """A URDF whose mesh is ``package://toy/meshes/box.stl``: found through ``urdf_packages``, else refused."""
    import numpy as np
    from stl import mesh as stl_mesh  # numpy-stl, a dependency of the MJCF -> USD converter

    (tmp_path / "toy" / "meshes").mkdir(parents=True)
    cube = stl_mesh.Mesh(np.zeros(12, dtype=stl_mesh.Mesh.dtype))
    corners = np.array([[x, y, z] for x in (-0.05, 0.05) for y in (-0.05, 0.05) for z in (-0.05, 0.05)])
    faces = [[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1], [2, 3, 7], [2, 7, 6], [0, 2, 6],
             [0, 6, 4], [1, 5, 7], [1, 7, 3]]
    cube.vectors[:] = corners[faces]
    cube.save(str(tmp_path / "toy" / "meshes" / "box.stl"))
    link = ('<link name="{0}"><inertial><mass value="1"/><inertia ixx="0.01" iyy="0.01" izz="0.01" ixy="0" ixz="0" '
            'iyz="0"/></inertial><collision><geometry><mesh filename="package://toy/meshes/box.stl"/></geometry>'
            "</collision></link>")
    (tmp_path / "toy.urdf").write_text(
        f'<robot name="toy">{link.format("body")}{link.format("arm")}<joint name="hinge" type="revolute">'
        '<parent link="body"/><child link="arm"/><origin xyz="0 0 0.2"/><axis xyz="0 1 0"/>'
        '<limit lower="-1" upper="1" effort="5" velocity="3"/></joint></robot>')
    robot = 'display_name = "toy"\nurdf = "toy.urdf"\nbase_body = "body"\nfoot_bodies = "body"\n'
    (tmp_path / "toy.toml").write_text(robot + '[urdf_packages]\ntoy = "toy"\n')
    _, info = _info(tmp_path / "toy.toml")
    assert info.joint_names == ["hinge"] and info.effort_limit == {"hinge": 5.0}
    assert info.base_pos[2] == pytest.approx(0.05, abs=1e-3)  # the lowest mesh vertex on the ground
    (tmp_path / "toy.toml").write_text(robot)
    with pytest.raises(RobotConfigError, match="field 'urdf_packages': .*'package://toy/meshes/box.stl'"):
        _info(tmp_path / "toy.toml")


def test_usd_humanoid_is_read_as_it_is():
    """Newton's humanoid USD: D6 joints named per axis as Isaac Lab names them, limits and masses from the file."""
    spec, info = _info(EXAMPLES / "humanoid.toml")
    assert spec.usd.endswith("humanoid.usda")
    assert {"right_thigh:0", "right_thigh:1", "right_thigh:2", "right_knee", "abdomen_x"} <= set(info.joint_names)
    assert info.effort_limit["right_knee"] == 300.0 and info.effort_limit["left_elbow"] == 25.0
    assert all(v == 0.0 for v in info.joint_pos.values()) and 1.2 < info.base_pos[2] < 1.4
    assert "40.8 kg" in info.notes[0]


def test_usd_robot_without_torque_limits_is_refused_naming_the_field(tmp_path):
    text = (EXAMPLES / "humanoid.toml").read_text().replace('".*" = { effort = 300.0 }\n', "")
    (tmp_path / "humanoid.toml").write_text(text)
    with pytest.raises(RobotConfigError, match="field 'actuation': joint\\(s\\) lower_waist:0, .*left_thigh:0.* have no torque limit"):
        _info(tmp_path / "humanoid.toml")


# --- in the simulator ----------------------------------------------------------------------------------------------

ROBOT_FILES = {"quadruped": lambda request: EXAMPLES / "quadruped.toml",
               "a1_bare": lambda request: request.getfixturevalue("bare_a1_file"),
               "humanoid": lambda request: EXAMPLES / "humanoid.toml"}


@pytest.fixture(scope="module", params=list(ROBOT_FILES))
def held_scene(request, menagerie_available):
    """4 envs of one robot after holding its start pose for a walk episode, with the start heights."""
    from nil_ext.assets import robots
    from nil_ext.assets.robots import add_robot
    from nil_ext.scene.camera import FollowCameraCfg
    from nil_ext.scene.robot_scene import open_robot_scene

    with pytest.MonkeyPatch.context() as patch:  # the robot stays known to this module only
        patch.setattr("nil_ext.assets.robots.ROBOTS", dict(robots.ROBOTS))
        patch.delenv(ROBOT_FILES_ENV, raising=False)
        name = add_robot(load_robot_file(ROBOT_FILES[request.param](request))).name
        with open_robot_scene(name, num_envs=4, camera=FollowCameraCfg(width=64, height=64)) as scene:
            start_height = scene.base_pos[:, 2].clone()
            scene.step(round(EPISODE_SECONDS / scene.physics_dt))
            yield name, scene, start_height


def test_urdf_actuator_less_and_usd_robots_hold_their_start_pose_for_an_episode(held_scene):
    import torch

    name, scene, start_height = held_scene
    state = torch.cat([scene.robot.data.joint_pos.torch, scene.robot.data.root_pose_w.torch], dim=1)
    assert torch.isfinite(state).all(), f"{name}: NaN in the simulated state"
    height = scene.base_pos[:, 2]
    gravity_b = scene.robot.data.projected_gravity_b.torch
    tilt_deg = torch.rad2deg(torch.acos((-gravity_b[:, 2]).clamp(-1.0, 1.0)))
    print(f"{name}: base height {start_height.mean():.3f} -> {height.mean():.3f} m, tilt {tilt_deg.max():.1f} deg "
          f"after {EPISODE_SECONDS:g} s")
    assert ((height - start_height).abs() / start_height < 0.10).all(), f"{name}: base {start_height} -> {height}"
    assert (tilt_deg < 10.0).all(), f"{name}: torso tilt {tilt_deg} degrees"


def test_urdf_actuator_less_and_usd_robots_render_with_masks(held_scene):
    name, scene, _ = held_scene
    rgb, mask = scene.render()
    assert rgb.shape == (4, 64, 64, 3) and mask.shape == (4, 64, 64)
    area = mask.flatten(1).sum(1)
    assert ((area > 20) & (area < 0.8 * 64 * 64)).all(), f"{name}: mask areas {area}"


def _train(robot_file: Path, cwd: Path, iterations: int) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != ROBOT_FILES_ENV}
    train = [sys.executable, script_path("train.py"), "--task", "NIL-Walk", "--robot_config", str(robot_file),
             "--headless", "--preset", "cpu-smoke", "--max_iterations", str(iterations), "--eval_steps", "5"]
    return subprocess.run(train, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def _trains(robot: str, request, tmp_path: Path, iterations: int) -> None:
    robot_file = ROBOT_FILES[robot](request)
    result = _train(robot_file, tmp_path, iterations)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert list((tmp_path / "logs" / "bro").glob(f"nil_{Path(robot_file).stem}_walk/*/model_*.pt")), result.stdout[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("robot", ["quadruped", "a1_bare"])
def test_urdf_and_actuator_less_mjcf_robots_train_cpu_smoke(robot, request, tmp_path, menagerie_available):
    """train.py end to end (scripted reference, env, runner, checkpoint, export, evaluation), a few iterations."""
    _trains(robot, request, tmp_path, iterations=20)


@pytest.mark.slow
@pytest.mark.parametrize("robot", list(ROBOT_FILES))
def test_new_robots_train_cpu_smoke_past_the_start_of_learning(robot, request, tmp_path, menagerie_available):
    """cpu-smoke learns from step 200: updates run (the USD humanoid too)."""
    _trains(robot, request, tmp_path, iterations=260)


def test_check_command_prints_the_robot_and_a_broken_file_in_one_line(tmp_path, capsys):
    """``python -m nil_ext.assets FILE.toml``: step 2 of docs/new_robot.md."""
    from nil_ext.assets.__main__ import main

    assert main([str(EXAMPLES / "quadruped.toml")]) == 0
    out = capsys.readouterr().out
    assert "12 actuated joints" in out and "free joint added" in out and "holds" in out
    (tmp_path / "empty.usda").write_text('#usda 1.0\ndef Xform "robot" {}\n')
    (tmp_path / "empty.toml").write_text('display_name = "e"\nusd = "empty.usda"\nbase_body = "a"\nfoot_bodies = "b"\n')
    assert main([str(tmp_path / "empty.toml")]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "field 'usd'" in err and "has no movable joints" in err
