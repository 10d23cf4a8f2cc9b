"""A robot file's model, whatever its format: which reader reads it (MJCF, URDF compiled to MJCF, or USD) and the
MJCF the scene converts. The one place that knows every format, so the readers need not know each other."""

from __future__ import annotations

from pathlib import Path

from .mjcf import read_mjcf_robot_info
from .model_info import RobotModelInfo
from .robots import RobotSpec
from .urdf import urdf_to_mjcf, urdf_velocity_limits
from .usd_robot import read_usd_robot_info


def model_mjcf(spec: RobotSpec, robot_dir: Path) -> tuple[Path, list[str]]:
    """The MJCF file of a robot file's model (a URDF compiled to MJCF first) and notes on what that added."""
    if spec.urdf:
        return urdf_to_mjcf(spec)
    return robot_dir / spec.mjcf, []


def read_robot_info(spec: RobotSpec, robot_dir: Path) -> RobotModelInfo:
    """What NIL reads from the robot file's model (joints, limits, gains, start pose), its names checked against it."""
    if spec.usd:
        return read_usd_robot_info(spec)
    path, notes = model_mjcf(spec, robot_dir)
    speeds = urdf_velocity_limits(spec) if spec.urdf else {}  # MJCF has no place for a URDF's joint speed limits
    return read_mjcf_robot_info(spec, path, robot_dir, notes=notes, velocity_limits=speeds)
