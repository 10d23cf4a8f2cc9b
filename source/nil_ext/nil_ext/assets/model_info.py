"""What NIL reads from a robot's model, whatever its format (MJCF, URDF, USD), and the one check of a robot file's
names against it. The format readers (mjcf.py, usd_robot.py) build on this; robot_model.py picks the reader."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .robots import RobotConfigError, RobotSpec

# Model files rarely state joint speed limits; this bound only guards the solver against blow-ups.
DEFAULT_VELOCITY_LIMIT = 100.0
# Isaac Lab refuses a start pose on a joint limit (rounding puts it outside): start this far inside (radians).
JOINT_LIMIT_MARGIN = 1e-3


@dataclass
class StandCheck:
    """The start pose settled under the robot's PD in plain MuJoCo (on a floor, targets = the start pose)."""

    seconds: float
    base_height_start: float
    base_height_end: float
    tilt_deg: float
    """Largest tilt of the base body from its start orientation during the settle, degrees."""

    @property
    def holds(self) -> bool:
        """The scene tests' rule: base height within 10 %, tilt under 10 degrees."""
        drop = abs(self.base_height_end - self.base_height_start) / max(self.base_height_start, 1e-6)
        return drop < 0.10 and self.tilt_deg < 10.0

    def __str__(self) -> str:
        return (f"base height {self.base_height_start:.3f} -> {self.base_height_end:.3f} m, tilt up to "
                f"{self.tilt_deg:.1f} deg in {self.seconds:g} s under PD")


@dataclass
class RobotModelInfo:
    """Per actuated joint (in the model's actuator order) limits and gains, and the start pose."""

    joint_names: list[str]
    effort_limit: dict[str, float]
    velocity_limit: dict[str, float]
    stiffness: dict[str, float]
    damping: dict[str, float]
    joint_pos: dict[str, float]
    base_pos: tuple[float, float, float]
    base_quat_xyzw: tuple[float, float, float, float]
    armature: dict[str, float] = field(default_factory=dict)
    """Joints whose armature the robot file sets (others keep the model's)."""
    stand: StandCheck | None = None
    """Where the robot file gives no start pose: how the pose found held under PD."""
    notes: list[str] = field(default_factory=list)
    """What was added to the model on the way (a URDF's free base, ...)."""


def matching(overrides: dict[str, float], name: str, default: float | None) -> float | None:
    """The value of the last regex in ``overrides`` that matches ``name`` in full, else ``default``."""
    for pattern, value in overrides.items():
        if re.fullmatch(pattern, name):
            default = value
    return default


def where(spec: RobotSpec) -> str:
    """The robot file, as an error names it."""
    return spec.source or f"robot '{spec.name}'"


def check_names(spec: RobotSpec, bodies: list[str], joints: list[str]) -> None:
    """The robot file's body and joint regexes against the model's names: a name that matches nothing is refused
    with the field, the regex and the names it could have matched."""
    wanted = [("base_body", spec.base_body, bodies, 1), ("foot_bodies", spec.foot_bodies, bodies, None),
              ("hand_bodies", spec.hand_bodies, bodies, 2)]
    wanted += [("policy_joints", spec.policy_joints, joints, None)]
    wanted += [("pose_overrides", pattern, joints, None) for pattern in spec.pose_overrides]
    wanted += [("kp_per_effort_overrides", pattern, joints, None) for pattern in spec.kp_per_effort_overrides]
    for key, pattern, names, count in wanted:
        if pattern is None:
            continue
        try:
            matched = [n for n in names if re.fullmatch(pattern, n)]
        except re.error as err:
            raise RobotConfigError(f"{where(spec)}: field '{key}': '{pattern}' is not a regular expression: {err}") from None
        what = "bodies" if names is bodies else "joints"
        if not matched or (count is not None and len(matched) != count):
            raise RobotConfigError(
                f"{where(spec)}: field '{key}': '{pattern}' matches {len(matched)} of the {what} of {spec.model_name}"
                f"{f' (needs {count})' if count else ''}; its {what}: {', '.join(names)}"
            )
