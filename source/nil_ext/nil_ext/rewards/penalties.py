"""Regularisation terms P_t. Each takes plain tensors, returns (N,) in [-1, 0], and is 0 at rest.

Every term is a mean of squared, normalised quantities, clipped at -1 so that a fall cannot
swamp the imitation terms (S_video + S_iou is at most 2). Each term's weight (in the tasks,
its reward term's weight) then sets its share directly; so the tasks' penalty terms call these
rather than Isaac Lab's ``joint_torques_l2``, ``action_rate_l2``, ... (unnormalised sums, not
clipped). The paper names the terms but not their weights or normalisation: the scales below and
the tasks' weights (0.1 each) are ours.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class PenaltyCfg:
    ang_vel_scale: float = 2.0  # rad/s at which the angular-velocity term saturates at -1
    foot_slip_scale: float = 0.5  # m/s of horizontal foot speed in contact at which the slip term saturates


def joint_torque_penalty(torques: torch.Tensor, effort_limit: torch.Tensor) -> torch.Tensor:
    """-mean_j (tau_j / limit_j)^2: -1 when every joint pushes at its limit."""
    return -(torques / effort_limit.clamp(min=1e-6)).square().mean(-1).clamp(max=1.0)


def action_rate_penalty(action: torch.Tensor, prev_action: torch.Tensor) -> torch.Tensor:
    """-mean_j ((a_t - a_{t-1}) / 2)^2: -1 when every action flips from one bound to the other."""
    return -((action - prev_action) / 2).square().mean(-1).clamp(max=1.0)


def ang_vel_penalty(ang_vel_b: torch.Tensor, scale: float = 2.0) -> torch.Tensor:
    """-|omega|^2 / scale^2, clipped at -1."""
    return -(ang_vel_b.square().sum(-1) / scale**2).clamp(max=1.0)


def foot_slip_penalty(foot_vel_w: torch.Tensor, foot_contact: torch.Tensor, scale: float = 0.5) -> torch.Tensor:
    """-mean over feet of contact * |v_xy|^2 / scale^2, clipped at -1: feet on the ground should not slide."""
    slip = foot_vel_w[..., :2].square().sum(-1) * foot_contact.float()
    return -(slip.mean(-1) / scale**2).clamp(max=1.0)


def tilt_penalty(projected_gravity_b: torch.Tensor) -> torch.Tensor:
    """-(1 - cos(tilt)) / 2 from gravity in the base frame: 0 upright, -0.5 lying flat, -1 upside down."""
    g = projected_gravity_b / projected_gravity_b.norm(dim=-1, keepdim=True).clamp(min=1e-6)
    return -(1.0 + g[..., 2]) / 2
