"""The two imitation terms: video-embedding similarity and mask IoU, batched over envs."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def video_similarity(agent_emb: torch.Tensor, ref_emb: torch.Tensor) -> torch.Tensor:
    """S_video: cosine similarity of (N,D) embeddings -> (N,) in [-1, 1], computed in fp32."""
    return F.cosine_similarity(agent_emb.float(), ref_emb.float(), dim=-1, eps=1e-8)


def mask_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """S_iou: IoU of (N,H,W) bool masks -> (N,) in [0, 1].

    Both empty -> 1.0: the two agree that nothing is in view. (Isaac Lab's follow camera keeps the
    robot in view, so this case means the reference ran out of robot, not that the agent hid.)
    """
    a, b = a.bool(), b.bool()
    inter = (a & b).flatten(1).sum(1)
    union = (a | b).flatten(1).sum(1)
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(inter, dtype=torch.float32)).float()


def resize_mask(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(N,H,W) bool -> (N,*size) bool by nearest neighbour (no-op when the size already matches)."""
    if tuple(mask.shape[-2:]) == tuple(size):
        return mask.bool()
    return F.interpolate(mask[:, None].float(), size=size, mode="nearest")[:, 0] > 0.5
