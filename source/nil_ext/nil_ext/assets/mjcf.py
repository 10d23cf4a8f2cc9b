"""Read what Isaac Lab needs from a robot's MJCF: actuated joints, their limits and gains, the start pose."""

from __future__ import annotations

import math
import re
from pathlib import Path

import mujoco
import numpy as np

from .model_info import (
    DEFAULT_VELOCITY_LIMIT,
    JOINT_LIMIT_MARGIN,
    RobotModelInfo,
    StandCheck,
    check_names,
    matching,
    where,
)
from .robots import RobotConfigError, RobotSpec


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


def read_mjcf_robot_info(spec: RobotSpec, path: Path, robot_dir: Path, notes: list[str] | None = None,
                         velocity_limits: dict[str, float] | None = None) -> RobotModelInfo:
    """The model info of the MJCF at ``path`` (the robot file's own, or its URDF compiled); ``notes`` say what was added
    to the model on the way, ``velocity_limits`` are joint speed limits the MJCF has no place for (a URDF's)."""
    model = load_mjcf(path)
    check_names(spec, [model.body(b).name for b in range(1, model.nbody)],
                [model.joint(j).name for j in range(model.njnt)])
    joints, efforts, table = _actuated_joints(spec, model, path)
    if spec.gains_file:
        kp = _position_gains(_companion(spec, "gains_file", robot_dir))
        missing = [j for j in joints if j not in kp]
        if missing:
            raise MjcfError(f"{spec.gains_file} has no position actuator for joints {missing}")
    else:
        kp = {j: spec.kp_per_effort * efforts[j] for j in joints}
    for j in joints:
        per_effort = matching(spec.kp_per_effort_overrides, j, None)
        if per_effort is not None:
            kp[j] = per_effort * efforts[j]
        kp[j] = table[j].get("stiffness", kp[j])
    kd = {j: table[j].get("damping", spec.kd_per_kp * kp[j]) for j in joints}

    model_speed = velocity_limits or {}
    qpos = _start_qpos(spec, model, robot_dir)
    joint_pos = {}
    for j in range(model.njnt):
        name = model.joint(j).name
        if model.jnt_type[j] not in (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE)):
            continue
        value = qpos[model.jnt_qposadr[j]]
        if model.jnt_limited[j]:
            low, high = model.jnt_range[j]
            if spec.keyframe is None and not low <= value <= high:  # no keyframe: zero, or mid-range without zero
                value = (low + high) / 2
        value = matching(spec.pose_overrides, name, value)
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

    info = RobotModelInfo(
        joint_names=joints,
        effort_limit=efforts,
        velocity_limit={j: table[j].get("velocity", model_speed.get(j, DEFAULT_VELOCITY_LIMIT)) for j in joints},
        stiffness=kp,
        damping=kd,
        joint_pos={j: joint_pos[j] for j in joints},
        base_pos=(float(qpos[0]), float(qpos[1]), float(qpos[2])),
        base_quat_xyzw=(float(quat[1]), float(quat[2]), float(quat[3]), float(quat[0])),
        armature={j: table[j]["armature"] for j in joints if "armature" in table[j]},
        notes=list(notes or []),
    )
    if spec.keyframe is None and not spec.pose_overrides and not spec.base_pitch:  # the file gives no start pose
        info.stand = settle(spec, path, info, qpos)
        if not info.stand.holds:
            raise RobotConfigError(
                f"{where(spec)}: field 'actuation': the robot does not stand in the start pose found (joints at zero "
                f"or mid-range, lowest collision geometry on the ground): {info.stand}; raise its stiffness "
                "(kp_per_effort, actuation) or give a start pose (keyframe, pose_overrides)")
    return info


SETTLE_SECONDS = 2.0


def settle(spec: RobotSpec, path: Path, info: RobotModelInfo, qpos: np.ndarray,
           seconds: float = SETTLE_SECONDS) -> StandCheck:
    """Hold the start pose under the robot's PD (implicit damping, torque limits) on a floor in plain MuJoCo."""
    model_spec = mujoco.MjSpec.from_file(str(path))
    for actuator in list(model_spec.actuators):
        model_spec.delete(actuator)
    for geom in list(model_spec.worldbody.geoms):
        model_spec.delete(geom)
    model_spec.worldbody.add_geom(type=mujoco.mjtGeom.mjGEOM_PLANE, size=[50, 50, 1], friction=[1.0, 0.005, 0.0001])
    model_spec.option.timestep = 0.005
    model_spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    model_spec.option.cone = mujoco.mjtCone.mjCONE_PYRAMIDAL
    for j in info.joint_names:
        kp, kd, effort = info.stiffness[j], info.damping[j], info.effort_limit[j]
        model_spec.add_actuator(trntype=mujoco.mjtTrn.mjTRN_JOINT, target=j, gainprm=[kp] + [0] * 9,
                                biasprm=[0, -kp, -kd] + [0] * 7, forcelimited=True, forcerange=[-effort, effort],
                                ctrllimited=False)
        if j in info.armature:
            model_spec.joint(j).armature = info.armature[j]
    model = model_spec.compile()
    data = mujoco.MjData(model)
    data.qpos[:] = qpos
    data.ctrl[:] = [info.joint_pos[j] for j in info.joint_names]
    base = next(b for b in range(model.nbody) if re.fullmatch(spec.base_body, model.body(b).name))
    mujoco.mj_forward(model, data)
    z0, up0 = float(data.xpos[base, 2]), data.xmat[base].reshape(3, 3).copy()
    tilt = 0.0
    for _ in range(round(seconds / model.opt.timestep)):
        mujoco.mj_step(model, data)
        turn = up0.T @ data.xmat[base].reshape(3, 3)
        tilt = max(tilt, math.degrees(math.acos(float(np.clip((np.trace(turn) - 1) / 2, -1.0, 1.0)))))
        if not np.isfinite(data.qpos).all():
            tilt = 180.0
            break
    return StandCheck(seconds, z0, float(data.xpos[base, 2]), tilt)


def _companion(spec: RobotSpec, field: str, robot_dir: Path) -> mujoco.MjModel:
    """A file the robot file names beside its MJCF (keyframe_file, gains_file)."""
    path = robot_dir / getattr(spec, field)
    if not path.is_file():
        raise RobotConfigError(f"{where(spec)}: field '{field}': no file at {path}")
    return load_mjcf(path)


def _actuated_joints(spec: RobotSpec, model: mujoco.MjModel,
                     path: Path) -> tuple[list[str], dict[str, float], dict[str, dict[str, float]]]:
    """The actuated joints (the MJCF's joint actuators; without any, every hinge and slide joint), their torque limits
    and the robot file's ``actuation`` entries that apply to each (the last matching regex wins, key by key).

    A model limit is the actuator's (forcerange, or ctrlrange x gear) or the joint's actuatorfrcrange; the file's
    ``effort`` replaces it."""
    model_limit: dict[str, float | None] = {}
    for a in range(model.nu):
        if model.actuator_trntype[a] != int(mujoco.mjtTrn.mjTRN_JOINT):
            continue
        j = model.actuator_trnid[a, 0]
        if model.actuator_forcelimited[a]:
            limit = float(np.abs(model.actuator_forcerange[a]).max())
        elif model.jnt_actfrclimited[j]:
            limit = float(np.abs(model.jnt_actfrcrange[j]).max())
        else:
            limit = float(np.abs(model.actuator_ctrlrange[a]).max() * abs(model.actuator_gear[a, 0]))
        model_limit[model.joint(j).name] = limit if limit > 0 else None
    if not model_limit:  # no actuators (a URDF, an MJCF from a zoo that keeps them in its Python): every joint
        for j in range(model.njnt):
            if model.jnt_type[j] in (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE)):
                limited = model.jnt_actfrclimited[j] and np.abs(model.jnt_actfrcrange[j]).max() > 0
                model_limit[model.joint(j).name] = float(np.abs(model.jnt_actfrcrange[j]).max()) if limited else None
    if not model_limit:
        raise MjcfError(f"{path} has no hinge or slide joints to actuate")
    joints = list(model_limit)
    table: dict[str, dict[str, float]] = {j: {} for j in joints}
    for pattern, values in spec.actuation.items():
        try:
            matched = [j for j in joints if re.fullmatch(pattern, j)]
        except re.error as err:
            raise RobotConfigError(f"{where(spec)}: field 'actuation': '{pattern}' is not a regular expression: "
                                   f"{err}") from None
        if not matched:
            raise RobotConfigError(f"{where(spec)}: field 'actuation': '{pattern}' matches 0 of the actuated joints "
                                   f"of {spec.model_name}; its actuated joints: {', '.join(joints)}")
        for j in matched:
            table[j].update(values)
    efforts = {j: table[j].get("effort", model_limit[j]) for j in joints}
    missing = [j for j in joints if not efforts[j]]
    if missing:
        raise RobotConfigError(
            f"{where(spec)}: field 'actuation': joint(s) {', '.join(missing)} have no torque limit in "
            f"{spec.model_name}: give one, e.g. [actuation.\"{missing[0]}\"] effort = 50.0 (N m)")
    return joints, efforts, table


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
        raise RobotConfigError(f"{where(spec)}: field 'keyframe': {spec.keyframe_file or spec.mjcf} has no keyframe "
                               "(leave 'keyframe' out to start from the model's reference pose qpos0)")
    try:
        key = source.key(spec.keyframe)
    except (KeyError, IndexError) as err:
        names = [source.key(i).name for i in range(source.nkey)]
        raise RobotConfigError(f"{where(spec)}: field 'keyframe': '{spec.keyframe}' not found; the file has {names}") from err
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
