"""n-step returns for a vectorised env: the last n steps of every env, folded into one transition per step.

Why: an imitation reward pays for keeping up with the reference step after step; with one-step targets that credit
reaches an action only through the critic's bootstrap, one step per update. Summing n rewards before bootstrapping
carries it n steps at once (FastTD3 uses n = 3 with thousands of envs).

Each stored transition is (s_t, a_t, sum_k gamma^k r_{t+k}, s_{t+m}, terminated_{t+m-1}, gamma^m) with m <= n
the steps actually summed: the window stops after the first step that ended the episode (a time-out bootstraps
from its final observation, a terminal state does not) and before the first step that was not stored (non-finite
data, a truncation without its final observation). A step's transition is complete n - 1 steps later; with n = 1 it
is the step itself, and the discount is gamma, as in one-step BRO.
"""

from __future__ import annotations

from collections import deque

import torch


class NStepWindow:
    """The last ``n`` vectorised steps; :meth:`push` one and get the transitions completed by it."""

    def __init__(self, n: int, gamma: float):
        if n < 1:
            raise ValueError(f"n_step must be at least 1 (1: one-step targets), got {n}")
        self.n, self.gamma = n, gamma
        self.steps: deque[tuple[torch.Tensor, ...]] = deque(maxlen=n)

    def push(self, obs, actions, rewards, next_obs, terminated, done, stored):
        """Add one step of N envs: ``next_obs`` is the observation to bootstrap from (the final one where an
        episode ended), ``done`` ends the episode (terminated or timed out), ``stored`` (N,) bool marks the envs
        whose step may be learned from. Returns (obs, actions, returns, next_obs, terminated, discount) of the
        transitions that start at the oldest step of the window once it holds n steps (rows with stored start
        steps only), else None."""
        self.steps.append((obs, actions, rewards, next_obs, terminated.float(), done.bool(), stored.bool()))
        if len(self.steps) < self.n:
            return None
        obs0, actions0 = self.steps[0][0], self.steps[0][1]
        rewards, next_obs, terminated, done, stored = (torch.stack([s[i] for s in self.steps]) for i in range(2, 7))
        # step k counts when every step before it kept the episode going and steps 0..k were all stored
        ended_before = torch.cat([torch.zeros_like(done[:1]), done[:-1]]).cumsum(0) > 0
        counts = (~ended_before & (stored.cumsum(0) == torch.arange(1, self.n + 1, device=stored.device)[:, None]))
        powers = self.gamma ** torch.arange(self.n, device=rewards.device, dtype=rewards.dtype)
        returns = (torch.where(counts, rewards, 0.0) * powers[:, None]).sum(0)
        m = counts.sum(0)  # steps summed per env (counts is a prefix: 1..1 0..0)
        last = (m - 1).clamp_min(0)
        envs = torch.arange(len(m), device=m.device)
        keep = m > 0
        return (obs0[keep], actions0[keep], returns[keep], next_obs[last, envs][keep], terminated[last, envs][keep],
                (self.gamma ** m.to(rewards.dtype))[keep])
