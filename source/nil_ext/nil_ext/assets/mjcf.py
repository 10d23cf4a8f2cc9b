"""Read what Isaac Lab needs from a robot's MJCF: actuated joints, their limits and gains, the start pose."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np

from .robots import RobotConfigError, RobotSpec

# MJCF rarely states joint speed limits; this bound only guards the solver against blow-ups.
DEFAULT_VELOCITY_LIMIT = 100.0
# Isaac Lab refuses a start pose on a joint limit (rounding puts it outside): start this far inside (radians).
JOINT_LIMIT_MARGIN = 1e-3


class MjcfError(ValueError):
    """An MJCF file that MuJoCo cannot load, or that lacks what NIL needs."""


def load_mjcf(path: str | Path) -> mujoco.MjModel:
    """Compile an MJCF file; a broken file is reported with its path."""
    path = Path(path)
    if not path.is_file():
        raise MjcfError(f"MJCF file not found: {path}")
    try:
        return mujoco.MjModel.from_xml_path(str(path))
    except Exception as err:
        raise MjcfError(f"Cannot load the MJCF file {path}: {err}") from err


@dataclass
class RobotModelInfo:
    """Per actuated joint (in MJCF actuator order) limits and gains, and the start pose."""

    joint_names: list[str]
    effort_limit: dict[str, float]
    velocity_limit: dict[str, float]
    stiffness: dict[str, float]
    damping: dict[str, float]
    joint_pos: dict[str, float]
    base_pos: tuple[float, float, float]
    base_quat_xyzw: tuple[float, float, float, float]


def read_robot_info(spec: RobotSpec, robot_dir: Path) -> RobotModelInfo:
    model = load_mjcf(robot_dir / spec.mjcf)
    check_names(spec, model)
    joints, efforts = _actuated_joints(model, robot_dir / spec.mjcf)
    if spec.gains_file:
        kp = _position_gains(_companion(spec, "gains_file", robot_dir))
        missing = [j for j in joints if j not in kp]
        if missing:
            raise MjcfError(f"{spec.gains_file} has no position actuator for joints {missing}")
    else:
        kp = {j: spec.kp_per_effort * efforts[j] for j in joints}
    for j in joints:
        per_effort = _matching(spec.kp_per_effort_overrides, j, None)
        if per_effort is not None:
            kp[j] = per_effort * efforts[j]

    qpos = _start_qpos(spec, model, robot_dir)
    joint_pos = {}
    for j in range(model.njnt):
        name = model.joint(j).name
        if model.jnt_type[j] not in (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE)):
            continue
        value = _matching(spec.pose_overrides, name, qpos[model.jnt_qposadr[j]])
        if model.jnt_limited[j]:  # some keyframes sit on or just outside their joint ranges: move just inside
            low, high = model.jnt_range[j]
            margin = min(JOINT_LIMIT_MARGIN, (high - low) / 4)
            value = float(np.clip(value, low + margin, high - margin))
        qpos[model.jnt_qposadr[j]] = value
        joint_pos[name] = float(value)
    quat = qpos[3:7] / np.linalg.norm(qpos[3:7])  # TALOS' walk_pose has a zero quaternion
    if spec.base_pitch:
        pitch = np.array([math.cos(spec.base_pitch / 2), 0.0, math.sin(spec.base_pitch / 2), 0.0])  # w, x, y, z
        mujoco.mju_mulQuat(quat, quat.copy(), pitch)  # about the base's own y axis: a forward lean
    qpos[3:7] = quat
    qpos[2] -= _lowest_point(model, qpos)  # feet on the ground (a box bound: a few mm high at most)

    return RobotModelInfo(
        joint_names=joints,
        effort_limit=efforts,
        velocity_limit={j: DEFAULT_VELOCITY_LIMIT for j in joints},
        stiffness=kp,
        damping={j: spec.kd_per_kp * kp[j] for j in joints},
        joint_pos={j: joint_pos[j] for j in joints},
        base_pos=(float(qpos[0]), float(qpos[1]), float(qpos[2])),
        base_quat_xyzw=(float(quat[1]), float(quat[2]), float(quat[3]), float(quat[0])),
    )


def _matching(overrides: dict[str, float], name: str, default: float | None) -> float | None:
    """The value of the last regex in ``overrides`` that matches ``name`` in full, else ``default``."""
    for pattern, value in overrides.items():
        if re.fullmatch(pattern, name):
            default = value
    return default


def check_names(spec: RobotSpec, model: mujoco.MjModel) -> None:
    """The robot file's body and joint regexes against the MJCF: a name that matches nothing is refused with the
    field, the regex and the names it could have matched."""
    bodies = [model.body(b).name for b in range(1, model.nbody)]
    joints = [model.joint(j).name for j in range(model.njnt)]
    wanted = [("base_body", spec.base_body, bodies, 1), ("foot_bodies", spec.foot_bodies, bodies, None),
              ("hand_bodies", spec.hand_bodies, bodies, 2)]
    wanted += [("pose_overrides", pattern, joints, None) for pattern in spec.pose_overrides]
    wanted += [("kp_per_effort_overrides", pattern, joints, None) for pattern in spec.kp_per_effort_overrides]
    for field, pattern, names, count in wanted:
        if pattern is None:
            continue
        try:
            matched = [n for n in names if re.fullmatch(pattern, n)]
        except re.error as err:
            raise RobotConfigError(f"{_where(spec)}: field '{field}': '{pattern}' is not a regular expression: {err}") from None
        what = "bodies" if names is bodies else "joints"
        if not matched or (count is not None and len(matched) != count):
            raise RobotConfigError(
                f"{_where(spec)}: field '{field}': '{pattern}' matches {len(matched)} of the {what} of {spec.mjcf}"
                f"{f' (needs {count})' if count else ''}; its {what}: {', '.join(names)}"
            )


def _where(spec: RobotSpec) -> str:
    return spec.source or f"robot '{spec.name}'"


def _companion(spec: RobotSpec, field: str, robot_dir: Path) -> mujoco.MjModel:
    """A file the robot file names beside its MJCF (keyframe_file, gains_file)."""
    path = robot_dir / getattr(spec, field)
    if not path.is_file():
        raise RobotConfigError(f"{_where(spec)}: field '{field}': no file at {path}")
    return load_mjcf(path)


def _actuated_joints(model: mujoco.MjModel, path: Path) -> tuple[list[str], dict[str, float]]:
    """Joints driven by an actuator and their torque limits (ctrlrange x gear, or forcerange)."""
    joints, efforts = [], {}
    for a in range(model.nu):
        if model.actuator_trntype[a] != int(mujoco.mjtTrn.mjTRN_JOINT):
            continue
        j = model.actuator_trnid[a, 0]
        name = model.joint(j).name
        if model.actuator_forcelimited[a]:
            limit = float(np.abs(model.actuator_forcerange[a]).max())
        elif model.jnt_actfrclimited[j]:
            limit = float(np.abs(model.jnt_actfrcrange[j]).max())
        else:
            limit = float(np.abs(model.actuator_ctrlrange[a]).max() * abs(model.actuator_gear[a, 0]))
        if limit <= 0:
            raise MjcfError(f"{path}: actuator '{model.actuator(a).name}' has no torque limit")
        joints.append(name)
        efforts[name] = limit
    if not joints:
        raise MjcfError(f"{path} has no joint actuators: NIL needs a torque-actuated robot model")
    return joints, efforts


def _position_gains(model: mujoco.MjModel) -> dict[str, float]:
    """kp of each position actuator (gainprm[0]) by joint name."""
    return {
        model.joint(model.actuator_trnid[a, 0]).name: float(model.actuator_gainprm[a, 0])
        for a in range(model.nu)
        if model.actuator_trntype[a] == int(mujoco.mjtTrn.mjTRN_JOINT)
    }


def _start_qpos(spec: RobotSpec, model: mujoco.MjModel, robot_dir: Path) -> np.ndarray:
    if spec.keyframe is None:
        return model.qpos0.copy()
    source = _companion(spec, "keyframe_file", robot_dir) if spec.keyframe_file else model
    if source.nkey == 0:
        raise RobotConfigError(f"{_where(spec)}: field 'keyframe': {spec.keyframe_file or spec.mjcf} has no keyframe "
                               "(leave 'keyframe' out to start from the model's reference pose qpos0)")
    try:
        key = source.key(spec.keyframe)
    except (KeyError, IndexError) as err:
        names = [source.key(i).name for i in range(source.nkey)]
        raise RobotConfigError(f"{_where(spec)}: field 'keyframe': '{spec.keyframe}' not found; the file has {names}") from err
    if source.nq != model.nq:
        raise MjcfError(f"keyframe file {spec.keyframe_file} has {source.nq} qpos entries, the robot {model.nq}")
    return np.array(key.qpos, dtype=np.float64)


def _lowest_point(model: mujoco.MjModel, qpos: np.ndarray) -> float:
    """World z of the lowest point of the collision geometry, from each geom's bounding box."""
    data = mujoco.MjData(model)
    data.qpos[:] = qpos
    mujoco.mj_kinematics(model, data)
    # The robot's own collision geometry: not a floor the model may bring (world geoms, dropped in the USD too)
    collide = ((model.geom_contype != 0) | (model.geom_conaffinity != 0)) & (model.geom_bodyid != 0)
    centre = data.geom_xpos + np.einsum("gij,gj->gi", data.geom_xmat.reshape(-1, 3, 3), model.geom_aabb[:, :3])
    extent = np.einsum("gj,gj->g", np.abs(data.geom_xmat.reshape(-1, 3, 3)[:, 2, :]), model.geom_aabb[:, 3:])
    return float((centre[:, 2] - extent)[collide].min())
