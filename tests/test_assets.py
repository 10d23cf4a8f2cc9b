"""Robots from Menagerie: lookup, MJCF reading, MJCF -> USD, and the errors a user sees. No simulator."""

from pathlib import Path

import mujoco
import numpy as np
import pytest

from nil_ext.assets import (
    ROBOTS,
    MenagerieNotFoundError,
    MjcfError,
    UnknownRobotError,
    get_robot_spec,
    menagerie_robot_dir,
)
from nil_ext.assets.robot_model import read_robot_info
from nil_ext.assets.usd_conversion import mjcf_to_usd


def test_unknown_robot_lists_known_ones():
    with pytest.raises(UnknownRobotError) as err:
        get_robot_spec("atlas")
    for name in ("h1", "g1", "talos", "a1"):
        assert name in str(err.value)


def test_missing_menagerie_folder_names_setting_and_download(tmp_path, monkeypatch):
    monkeypatch.setenv("NIL_MENAGERIE_DIR", str(tmp_path))
    with pytest.raises(MenagerieNotFoundError) as err:
        menagerie_robot_dir("unitree_h1")
    message = str(err.value)
    assert "NIL_MENAGERIE_DIR" in message and "mujoco-menagerie" in message and "unitree_h1" in message


def test_corrupt_mjcf_reports_the_file(tmp_path):
    broken = tmp_path / "robot.xml"
    broken.write_text("<mujoco><worldbody><body><joint type='hinge'/>")
    with pytest.raises(MjcfError) as err:
        mjcf_to_usd(broken)
    assert str(broken) in str(err.value)


@pytest.mark.parametrize("name", sorted(ROBOTS))
def test_robot_info_is_complete_and_within_limits(name, menagerie_available):
    spec = get_robot_spec(name)
    robot_dir = spec.model_dir()
    info = read_robot_info(spec, robot_dir)
    model = mujoco.MjModel.from_xml_path(str(robot_dir / spec.mjcf))
    assert len(info.joint_names) == model.nu
    for joint in info.joint_names:
        assert info.effort_limit[joint] > 0 and info.stiffness[joint] > 0 and info.damping[joint] > 0
        j = model.joint(joint).id
        if model.jnt_limited[j]:
            low, high = model.jnt_range[j]
            assert low - 1e-9 <= info.joint_pos[joint] <= high + 1e-9
    assert abs(np.linalg.norm(info.base_quat_xyzw) - 1.0) < 1e-6
    assert 0.2 < info.base_pos[2] < 1.3


def test_usd_conversion_is_cached_and_bakes_mirrored_meshes(menagerie_available):
    talos = menagerie_robot_dir("pal_talos") / "talos_motor.xml"
    first = mjcf_to_usd(talos)
    stamp = first.stat().st_mtime_ns
    again = mjcf_to_usd(talos)
    assert again == first and again.stat().st_mtime_ns == stamp  # second call converts nothing
    usd_text = "".join(p.read_text(errors="ignore") for p in first.parent.rglob("*.usda"))
    assert "r_arm_1" in usd_text  # a mirrored mesh made it into the USD
    baked = list(Path(first.parent).rglob("*.usd*"))
    assert baked, "the converter wrote no USD files"
