"""The NIL reward streams as Isaac Lab reward terms: short functions of the imitation command's scores.

One term per weight: :func:`nil_video` (zeta), :func:`nil_iou` (beta), :func:`nil_penalty` (one term per penalty),
and two beyond the paper that the paper's profile weighs 0: :func:`nil_silhouette` and :func:`nil_alive`. So each
weight is one ``RewardTermCfg.weight`` and each stream has its own TensorBoard curve. The render and the scores are
made once per control step by the command term (``commands.ImitationCommand.scores``), whichever terms ask.

Units: Isaac Lab multiplies a term's value by its weight and by the control step dt. The streams return their
per-step score divided by dt, so a weight is the paper's coefficient and the env's reward is the paper's per-step
R_t, at any control rate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from isaaclab.envs import ManagerBasedRLEnv

from isaaclab.utils.math import quat_apply

from ...rewards import PENALTY_NAMES, STREAMS, pose_iou
from ...rewards.similarity import resize_mask

if TYPE_CHECKING:
    from isaaclab.managers import RewardManager


def _stream(env: ManagerBasedRLEnv, stream: str, command_name: str) -> torch.Tensor:
    # divided by the step that Isaac Lab multiplies by: the weighted value is the paper's per-step term
    return env.command_manager.get_term(command_name).scores[f"raw/{stream}"] / env.step_dt


def nil_video(env: ManagerBasedRLEnv, command_name: str = "imitation") -> torch.Tensor:
    """S_video (weight: zeta): cosine similarity of the agent's and the reference's clip embeddings."""
    return _stream(env, "video", command_name)


def nil_iou(env: ManagerBasedRLEnv, command_name: str = "imitation") -> torch.Tensor:
    """S_iou (weight: beta): IoU of the agent's and the reference's robot masks."""
    return _stream(env, "iou", command_name)


def nil_penalty(env: ManagerBasedRLEnv, name: str, command_name: str = "imitation") -> torch.Tensor:
    """One penalty of P_t (<= 0; weight: eta times its coefficient): torque, action_rate, ang_vel, foot_slip or tilt."""
    return _stream(env, name, command_name)


def nil_silhouette(env: ManagerBasedRLEnv, command_name: str = "imitation") -> torch.Tensor:
    """S_silhouette (not the paper's): closeness of the agent's and the reference's mask centroids, which pays
    before the masks overlap (``nil_ext.rewards.similarity.silhouette_closeness``)."""
    return _stream(env, "silhouette", command_name)


def nil_alive(env: ManagerBasedRLEnv, command_name: str = "imitation") -> torch.Tensor:
    """1 per step while the episode has not failed (not the paper's). Isaac Lab's ``is_alive`` in the paper's
    per-step units. Why: without it the imitation reward of a robot that is not where the reference is, minus the
    penalties, is below 0, and ending the episode by falling is the best the agent can do (the probe measures it:
    H1's fall outscores standing)."""
    return _stream(env, "alive", command_name)


def _scored(env: ManagerBasedRLEnv, command_name: str):
    """The imitation command, with this step's render made (its first read in a step renders and scores it)."""
    command = env.command_manager.get_term(command_name)
    command.scores  # noqa: B018: renders on the step's first read
    return command


def nil_pose_iou(env: ManagerBasedRLEnv, command_name: str = "imitation") -> torch.Tensor:
    """S_pose (not the paper's): IoU of the agent's and the reference's masks, each centred on its centroid: the
    posture alone, wherever each robot is in the image (a torso turned to the camera shows another shape)."""
    command = _scored(env, command_name)
    reference = command.reference_mask
    return pose_iou(resize_mask(command.mask, reference.shape[-2:]), reference) / env.step_dt


def nil_pace(env: ManagerBasedRLEnv, std: float = 0.5, command_name: str = "imitation") -> torch.Tensor:
    """S_pace (not the paper's): exp(-d^2 / 2 std^2), d the ground distance (m) between the base and where the
    reference's robot is now (the start plus the reference camera's travel, as the camera replays it). Pays before the
    masks overlap and wherever the camera looks: keeping the reference's pace."""
    command = _scored(env, command_name)
    gap = command.robot.data.root_pos_w.torch[:, :2] - command.reference_position_w()[:, :2]
    return torch.exp(-gap.square().sum(-1) / (2 * std**2)) / env.step_dt


def nil_heading(env: ManagerBasedRLEnv, command_name: str = "imitation") -> torch.Tensor:
    """S_heading (not the paper's): ((1 + cos e) / 2)^2 for the yaw error e of the base against the reference's
    direction of travel (its camera path), averaged with the torso's where the robot file names one: 1 facing the
    way the reference goes, 0.25 turned 90 degrees (to the camera), 0 facing back; a slope at every angle."""
    command = _scored(env, command_name)
    errors = heading_errors(command)
    return (((1 + torch.cos(errors)) / 2).square().mean(-1)) / env.step_dt


def heading_errors(command) -> torch.Tensor:
    """(N, K) yaw error (rad, in [-pi, pi]) of the base (and the torso, when the robot file names one) against the
    reference's direction of travel."""
    data = command.robot.data
    quats = [data.root_quat_w.torch]
    if command.torso_id is not None:
        quats.append(data.body_quat_w.torch[:, command.torso_id])
    forward = torch.zeros(command.num_envs, 3, device=command.device)
    forward[:, 0] = 1.0
    yaws = []
    for quat in quats:
        heading = quat_apply(quat, forward)
        yaws.append(torch.atan2(heading[:, 1], heading[:, 0]))
    error = torch.stack(yaws, dim=-1) - command.travel_yaw
    return torch.atan2(torch.sin(error), torch.cos(error))


_STREAMS = {nil_video: "video", nil_iou: "iou", nil_silhouette: "silhouette", nil_alive: "alive"}


def stream_weights(manager: RewardManager) -> dict[str, float]:
    """Each stream's weight (STREAMS, each penalty's name): the summed weights of the active reward terms that
    read it, as ``manager`` holds them now (``set_term_cfg`` included)."""
    weights = dict.fromkeys((*STREAMS, *PENALTY_NAMES), 0.0)
    for name in manager.active_terms:
        term = manager.get_term_cfg(name)
        stream = _STREAMS.get(term.func) or (term.params["name"] if term.func is nil_penalty else None)
        if stream is not None:
            weights[stream] += term.weight
    return weights
