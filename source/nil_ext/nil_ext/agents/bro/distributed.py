"""Multi-process helpers (torchrun, one process per GPU; gloo on CPU). No-ops in a single process."""

from __future__ import annotations

import os
from collections.abc import Iterable

import torch
import torch.distributed as dist


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def init_from_env(device: str) -> str:
    """Join the process group described by torchrun's env vars (WORLD_SIZE > 1); return this rank's device.

    On CUDA each process takes ``cuda:LOCAL_RANK`` and uses NCCL; on CPU the gloo backend.
    """
    if int(os.getenv("WORLD_SIZE", "1")) <= 1:
        return device
    if torch.device(device).type == "cuda":
        device = f"cuda:{int(os.getenv('LOCAL_RANK', '0'))}"
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    return device


def all_reduce_mean_(tensors: Iterable[torch.Tensor]) -> None:
    """Average tensors over processes in place, in one flat collective."""
    tensors = list(tensors)
    if world_size() == 1 or not tensors:
        return
    flat = torch.cat([t.reshape(-1) for t in tensors])
    dist.all_reduce(flat)
    flat /= world_size()
    offset = 0
    for t in tensors:
        t.copy_(flat[offset : offset + t.numel()].view_as(t))
        offset += t.numel()


def all_reduce_sum_(tensor: torch.Tensor) -> torch.Tensor:
    if world_size() > 1:
        dist.all_reduce(tensor)
    return tensor


def any_rank(flag: bool, device: str | torch.device) -> bool:
    """True if ``flag`` is true on any process (every process must call this)."""
    if world_size() == 1:
        return flag
    t = torch.tensor([float(flag)], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def broadcast_(tensors: Iterable[torch.Tensor]) -> None:
    """Copy rank 0's tensors (parameters, buffers) to every process."""
    if world_size() == 1:
        return
    for t in tensors:
        dist.broadcast(t.data, src=0)
