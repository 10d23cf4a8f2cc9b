"""Scripted whole-body references: the robot driven kinematically through a skill, with its prop in the scene.

``sit``: stand, then sit down backwards onto the chair (feet stay put). ``hang``: stand, raise the arms so the
hands come over the bar, then tuck the legs so the feet leave the ground. ``balance``: step onto the balance
board, one foot after the other, spread the arms and sway with the board. Like ``scripted.py``'s walk these are
SYNTHETIC demos (offline runs and tests), not a substitute for a generated video.

Legs are placed by a planar two-link inverse kinematics (hip and knee pitch; the ankle keeps the foot flat), so a
keyframe says where the pelvis and the ankles go, and the prop's geometry decides where that is.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import torch

from .scripted import SOURCE_FPS

VERSION = 2  # part of the cache key of scripted whole-body references: bump when what they render changes
SKILLS = ("sit", "hang", "balance")
NUM_FRAMES = 401  # 4 s at 100 Hz, like the walk

# Upper-body poses, joint regex -> angle (H1 and G1 share Unitree's joint conventions; G1 names end in _joint).
_J = "(_joint)?"
ARMS_UP = {  # arms raised over the head, nearly straight (hands at scene.props.HANG_REACH)
    "h1": {f"left_shoulder_pitch{_J}": -2.85, f"right_shoulder_pitch{_J}": -2.85, f"left_shoulder_roll{_J}": 0.75,
           f"right_shoulder_roll{_J}": -0.75, f".*_elbow{_J}": 1.4},
    "g1": {f"left_shoulder_pitch{_J}": -2.8, f"right_shoulder_pitch{_J}": -2.8, f"left_shoulder_roll{_J}": 0.4,
           f"right_shoulder_roll{_J}": -0.4, ".*_elbow_pitch_joint": 1.4},
}
ARMS_FORWARD = {f".*_shoulder_pitch{_J}": -1.0}  # counterweight while sitting down
ARMS_ON_LAP = {f".*_shoulder_pitch{_J}": -0.3}
ARMS_OUT = {f"left_shoulder_roll{_J}": 1.2, f"right_shoulder_roll{_J}": -1.2}  # balancing


@dataclass(frozen=True)
class Key:
    """A keyframe at time ``t`` (s). Offsets (``*_h``) are from the start pose, in units of the base height."""

    t: float
    pelvis_h: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """Pelvis (x, y, z) offset."""
    lean: float = 0.0
    """Forward pitch of the pelvis, rad."""
    feet_h: tuple[tuple[float, float], tuple[float, float]] = ((0.0, 0.0), (0.0, 0.0))
    """(x, z) offsets of the left and right ankle."""
    joints: dict[str, float] = field(default_factory=dict)
    """Upper-body joint regex -> angle; joints not named keep the start pose."""
    board_dy_h: float = 0.0
    """Sideways offset of the balance board (the roller rolls half as far)."""


def keyframes(skill: str, robot: str, prop, base_height: float, leg) -> list[Key]:
    """The skill's keyframes for this robot and prop (positions relative to the start pose)."""
    h = base_height
    if skill == "sit":
        # Hips over the seat's centre, thighs level on its top (0.06: about a thigh's radius): the prop says where.
        hip_x, hip_z = prop.center[0], prop.top + 0.06 * h
        pelvis = ((hip_x - leg.hip_off[0] - leg.pelvis[0]) / h, 0.0, (hip_z - leg.hip_off[1] - leg.pelvis[1]) / h)
        low = (pelvis[0] * 0.6, 0.0, pelvis[2] * 0.7)
        return [Key(0.5), Key(1.3, low, lean=0.45, joints=ARMS_FORWARD),  # lean forward on the way down
                Key(2.0, pelvis, lean=0.1, joints=ARMS_ON_LAP), Key(4.0, pelvis, lean=0.1, joints=ARMS_ON_LAP)]
    if skill == "hang":
        up = ARMS_UP[robot]
        tuck = ((-0.15, 0.3), (-0.15, 0.3))  # knees bent, feet behind and up: they leave the ground
        return [Key(0.5), Key(1.5, joints=up), Key(1.8, joints=up), Key(2.5, feet_h=tuck, joints=up),
                Key(4.0, feet_h=tuck, joints=up)]
    if skill == "balance":
        step_x = (prop.center[0] - leg.ankle_x - 0.03 * h) / h  # ankles just behind the board's centre line
        top = prop.top / h
        half = (step_x / 2, 0.0, top / 2)
        on = (step_x, 0.0, top)
        right_up = ((0.0, 0.0), (step_x / 2, top + 0.15))
        right_on = ((0.0, 0.0), (step_x, top))
        left_up = ((step_x / 2, top + 0.15), (step_x, top))
        both_on = ((step_x, top), (step_x, top))
        keys = [Key(0.5), Key(0.85, (0.2 * step_x, 0, 0), feet_h=right_up), Key(1.2, half, feet_h=right_on),
                Key(1.55, (0.8 * step_x, 0, 0.8 * top), feet_h=left_up), Key(1.9, on, feet_h=both_on)]
        t, sway = 1.9, 0.03
        for dy in (sway, -sway, sway * 0.6, -sway * 0.6, 0.0):  # arms out, rock with the board
            t += 0.42
            keys.append(Key(min(t, 4.0), (on[0], dy, on[2]), feet_h=both_on, joints=ARMS_OUT, board_dy_h=dy))
        return keys
    raise ValueError(f"Unknown whole-body skill '{skill}'; known: {', '.join(SKILLS)}")


def _ease(s: float) -> float:
    return s * s * (3 - 2 * s)


@dataclass
class LegGeometry:
    """Sagittal (x, z) geometry of one leg at the start pose, for two-link inverse kinematics."""

    hip_off: tuple[float, float]
    """Hip pitch joint relative to the pelvis origin (x, z)."""
    pelvis: tuple[float, float]
    """Pelvis origin (x, z) at the start."""
    ankle_x: float
    ankle_z: float
    lengths: tuple[float, float]
    c_thigh: float
    c_shank: float
    flat: float
    """hip + knee + ankle pitch at the start pose: the sum that keeps the foot flat with an upright pelvis."""


class WholeBodyMotion:
    """Root pose and joint positions of a scripted skill at any time, for one robot asset at its start pose.

    Measure it with the robot standing at its default pose (it reads the leg geometry off the simulator).
    """

    def __init__(self, robot_asset, robot: str, skill: str, prop):
        from ..assets.robot_cfg import robot_model_info

        self.robot, self.skill, self.prop = robot, skill, prop
        data = robot_asset.data
        self.joint_names = list(robot_asset.joint_names)
        self.start_joints = data.default_joint_pos.torch[0].cpu().clone()
        self.low = data.joint_pos_limits.torch[0, :, 0].cpu()
        self.high = data.joint_pos_limits.torch[0, :, 1].cpu()
        self.start_root = data.default_root_pose.torch[0].cpu().clone()  # relative to the env origin
        self.base_height = robot_model_info(robot).base_pos[2]
        origin = data.root_pos_w.torch[0].cpu() - self.start_root[:3]
        body = {n: data.body_pos_w.torch[0, i].cpu() - origin for i, n in enumerate(robot_asset.body_names)}
        self.legs, self.leg_joints = {}, {}
        for side in ("left", "right"):
            hip, knee, ankle = (self._body(body, f"{side}_{b}") for b in ("hip_pitch_link", "knee_link",
                                                                          "ankle(_pitch)?_link"))
            ids = [self._joint(f"{side}_{j}") for j in ("hip_pitch(_joint)?", "knee(_joint)?", "ankle(_pitch_joint)?")]
            q = [float(self.start_joints[i]) for i in ids]
            thigh, shank = knee - hip, ankle - knee
            a1, a2 = math.atan2(thigh[0], -thigh[2]), math.atan2(shank[0], -shank[2])
            self.legs[side] = LegGeometry(
                hip_off=(float(hip[0] - self.start_root[0]), float(hip[2] - self.start_root[2])),
                pelvis=(float(self.start_root[0]), float(self.start_root[2])), ankle_x=float(ankle[0]),
                ankle_z=float(ankle[2]),
                lengths=(float(thigh[[0, 2]].norm()), float(shank[[0, 2]].norm())),
                c_thigh=a1 + q[0], c_shank=a2 + q[0] + q[1], flat=sum(q))
            self.leg_joints[side] = ids
        self.keys = keyframes(skill, robot, prop, self.base_height, self.legs["left"])

    def _body(self, bodies: dict, pattern: str) -> torch.Tensor:
        found = [p for n, p in bodies.items() if re.fullmatch(pattern, n)]
        if len(found) != 1:
            raise ValueError(f"{self.robot}: {len(found)} bodies match '{pattern}' (need one for the leg kinematics)")
        return found[0]

    def _joint(self, pattern: str) -> int:
        found = [i for i, n in enumerate(self.joint_names) if re.fullmatch(pattern, n)]
        if len(found) != 1:
            raise ValueError(f"{self.robot}: {len(found)} joints match '{pattern}'")
        return found[0]

    @property
    def duration(self) -> float:
        return self.keys[-1].t

    def _blend(self, t: float) -> dict:
        """Keyframe values at time t, eased between the two keyframes around it."""
        keys = self.keys
        if t <= keys[0].t:
            a = b = keys[0]
            s = 0.0
        elif t >= keys[-1].t:
            a = b = keys[-1]
            s = 0.0
        else:
            i = next(i for i in range(1, len(keys)) if keys[i].t >= t)
            a, b = keys[i - 1], keys[i]
            s = _ease((t - a.t) / (b.t - a.t))

        def mix(x, y) -> np.ndarray:
            return (1 - s) * np.asarray(x, dtype=float) + s * np.asarray(y, dtype=float)

        joints = self.start_joints.clone()
        for key, w in ((a, 1 - s), (b, s)):
            target = self.start_joints.clone()
            for pattern, value in key.joints.items():
                for j, name in enumerate(self.joint_names):
                    if re.fullmatch(pattern, name):
                        target[j] = value
            joints = joints + w * (target - self.start_joints)
        return {"pelvis": mix(a.pelvis_h, b.pelvis_h) * self.base_height, "lean": float(mix(a.lean, b.lean)),
                "feet": mix(a.feet_h, b.feet_h) * self.base_height, "joints": joints,
                "board_dy": float(mix(a.board_dy_h, b.board_dy_h)) * self.base_height}

    def pose(self, t: float) -> tuple[torch.Tensor, torch.Tensor, float]:
        """(root pose (7,) x y z qx qy qz qw relative to the env origin, joint positions (J,), board sideways offset)."""
        k = self._blend(t)
        root = self.start_root.clone()
        root[:3] += torch.as_tensor(k["pelvis"], dtype=root.dtype)
        lean = k["lean"]
        from isaaclab.utils.math import quat_mul

        # forward lean = rotation about +y, composed with the start orientation (quaternions x, y, z, w)
        pitch_q = torch.tensor([0.0, math.sin(lean / 2), 0.0, math.cos(lean / 2)], dtype=root.dtype)
        root[3:] = quat_mul(root[3:], pitch_q)
        joints = k["joints"]
        for i, side in enumerate(("left", "right")):
            leg = self.legs[side]
            target = (leg.ankle_x + k["feet"][i][0], leg.ankle_z + k["feet"][i][1])
            hip_q, knee_q, ankle_q = _leg_ik(leg, (float(root[0]), float(root[2])), lean, target)
            joints[self.leg_joints[side]] = torch.tensor([hip_q, knee_q, ankle_q], dtype=joints.dtype)
        return root, torch.clamp(joints, self.low, self.high), k["board_dy"]


def _leg_ik(leg: LegGeometry, pelvis_xz, lean: float, ankle_xz) -> tuple[float, float, float]:
    """Hip, knee and ankle pitch that put the ankle at ``ankle_xz`` (knee forward, foot flat)."""
    ox, oz = leg.hip_off
    hip = (pelvis_xz[0] + ox * math.cos(lean) + oz * math.sin(lean), pelvis_xz[1] - ox * math.sin(lean) + oz * math.cos(lean))
    l1, l2 = leg.lengths
    dx, dz = ankle_xz[0] - hip[0], ankle_xz[1] - hip[1]
    dist = min(max(math.hypot(dx, dz), abs(l1 - l2) + 1e-4), (l1 + l2) * (1 - 1e-6))
    gamma = math.acos(max(-1.0, min(1.0, (l1 * l1 + dist * dist - l2 * l2) / (2 * l1 * dist))))
    a1 = math.atan2(dx, -dz) + gamma  # thigh angle from straight down, forward positive
    knee = (hip[0] + l1 * math.sin(a1), hip[1] - l1 * math.cos(a1))
    a2 = math.atan2(ankle_xz[0] - knee[0], -(ankle_xz[1] - knee[1]))
    hip_q = leg.c_thigh - a1 - lean
    knee_q = leg.c_shank - a2 - lean - hip_q
    return hip_q, knee_q, leg.flat - lean - hip_q - knee_q


def write_pose(scene, root: torch.Tensor, joints: torch.Tensor, board_dy: float = 0.0, env_ids=None) -> None:
    """Put every env's robot (and balance board) in this pose, at rest; ``scene`` is the InteractiveScene."""
    robot = scene["robot"]
    n = scene.num_envs if env_ids is None else len(env_ids)
    ids = slice(None) if env_ids is None else env_ids
    device = robot.device
    pose = root.to(device).repeat(n, 1)
    pose[:, :3] += scene.env_origins[ids]
    robot.write_root_pose_to_sim_index(root_pose=pose, env_ids=env_ids)
    robot.write_root_velocity_to_sim_index(root_velocity=torch.zeros(n, 6, device=device), env_ids=env_ids)
    robot.write_joint_position_to_sim_index(position=joints.to(device).repeat(n, 1), env_ids=env_ids)
    robot.write_joint_velocity_to_sim_index(velocity=torch.zeros(n, joints.numel(), device=device), env_ids=env_ids)
    for name, share in (("board", 1.0), ("roller", 0.5)):
        if name in scene.keys():
            obj = scene[name]
            p = obj.data.default_root_pose.torch[ids].clone()
            p[:, :3] += scene.env_origins[ids]
            p[:, 1] += share * board_dy
            obj.write_root_pose_to_sim_index(root_pose=p, env_ids=env_ids)
            obj.write_root_velocity_to_sim_index(root_velocity=torch.zeros(n, 6, device=device), env_ids=env_ids)


def render_wholebody_reference(robot: str, skill: str, camera_cfg, num_frames: int | None = None, device: str = "cpu"):
    """(frames (T,H,W,3) uint8, masks (T,H,W) bool, source fps, camera dict, camera path (T,4), prop)."""
    from ..assets.robot_cfg import robot_model_info
    from ..scene.props import skill_prop
    from ..scene.robot_scene import open_robot_scene

    num_frames = num_frames or NUM_FRAMES
    frames, masks, path = [], [], []
    prop = skill_prop(skill, robot)
    with open_robot_scene(robot, 1, camera_cfg, device, prop=prop) as scene:
        motion = WholeBodyMotion(scene.robot, robot, skill, prop)
        for t in range(num_frames):
            root, joints, board_dy = motion.pose(t / SOURCE_FPS)
            write_pose(scene.scene, root, joints, board_dy)
            scene.sim.forward()
            scene.scene.update(0.0)
            rgb, mask = scene.render()
            frames.append(rgb[0].cpu().numpy().copy())  # copy: on CPU the camera's buffer is reused by the next render
            masks.append(mask[0].cpu().numpy().copy())
            eye = scene.camera.data.pos_w.torch[0].cpu().numpy()
            path.append([*eye, math.radians(camera_cfg.yaw_deg) + math.pi])
    camera = camera_cfg.to_dict(robot_model_info(robot).base_pos[2])
    return np.stack(frames), np.stack(masks), SOURCE_FPS, camera, np.asarray(path, dtype=np.float64), prop

