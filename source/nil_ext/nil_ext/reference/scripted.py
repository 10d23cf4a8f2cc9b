"""A reference that needs no generative model: the robot driven kinematically through a simple gait.

It walks forward at a constant speed while its legs swing sinusoidally, rendered by the task's camera. It is
SYNTHETIC: the offline demo reference for the quickstart and the tests, not a substitute for a generated video.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import torch

# Rendered at the control rate: exact frames, nothing interpolated.
SOURCE_FPS = 100.0
VERSION = 5  # part of the cache key of scripted references: bump when what they render changes
RAMP_S = 0.5  # s: the swing, and the speed with it, ramp in from the start pose


@dataclass(frozen=True)
class Gait:
    speed: float
    """Forward speed, m/s."""
    frequency: float
    """Strides per second."""
    swing: dict[str, tuple[float, float]]
    """Joint regex -> (amplitude rad, phase rad). Left and right legs (or diagonal pairs) differ by pi."""


_HUMANOID_SWING = {
    "left_hip_pitch.*": (0.35, 0.0),
    "right_hip_pitch.*": (0.35, math.pi),
    "left_knee.*": (0.35, -math.pi / 2),
    "right_knee.*": (0.35, math.pi / 2),
    "left_shoulder_pitch.*": (0.3, math.pi),
    "right_shoulder_pitch.*": (0.3, 0.0),
}
# Speeds are the evaluation's targets (1.25 m/s humanoids, 0.5 m/s A1): imitating the reference perfectly
# scores the expert's environment reward.
GAITS: dict[str, Gait] = {
    "h1": Gait(speed=1.25, frequency=1.4, swing=_HUMANOID_SWING),
    "g1": Gait(speed=1.25, frequency=1.7, swing=_HUMANOID_SWING),
    "talos": Gait(
        speed=1.25,
        frequency=1.4,
        swing={
            "leg_left_3_joint": (0.35, 0.0),
            "leg_right_3_joint": (0.35, math.pi),
            "leg_left_4_joint": (0.35, -math.pi / 2),
            "leg_right_4_joint": (0.35, math.pi / 2),
        },
    ),
    # Trot: diagonal legs together. A1's calf flexes toward negative angles (the humanoids' knees toward positive):
    # the calf folds while its thigh swings forward, as in a real step. Played open-loop as PD targets in the
    # simulator this gait pushes A1 forward (0.36 m/s); the humanoids' sign walked it backward (-0.39 m/s), a
    # reference whose legs fought its own forward motion.
    "a1": Gait(
        speed=0.5,
        frequency=2.0,
        swing={
            "(FL|RR)_thigh_joint": (0.3, 0.0),
            "(FR|RL)_thigh_joint": (0.3, math.pi),
            "(FL|RR)_calf_joint": (0.3, math.pi / 2),
            "(FR|RL)_calf_joint": (0.3, -math.pi / 2),
        },
    ),
}


def gait_of(robot: str) -> Gait:
    """The robot's scripted gait; a robot without one (a new robot file) glides forward in its start pose, at the
    evaluation's target speed: a demo to train against, not a walk."""
    if robot in GAITS:
        return GAITS[robot]
    from ..assets.robots import get_robot_spec

    return Gait(speed=0.5 if get_robot_spec(robot).quadruped else 1.25, frequency=1.0, swing={})


def gait_offsets(gait: Gait, joint_names: list[str], times: torch.Tensor) -> torch.Tensor:
    """Joint offsets (T, J) from the start pose at the given times (s); the swing ramps in over the first RAMP_S s,
    so that frame 0 is the start pose itself (the first frame e0 the method starts from)."""
    amplitude = torch.zeros(len(joint_names))
    phase = torch.zeros(len(joint_names))
    for pattern, (amp, ph) in gait.swing.items():
        for j, name in enumerate(joint_names):
            if re.fullmatch(pattern, name):
                amplitude[j], phase[j] = amp, ph
    ramp = (times[:, None] / RAMP_S).clamp(max=1.0)
    return ramp * amplitude * torch.sin(2 * math.pi * gait.frequency * times[:, None] + phase)


def travelled(gait: Gait, times: torch.Tensor) -> torch.Tensor:
    """Metres along the start heading at ``times`` (s): the speed ramps in with the swing, from rest to the gait's
    speed over the first RAMP_S s, as a robot starting to walk does (a base gliding at full speed from frame 0 on
    feet that barely move cannot be followed: a policy starting at rest lags it by ~0.3 m for the first second)."""
    t = times.clamp(min=0.0)
    return gait.speed * torch.where(t < RAMP_S, t.square() / (2 * RAMP_S), t - RAMP_S / 2)


def scripted_motion(gait: Gait, joint_names: list[str], start_root_pose: torch.Tensor, start_joint_pos: torch.Tensor,
                    joint_limits: torch.Tensor, times: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The scripted walk's states at ``times`` (T,) s: the start pose moving forward as :func:`travelled`, the joints
    at the start pose plus the gait's offsets, within their limits. ``start_root_pose`` (7,), ``start_joint_pos``
    (J,), ``joint_limits`` (J, 2) -> root poses (T, 7) and joint positions (T, J), on their device. One definition for
    the renderer and the reward probe's kinematic replay."""
    device = start_root_pose.device
    offsets = gait_offsets(gait, joint_names, times.cpu()).to(device)
    joint_pos = torch.clamp(start_joint_pos + offsets, joint_limits[:, 0], joint_limits[:, 1])
    root_pose = start_root_pose.repeat(len(times), 1)
    root_pose[:, 0] += travelled(gait, times.to(device, root_pose.dtype))
    return root_pose, joint_pos


def render_scripted_reference(robot: str, camera_cfg, skill: str | None = None, num_frames: int | None = None,
                              seed: int = 0, device: str = "cpu", textured_ground: bool = False, times=None):
    """(frames (T,H,W,3) uint8, masks (T,H,W) bool, source fps, camera dict, camera path (T,4) x,y,z,yaw).

    The motion is deterministic; ``seed`` is accepted for the generator interface and unused.
    ``textured_ground``: render over a random-tile ground (shows the camera's travel) instead of the plain one.
    ``times``: render only at these times (s) instead of every 1/SOURCE_FPS from 0 (a clip starting mid-stride, at
    another frame rate); the fps returned is then the one of their first step.
    """
    if skill and "walk" not in skill.lower():
        raise ValueError(f"The scripted generator only walks; for '{skill}' use a video generator or --video.")
    num_frames = num_frames or 401  # 4 s: the paper's 400-step episode at 100 Hz
    from ..assets.robot_cfg import robot_model_info
    from ..scene.robot_scene import open_robot_scene

    gait = gait_of(robot)
    fps = SOURCE_FPS
    if times is None:
        times = torch.arange(num_frames) / SOURCE_FPS
    else:
        times = torch.as_tensor(np.asarray(times, dtype=np.float64)).float()
        num_frames = len(times)
        fps = float(1.0 / (times[1] - times[0])) if num_frames > 1 else SOURCE_FPS
    frames, masks, path = [], [], []
    with open_robot_scene(robot, 1, camera_cfg, device, textured_ground=textured_ground) as scene:
        data = scene.robot.data
        root_poses, joint_poses = scripted_motion(gait, scene.robot.joint_names, data.root_pose_w.torch[0].clone(),
                                                  data.default_joint_pos.torch[0].clone(),
                                                  data.joint_pos_limits.torch[0], times)
        for t in range(num_frames):
            pose = root_poses[t : t + 1]
            scene.robot.write_root_pose_to_sim_index(root_pose=pose)
            scene.robot.write_joint_position_to_sim_index(position=joint_poses[t : t + 1])
            scene.sim.forward()
            scene.scene.update(0.0)
            rgb, mask = scene.render()
            frames.append(rgb[0].cpu().numpy().copy())  # copy: on CPU the camera's buffer is reused by the next render
            masks.append(mask[0].cpu().numpy().copy())
            eye = (pose[0, :3] + scene.camera_offset).cpu().numpy()
            path.append([*eye, math.radians(camera_cfg.yaw_deg) + math.pi])  # heading: looking back at the robot
    camera = camera_cfg.to_dict(robot_model_info(robot).base_pos[2])
    return np.stack(frames), np.stack(masks), fps, camera, np.asarray(path, dtype=np.float64)

