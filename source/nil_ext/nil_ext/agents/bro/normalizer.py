"""Running mean / std observation normaliser (merged over processes, saved in checkpoints)."""

from __future__ import annotations

import torch
from torch import nn

from . import distributed


class RunningNormalizer(nn.Module):
    """y = (x - mean) / sqrt(var + eps) with running statistics; identity while ``enabled`` is False.

    Statistics are kept in float64 (Chan et al.'s parallel merge) so that millions of updates do not drift.
    """

    def __init__(self, dim: int, enabled: bool = True, eps: float = 1e-8):
        super().__init__()
        self.enabled = enabled
        self.eps = eps
        self.register_buffer("mean", torch.zeros(dim, dtype=torch.float64))
        self.register_buffer("var", torch.ones(dim, dtype=torch.float64))
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        """Merge a batch (n, dim) into the statistics; every process must call this (collectives)."""
        if not self.enabled:
            return
        x = x.to(torch.float64)
        stats = torch.cat([x.new_tensor([x.shape[0]]), x.sum(0), (x * x).sum(0)])
        distributed.all_reduce_sum_(stats)
        n, total, total_sq = stats[0], stats[1 : 1 + x.shape[1]], stats[1 + x.shape[1] :]
        if n == 0:
            return
        batch_mean = total / n
        batch_var = (total_sq / n - batch_mean**2).clamp_min(0.0)
        new_count = self.count + n
        delta = batch_mean - self.mean
        self.mean += delta * n / new_count
        self.var = (self.var * self.count + batch_var * n + delta**2 * self.count * n / new_count) / new_count
        self.count = new_count

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            return x
        return ((x - self.mean) / torch.sqrt(self.var + self.eps)).to(x.dtype)
