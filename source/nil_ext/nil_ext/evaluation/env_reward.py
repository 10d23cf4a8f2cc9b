"""The environment reward the paper scores policies with, as LocoMujoco defines it by default.

The paper does not publish its "Env. Reward"; we use LocoMujoco's default task rewards, per control step:
humanoids ``exp(-(v_x - 1.25)^2)``, A1 ``exp(-5 |v_xy - (0.5, 0)|)``, summed over 400 (humanoids) or 300 (A1)
steps at 100 Hz, so that perfect tracking scores the paper's expert 400 / 300. Compare orderings (NIL vs the
floors vs ablations) rather than absolute numbers with the paper's.
"""

from __future__ import annotations

import torch

HUMANOID_TARGET_SPEED = 1.25
QUADRUPED_TARGET_VELOCITY = (0.5, 0.0)
EPISODE_STEPS = {"humanoid": 400, "quadruped": 300}
EXPERT_SCORE = {"humanoid": 400.0, "quadruped": 300.0}


def env_reward(base_lin_vel_w: torch.Tensor, quadruped: bool) -> torch.Tensor:
    """(N,) reward of one control step from the base's world-frame linear velocity (N, 3)."""
    if quadruped:
        target = torch.tensor(QUADRUPED_TARGET_VELOCITY, device=base_lin_vel_w.device)
        return torch.exp(-5.0 * (base_lin_vel_w[:, :2] - target).norm(dim=-1))
    return torch.exp(-((base_lin_vel_w[:, 0] - HUMANOID_TARGET_SPEED) ** 2))
