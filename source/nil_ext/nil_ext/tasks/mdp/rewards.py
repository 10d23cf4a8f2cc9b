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

from ...rewards import PENALTY_NAMES, STREAMS

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
