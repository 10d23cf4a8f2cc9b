"""The environment reward the paper scores policies with, as LocoMujoco defines it by default.

The paper does not publish its "Env. Reward"; we use LocoMujoco's default task rewards, per control step:
humanoids ``exp(-(v_x - 1.25)^2)``, A1 ``exp(-5 |v_xy - (0.5, 0)|)``, summed over 400 (humanoids) or 300 (A1)
steps at 100 Hz (4 s / 3 s; at another control rate each step weighs its length), so that perfect tracking
scores the paper's expert 400 / 300. Compare orderings (NIL vs the
floors vs ablations) rather than absolute numbers with the paper's.
"""

from __future__ import annotations

import torch

HUMANOID_TARGET_SPEED = 1.25
QUADRUPED_TARGET_VELOCITY = (0.5, 0.0)
PAPER_CONTROL_DT = 0.01
EPISODE_SECONDS = {"humanoid": 4.0, "quadruped": 3.0}
EXPERT_SCORE = {"humanoid": 400.0, "quadruped": 300.0}


def episode_steps(quadruped: bool, control_dt: float) -> int:
    """Control steps of an evaluation episode: 4 s (humanoids) or 3 s (A1), 400 / 300 steps at the paper's 100 Hz."""
    return round(EPISODE_SECONDS["quadruped" if quadruped else "humanoid"] / control_dt)


def env_reward(base_lin_vel_w: torch.Tensor, quadruped: bool, control_dt: float = PAPER_CONTROL_DT) -> torch.Tensor:
    """(N,) reward of one control step from the base's world-frame linear velocity (N, 3), weighted by the step's
    length in the paper's 10 ms steps, so that an episode sums to the same score at any control rate."""
    weight = control_dt / PAPER_CONTROL_DT
    if quadruped:
        target = torch.tensor(QUADRUPED_TARGET_VELOCITY, device=base_lin_vel_w.device)
        return weight * torch.exp(-5.0 * (base_lin_vel_w[:, :2] - target).norm(dim=-1))
    return weight * torch.exp(-((base_lin_vel_w[:, 0] - HUMANOID_TARGET_SPEED) ** 2))
