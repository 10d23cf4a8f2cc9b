"""Uniform ring replay buffer kept as tensors on one device (the env's, for GPU-resident training)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

FIELDS = ("obs", "actions", "rewards", "next_obs", "terminated", "discount")


@dataclass
class Batch:
    obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_obs: torch.Tensor
    terminated: torch.Tensor
    """1.0 where the episode ended in a terminal state (no bootstrapping); time-outs are 0."""
    discount: torch.Tensor
    """gamma^m for a transition summing m rewards (n-step returns; gamma for one-step ones)."""

    def tensors(self) -> tuple[torch.Tensor, ...]:
        return self.obs, self.actions, self.rewards, self.next_obs, self.terminated, self.discount


class ReplayBuffer:
    """Stores raw (unnormalised) observations; the runner normalises sampled batches with current statistics."""

    def __init__(self, capacity: int, obs_dim: int, act_dim: int, device: str | torch.device):
        self.capacity, self.device = capacity, torch.device(device)
        self.obs = torch.zeros(capacity, obs_dim, device=self.device)
        self.actions = torch.zeros(capacity, act_dim, device=self.device)
        self.rewards = torch.zeros(capacity, device=self.device)
        self.next_obs = torch.zeros(capacity, obs_dim, device=self.device)
        self.terminated = torch.zeros(capacity, device=self.device)
        self.discount = torch.zeros(capacity, device=self.device)
        self.ptr, self.size = 0, 0

    def __len__(self) -> int:
        return self.size

    def add(self, obs, actions, rewards, next_obs, terminated, discount) -> None:
        """Insert n transitions (rows), overwriting the oldest once full."""
        n = obs.shape[0]
        if n == 0:
            return
        idx = (self.ptr + torch.arange(n, device=self.device)) % self.capacity
        self.obs[idx] = obs
        self.actions[idx] = actions
        self.rewards[idx] = rewards
        self.next_obs[idx] = next_obs
        self.terminated[idx] = terminated.float()
        self.discount[idx] = discount
        self.ptr = (self.ptr + n) % self.capacity
        self.size = min(self.size + n, self.capacity)

    def sample(self, batch_size: int) -> Batch:
        idx = torch.randint(0, self.size, (batch_size,), device=self.device)
        return Batch(*(getattr(self, k)[idx] for k in FIELDS))

    def state_dict(self) -> dict:
        n = self.size
        return {
            "ptr": self.ptr,
            "size": n,
            "capacity": self.capacity,
            **{k: getattr(self, k)[:n].clone() for k in FIELDS},
        }

    def load_state_dict(self, state: dict, gamma: float) -> None:
        """``gamma``: the discount of buffers saved before n-step returns (all one-step transitions)."""
        if state["capacity"] != self.capacity:
            raise ValueError(f"Replay buffer capacity {state['capacity']} in the file, {self.capacity} configured.")
        n = state["size"]
        state = {"discount": torch.full((n,), gamma), **state}
        for k in FIELDS:
            getattr(self, k)[:n] = state[k].to(self.device)
        self.ptr, self.size = state["ptr"], n
