"""A robot given as USD (Isaac Lab's own format), used as it is: its joints, limits and masses are read through
Newton's USD importer, the one the simulator uses, so the names are the simulator's (a joint with several degrees
of freedom, a D6, gives ``name:0``, ``name:1``, ... as Isaac Lab names them).

A USD robot brings no torque limits NIL can trust (PhysX drives rarely set a max force): the robot file's
``actuation`` table gives every actuated joint's ``effort``. The start pose is the file's own (every joint at zero,
or mid-range where zero lies outside its limits), lowered until its lowest collision shape touches the ground.

One thing is changed, in a small layer over the file (the file itself is untouched): its PhysX collision groups are
switched off. PhysX reads a group as "filter these pairs"; Newton reads a positive group as "collide only within
it", so a robot whose every shape has a group of its own (Newton's humanoid) would not touch the ground.
"""

from __future__ import annotations

import hashlib
import os
import re
from functools import cache
from pathlib import Path

import numpy as np

from ..cache_dir import cache_root
from .model_info import DEFAULT_VELOCITY_LIMIT, JOINT_LIMIT_MARGIN, RobotModelInfo, check_names, matching, where
from .robots import RobotConfigError, RobotSpec

_FREE, _FIXED = 4, 3  # newton.JointType.FREE / FIXED


@cache
def _builder(path: str):
    import newton

    builder = newton.ModelBuilder()
    builder.add_usd(path)
    return builder


def usd_joint_names(builder) -> tuple[list[str], dict[str, tuple[float, float]]]:
    """The actuated degrees of freedom as Isaac Lab names them, and their limits (radians or metres)."""
    names, limits = [], {}
    for j, label in enumerate(builder.joint_label):
        if int(builder.joint_type[j]) in (_FREE, _FIXED):
            continue
        start = builder.joint_qd_start[j]
        end = builder.joint_qd_start[j + 1] if j + 1 < len(builder.joint_qd_start) else builder.joint_dof_count
        joint = label.rsplit("/", maxsplit=1)[-1]
        for axis, dof in enumerate(range(start, end)):
            name = joint if end - start == 1 else f"{joint}:{axis}"
            names.append(name)
            limits[name] = (float(builder.joint_limit_lower[dof]), float(builder.joint_limit_upper[dof]))
    return names, limits


def read_usd_robot_info(spec: RobotSpec) -> RobotModelInfo:
    try:
        builder = _builder(spec.usd)
    except Exception as err:
        raise RobotConfigError(f"{where(spec)}: field 'usd': Newton cannot read {spec.usd}: "
                               f"{str(err).splitlines()[0] if str(err) else type(err).__name__}") from None
    joints, limits = usd_joint_names(builder)
    if not joints:
        raise RobotConfigError(f"{where(spec)}: field 'usd': {spec.usd} has no movable joints")
    bodies = [label.rsplit("/", maxsplit=1)[-1] for label in builder.body_label]
    _check_usd_names(spec, bodies, joints)

    table: dict[str, dict[str, float]] = {j: {} for j in joints}
    for pattern, values in spec.actuation.items():
        matched = [j for j in joints if re.fullmatch(pattern, j)]
        if not matched:
            raise RobotConfigError(f"{where(spec)}: field 'actuation': '{pattern}' matches 0 of the joints of "
                                   f"{spec.usd}; its joints: {', '.join(joints)}")
        for j in matched:
            table[j].update(values)
    missing = [j for j in joints if "effort" not in table[j]]
    if missing:
        raise RobotConfigError(f"{where(spec)}: field 'actuation': joint(s) {', '.join(missing)} have no torque limit "
                               f"(a USD robot's come from the robot file): e.g. [actuation.\".*\"] effort = 50.0 (N m)")
    efforts = {j: table[j]["effort"] for j in joints}
    kp = {}
    for j in joints:
        kp[j] = matching(spec.kp_per_effort_overrides, j, spec.kp_per_effort) * efforts[j]
        kp[j] = table[j].get("stiffness", kp[j])

    joint_pos = {}
    for j in joints:
        low, high = limits[j]
        value = 0.0 if low <= 0.0 <= high else (low + high) / 2
        value = matching(spec.pose_overrides, j, value)
        margin = min(JOINT_LIMIT_MARGIN, (high - low) / 4)
        joint_pos[j] = float(np.clip(value, low + margin, high - margin))
    if any(joint_pos[j] != 0.0 for j in joints):
        raise RobotConfigError(f"{where(spec)}: field 'pose_overrides': a USD robot starts in its file's pose (every "
                               f"joint at zero); {[j for j in joints if joint_pos[j] != 0.0]} would not")
    root = builder.body_q[0]
    lowest = lowest_collision_point(builder)
    if lowest is None:
        raise RobotConfigError(f"{where(spec)}: field 'usd': {spec.usd} has no collision shapes to stand on")
    mass = float(sum(builder.body_mass))
    return RobotModelInfo(
        joint_names=joints,
        effort_limit=efforts,
        velocity_limit={j: table[j].get("velocity", DEFAULT_VELOCITY_LIMIT) for j in joints},
        stiffness=kp,
        damping={j: table[j].get("damping", spec.kd_per_kp * kp[j]) for j in joints},
        joint_pos=joint_pos,
        base_pos=(0.0, 0.0, float(root[2]) - lowest),
        base_quat_xyzw=(float(root[3]), float(root[4]), float(root[5]), float(root[6])),
        armature={j: table[j]["armature"] for j in joints if "armature" in table[j]},
        notes=[f"USD: {len(bodies)} bodies, {mass:.1f} kg, {len(joints)} actuated joints; the file's pose, lowest "
               f"collision shape on the ground"],
    )


def usd_for_simulation(spec: RobotSpec) -> tuple[Path, list[str]]:
    """The robot's USD for the scene: the file itself, or a layer over it with its collision groups switched off."""
    from pxr import Sdf, Usd, UsdGeom, UsdPhysics

    source = Path(spec.usd).resolve()
    stage = Usd.Stage.Open(str(source))
    groups = [p.GetPath() for p in stage.Traverse() if p.IsA(UsdPhysics.CollisionGroup)]
    if not groups:
        return source, []
    key = hashlib.sha256(source.read_bytes() + b"groups-off-2").hexdigest()[:16]
    out = cache_root() / "usd_layers" / f"{source.stem}-{key}.usda"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        layer = Sdf.Layer.CreateAnonymous(".usda")
        layer.subLayerPaths.append(str(source))
        layer.defaultPrim = stage.GetDefaultPrim().GetName()
        over = Usd.Stage.Open(layer)
        UsdGeom.SetStageUpAxis(over, UsdGeom.GetStageUpAxis(stage))
        UsdGeom.SetStageMetersPerUnit(over, UsdGeom.GetStageMetersPerUnit(stage))
        for path in groups:
            over.OverridePrim(path).SetActive(False)
        tmp = out.with_suffix(f".tmp{os.getpid()}.usda")
        layer.Export(str(tmp))
        os.replace(tmp, out)  # atomic: other processes see all of it or nothing
    return out, [f"USD: {len(groups)} PhysX collision groups switched off (Newton would keep each shape off the ground)"]


def _check_usd_names(spec: RobotSpec, bodies: list[str], joints: list[str]) -> None:
    """The shared name check, plus what Newton's importer needs of a USD: the base body is its root."""
    check_names(spec, bodies, joints)
    if bodies.index(next(b for b in bodies if re.fullmatch(spec.base_body, b))) != 0:
        raise RobotConfigError(f"{where(spec)}: field 'base_body': '{spec.base_body}' is not the USD's root body "
                               f"'{bodies[0]}'")


def lowest_collision_point(builder) -> float | None:
    """World z of the lowest point of the colliding shapes in the file's pose (spheres, capsules, boxes, cylinders
    exactly enough; meshes by their vertices)."""
    from newton import GeoType, ShapeFlags

    lowest = np.inf
    for s in range(len(builder.shape_type)):
        if not builder.shape_flags[s] & ShapeFlags.COLLIDE_SHAPES or builder.shape_body[s] < 0:
            continue
        pose = _compose(builder.body_q[builder.shape_body[s]], builder.shape_transform[s])
        centre, rot = pose[:3], _matrix(pose[3:])
        kind, scale = int(builder.shape_type[s]), np.asarray(builder.shape_scale[s], dtype=float)
        if kind == GeoType.SPHERE:
            z = centre[2] - scale[0]
        elif kind == GeoType.CAPSULE:
            z = centre[2] - abs(rot[2, 2]) * scale[1] - scale[0]
        elif kind in (GeoType.BOX, GeoType.CYLINDER, GeoType.ELLIPSOID, GeoType.CONE):
            half = scale if kind == GeoType.BOX else np.array([scale[0], scale[0], scale[1]])
            z = centre[2] - np.abs(rot[2]) @ half  # the box bound: exact for boxes, a little low otherwise
        elif kind in (GeoType.MESH, GeoType.CONVEX_MESH):
            points = np.asarray(builder.shape_source[s].vertices) * scale
            z = float((centre + points @ rot.T)[:, 2].min())
        else:
            continue
        lowest = min(lowest, float(z))
    return lowest if np.isfinite(lowest) else None


def _matrix(q) -> np.ndarray:
    x, y, z, w = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def _compose(a, b) -> np.ndarray:
    """Transform a * b, each (px, py, pz, qx, qy, qz, qw)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    pos = a[:3] + _matrix(a[3:]) @ b[:3]
    x1, y1, z1, w1 = a[3:]
    x2, y2, z2, w2 = b[3:]
    quat = [w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2, w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2, w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2]
    return np.concatenate([pos, quat])
