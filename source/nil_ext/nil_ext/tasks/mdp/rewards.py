"""The NIL reward terms: each computes its value from what the imitation command holds for the step (its render,
the reference frame it is compared with, reference time) and from the robot's state, as mjlab's tracking rewards
read their ``MotionCommand``.

The paper's R_t = zeta * S_video + beta * S_iou + eta * P_t: :class:`nil_video` (zeta), :func:`nil_iou` (beta),
one term per penalty (eta times its coefficient: :func:`nil_joint_torque`, :func:`nil_action_rate`,
:func:`nil_ang_vel`, :func:`nil_foot_slip`, :func:`nil_tilt`). Beyond the paper, weighted 0 in its profile:
:func:`nil_silhouette`, :func:`nil_alive`, :func:`nil_pose_iou`, :func:`nil_pace`, :func:`nil_heading`,
:func:`nil_speed`, :func:`nil_shape`, :class:`nil_air_time`, :func:`nil_soft_iou`, :func:`nil_motion_iou`,
:func:`nil_transport`. Each weight is one ``RewardTermCfg.weight``, and each term has its own TensorBoard curve. The
maths is ``nil_ext.rewards``' (pure torch). The paper's ablation rows (``env.imitation.reward.ablation``) switch
the video, IoU and penalty terms off: they read 0.

Units: Isaac Lab multiplies a term's value by its weight and by the control step dt. The terms return their
per-step value divided by dt, so a weight is the paper's coefficient and the env's reward is the paper's per-step
R_t, at any control rate.
"""

from __future__ import annotations

import torch
from isaaclab.envs import ManagerBasedRLEnv
from isaaclab.envs.mdp.rewards import is_alive
from isaaclab.managers import ManagerTermBase, RewardTermCfg
from isaaclab.utils.math import quat_apply

from ...errors import ConfigError
from ...rewards import (
    ClipSimilarity,
    VideoEncoder,
    action_rate_penalty,
    ang_vel_penalty,
    embedding_cache_key,
    foot_mode_time,
    foot_slip_penalty,
    joint_torque_penalty,
    motion_iou,
    pose_iou,
    reference_clip_embeddings,
    shape_closeness,
    silhouette_closeness,
    single_stance_time,
    soft_mask_iou,
    tilt_penalty,
    transport_closeness,
)
from .commands import ImitationCommand


def _command(env: ManagerBasedRLEnv, command_name: str) -> ImitationCommand:
    return env.command_manager.get_term(command_name)


def _penalties_on(env: ManagerBasedRLEnv) -> bool:
    return env.cfg.imitation.reward.use_penalties


class nil_video(ManagerTermBase):
    """S_video (weight: zeta): cosine similarity of the embeddings of the agent's last 8 masked frames and of the
    reference's clip ending at the same frame. Owns the video encoder and the agent's clip history."""

    def __init__(self, cfg: RewardTermCfg, env: ManagerBasedRLEnv):
        super().__init__(cfg, env)
        command = _command(env, cfg.params.get("command_name", "imitation"))
        reward = env.cfg.imitation.reward
        self.score = None
        if not reward.use_video:
            return
        if not command.has_rgb:
            raise ConfigError("The video term compares colour clips and this camera renders masks only (the CPU "
                              "presets' camera): add env.scene.camera.data_types=['rgb','instance_segmentation'] "
                              "or train with the gpu preset")
        encoder = VideoEncoder(reward.encoder_id, image_size=reward.image_size, num_frames=reward.clip_len,
                               device=env.device, dtype=reward.encoder_dtype, background=reward.background,
                               compile=reward.compile_encoder)
        size = encoder.image_size
        # the bundle's own embeddings when it carries them for this encoder (the bundle on disk is never written)
        embeddings = command.bundle.embeddings.get(
            embedding_cache_key(encoder.model_id, size, size, reward.clip_len, reward.stride))
        if embeddings is None:
            embeddings = reference_clip_embeddings(encoder, command.reference_frames, command.reference_masks,
                                                   reward.clip_len, reward.stride)
        self.score = ClipSimilarity(encoder, torch.as_tensor(embeddings), env.num_envs, reward.clip_len,
                                    reward.stride, reward.video_every_k, reward.chunk_size)

    def reset(self, env_ids=None) -> None:
        if self.score is not None:
            self.score.reset(None if env_ids is None or isinstance(env_ids, slice) else torch.as_tensor(env_ids).long())

    def __call__(self, env: ManagerBasedRLEnv, command_name: str = "imitation") -> torch.Tensor:
        if self.score is None:
            return torch.zeros(env.num_envs, device=env.device)
        command = _command(env, command_name)
        return self.score(command.rgb, command.mask, command.frame_index) / env.step_dt


def nil_iou(env: ManagerBasedRLEnv, command_name: str = "imitation") -> torch.Tensor:
    """S_iou (weight: beta): IoU of the agent's and the reference's robot masks."""
    iou = _command(env, command_name).mask_iou()
    return iou / env.step_dt if env.cfg.imitation.reward.use_iou else torch.zeros_like(iou)


def nil_soft_iou(env: ManagerBasedRLEnv, sigma_px: float = 3.0, command_name: str = "imitation") -> torch.Tensor:
    """S_soft_iou (not the paper's): the IoU of the two masks each blurred by ``sigma_px`` pixels
    (:func:`~nil_ext.rewards.soft_mask_iou`). Why: with legs a pixel or two wide the plain IoU of a stride widening
    towards the reference's first drops below that of feet together (the legs leave the overlap before they reach
    the reference's); blurred, it rises from about a quarter of the stride on. Measured on H1's walk: no gain
    (docs/experiments/2026-11-29-soft-iou.md)."""
    command = _command(env, command_name)
    return soft_mask_iou(command.agent_mask, command.reference_mask, sigma_px) / env.step_dt


def nil_motion_iou(env: ManagerBasedRLEnv, sigma_px: float = 2.0, command_name: str = "imitation") -> torch.Tensor:
    """S_motion_iou (not the paper's): the IoU of what changed since the reference's first frame, the agent's mask
    and the reference's each XOR that first mask, blurred by ``sigma_px`` (:func:`~nil_ext.rewards.motion_iou`).
    Why: on a whole-body skill the plain IoU pays standing still most of its worth (H1's HangBar: a mask IoU of 0.57,
    above trained policies that kept their hands at the chest); this one pays standing 0. Measured: no hang on
    HangBar, no balance on BalanceBoard (docs/experiments/2026-11-29-motion-iou.md)."""
    command = _command(env, command_name)
    first = command.reference_masks[0]
    return motion_iou(command.agent_mask, command.reference_mask, first, sigma_px) / env.step_dt


def nil_transport(env: ManagerBasedRLEnv, scale: float = 0.05, command_name: str = "imitation") -> torch.Tensor:
    """S_transport (not the paper's): exp(-d / ``scale``), d how far the agent's mask pixels must move, row by row
    and column by column, to lie where the reference's do, in robot heights (:func:`~nil_ext.rewards.transport_closeness`).
    Why: the IoU terms pay for overlap, so an arm half way up, or a robot a body's width off its place, earns what
    one that never moved does; this one pays every step of the way."""
    command = _command(env, command_name)
    return transport_closeness(command.agent_mask, command.reference_mask, scale) / env.step_dt


def nil_joint_torque(env: ManagerBasedRLEnv) -> torch.Tensor:
    """P_torque: -mean_j (tau_j / limit_j)^2, clipped at -1."""
    if not _penalties_on(env):
        return torch.zeros(env.num_envs, device=env.device)
    robot = env.scene["robot"]
    torques, limits = robot.actuators.applied_effort.torch, robot.data.joint_effort_limits.torch
    return joint_torque_penalty(torques, limits) / env.step_dt


def nil_action_rate(env: ManagerBasedRLEnv) -> torch.Tensor:
    """P_action_rate: -mean_j ((a_t - a_{t-1}) / 2)^2, clipped at -1."""
    if not _penalties_on(env):
        return torch.zeros(env.num_envs, device=env.device)
    return action_rate_penalty(env.action_manager.action, env.action_manager.prev_action) / env.step_dt


def nil_ang_vel(env: ManagerBasedRLEnv) -> torch.Tensor:
    """P_ang_vel: -|omega_base|^2 / scale^2, clipped at -1."""
    if not _penalties_on(env):
        return torch.zeros(env.num_envs, device=env.device)
    scale = env.cfg.imitation.reward.penalties.ang_vel_scale
    return ang_vel_penalty(env.scene["robot"].data.root_ang_vel_b.torch, scale) / env.step_dt


def nil_foot_slip(env: ManagerBasedRLEnv, command_name: str = "imitation") -> torch.Tensor:
    """P_foot_slip: -mean over feet in contact of |v_xy|^2 / scale^2, clipped at -1 (feet on the ground should not
    slide); the command knows the feet and reads the contact sensor."""
    if not _penalties_on(env):
        return torch.zeros(env.num_envs, device=env.device)
    command = _command(env, command_name)
    foot_vel = command.robot.data.body_lin_vel_w.torch[:, command.foot_ids]
    scale = env.cfg.imitation.reward.penalties.foot_slip_scale
    return foot_slip_penalty(foot_vel, command.feet_in_contact(), scale) / env.step_dt


def nil_tilt(env: ManagerBasedRLEnv) -> torch.Tensor:
    """P_tilt: -(1 - cos(tilt)) / 2 of the base: 0 upright, -0.5 lying flat."""
    if not _penalties_on(env):
        return torch.zeros(env.num_envs, device=env.device)
    return tilt_penalty(env.scene["robot"].data.projected_gravity_b.torch) / env.step_dt


def nil_silhouette(env: ManagerBasedRLEnv, command_name: str = "imitation") -> torch.Tensor:
    """S_silhouette (not the paper's): closeness of the agent's and the reference's mask centroids, which pays
    before the masks overlap."""
    command = _command(env, command_name)
    sigma = env.cfg.imitation.reward.silhouette_sigma
    return silhouette_closeness(command.agent_mask, command.reference_mask, sigma) / env.step_dt


def nil_alive(env: ManagerBasedRLEnv) -> torch.Tensor:
    """1 per step while the episode has not failed (not the paper's): Isaac Lab's ``is_alive`` in the paper's
    per-step units. Why: without it the imitation reward of a robot that is not where the reference is, minus the
    penalties, is below 0, and ending the episode by falling is the best the agent can do (the probe measures it:
    H1's fall outscores standing)."""
    return is_alive(env) / env.step_dt


def nil_pose_iou(env: ManagerBasedRLEnv, command_name: str = "imitation") -> torch.Tensor:
    """S_pose (not the paper's): IoU of the agent's and the reference's masks, each centred on its centroid: the
    posture alone, wherever each robot is in the image (a torso turned to the camera shows another shape)."""
    command = _command(env, command_name)
    return pose_iou(command.agent_mask, command.reference_mask) / env.step_dt


def nil_shape(env: ManagerBasedRLEnv, sigma: float = 0.05, command_name: str = "imitation") -> torch.Tensor:
    """S_shape (not the paper's): how alike the horizontal spread of the agent's and the reference's masks is, slice
    by slice from head to feet (:func:`~nil_ext.rewards.shape_closeness`): the stride's width and a turned torso, which
    the IoU of thin limbs hardly sees."""
    command = _command(env, command_name)
    return shape_closeness(command.agent_mask, command.reference_mask, sigma) / env.step_dt


class nil_air_time(ManagerTermBase):
    """S_air_time (not the paper's): while one foot of a biped touches the ground, how long both feet have been in
    their mode (stance, swing) against the reference's swing, ``swing_share`` of the gait period read from its masks
    (:func:`~nil_ext.rewards.single_stance_time`). Why: trained H1 policies keep the reference's pace with steps 2.3
    times as quick and as short, and the masks' legs, one or two pixels wide, hardly pay for a longer stride; the
    video gives the stride's period, the robot's own contact sensor the steps (never the demo's joints). A gait
    seen in profile may read a step as its period: the swing asked for is then half as long, still longer than
    quick steps."""

    def __init__(self, cfg: RewardTermCfg, env: ManagerBasedRLEnv):
        super().__init__(cfg, env)
        self.mode_time = torch.zeros(env.num_envs, 2, device=env.device)
        self.contact = torch.ones(env.num_envs, 2, dtype=torch.bool, device=env.device)
        self.swing_s = None  # read from the reference when first weighted (a weight of 0 never calls the term)
        self.held = torch.zeros(env.num_envs, device=env.device)

    def reset(self, env_ids=None) -> None:
        ids = slice(None) if env_ids is None else env_ids
        self.mode_time[ids] = 0.0
        self.contact[ids] = True

    def __call__(self, env: ManagerBasedRLEnv, swing_share: float = 0.4, command_name: str = "imitation"):
        command = _command(env, command_name)
        if self.swing_s is None:
            if len(command.foot_ids) != 2:
                raise ConfigError(f"the air-time term is a biped's and {env.cfg.robot_name} has "
                                  f"{len(command.foot_ids)} feet: set env.rewards.air_time.weight=0")
            self.swing_s = swing_share * command.gait_period().frames * env.step_dt
        contact = command.feet_in_contact()
        self.mode_time = foot_mode_time(self.mode_time, self.contact, contact, env.step_dt)
        self.contact = contact
        self.held = single_stance_time(self.mode_time, contact, self.swing_s)  # the step's value, per step
        return self.held / env.step_dt


def nil_pace(env: ManagerBasedRLEnv, std: float = 0.5, command_name: str = "imitation") -> torch.Tensor:
    """S_pace (not the paper's): exp(-d^2 / 2 std^2), d the ground distance (m) between the base and where the
    reference's robot is now (the start plus the reference camera's travel, as the camera replays it). Pays before the
    masks overlap and wherever the camera looks: keeping the reference's pace."""
    command = _command(env, command_name)
    gap = command.robot.data.root_pos_w.torch[:, :2] - command.reference_position_w()[:, :2]
    return torch.exp(-gap.square().sum(-1) / (2 * std**2)) / env.step_dt


def nil_speed(env: ManagerBasedRLEnv, std: float = 0.3, command_name: str = "imitation") -> torch.Tensor:
    """S_speed (not the paper's): exp(-e^2 / 2 std^2), e = v / v_ref - 1, v the base's ground speed along the
    reference's direction of travel and v_ref the reference's own speed (its camera path over the clip, at full
    speed whatever the curriculum's camera does). Why: S_pace is a 0.5 m bell around where the reference's robot
    is, so an agent a metre behind gets no slope from it and keeps the curriculum camera's pace; this one has a
    slope at every speed (ratio 0.57: 0.36, 0.9: 0.95)."""
    command = _command(env, command_name)
    command.require_camera_path("the speed term")
    speed = command.robot.data.root_lin_vel_w.torch[:, :2] @ command.travel_dir
    error = speed / max(command.reference_speed, 1e-3) - 1.0
    return torch.exp(-error.square() / (2 * std**2)) / env.step_dt


def nil_heading(env: ManagerBasedRLEnv, command_name: str = "imitation") -> torch.Tensor:
    """S_heading (not the paper's): ((1 + cos e) / 2)^2 for the yaw error e of the base against the reference's
    direction of travel (its camera path), averaged with the torso's where the robot file names one: 1 facing the
    way the reference goes, 0.25 turned 90 degrees (to the camera), 0 facing back; a slope at every angle."""
    errors = heading_errors(_command(env, command_name))
    return (((1 + torch.cos(errors)) / 2).square().mean(-1)) / env.step_dt


def heading_errors(command: ImitationCommand) -> torch.Tensor:
    """(N, K) yaw error (rad, in [-pi, pi]) of the base (and the torso, when the robot file names one) against the
    reference's direction of travel."""
    command.require_camera_path("the heading term")
    data = command.robot.data
    quats = [data.root_quat_w.torch]
    if command.torso_id is not None:
        quats.append(data.body_quat_w.torch[:, command.torso_id])
    error = torch.stack([base_yaw(quat) for quat in quats], dim=-1) - command.travel_yaw
    return torch.atan2(torch.sin(error), torch.cos(error))


def base_yaw(quat: torch.Tensor) -> torch.Tensor:
    """(N,) yaw (rad) of the way a body's x axis points on the ground, from its (N, 4) world quaternion."""
    forward = torch.zeros(quat.shape[0], 3, device=quat.device)
    forward[:, 0] = 1.0
    heading = quat_apply(quat, forward)
    return torch.atan2(heading[:, 1], heading[:, 0])
