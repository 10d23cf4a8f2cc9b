"""Shared pieces of the reward tests: a synthetic reference video and a tiny encoder."""

from __future__ import annotations

import math

import torch

from nil_ext.rewards import VideoEncoder
from nil_ext.rewards.tiny_models import save_tiny_timesformer


def _segment_distance(px, py, ax, ay, bx, by):
    """Distance of pixel centres (px, py) to the segments (ax, ay)-(bx, by); segments broadcast over pixels."""
    dx, dy = bx - ax, by - ay
    u = (((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy).clamp(min=1e-6)).clamp(0, 1)
    return torch.hypot(px - (ax + u * dx), py - (ay + u * dy))


def render_walker(num_frames: int = 24, size: int = 64, period: int = 12) -> tuple[torch.Tensor, torch.Tensor]:
    """A stick figure that walks left to right, swinging its legs and arms.

    Returns frames (T,size,size,3) uint8 on black and masks (T,size,size) bool.
    """
    s = size / 64  # the figure is designed on a 64 px canvas
    t = torch.arange(num_frames, dtype=torch.float32)[:, None, None]
    ys, xs = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    cx = (14 + 36 * t / max(num_frames - 1, 1)) * s
    swing = 0.6 * torch.sin(2 * math.pi * t / period)
    hip_y, shoulder_y, limb = 38 * s, 24 * s, 14 * s

    torso = _segment_distance(xs, ys, cx, 20 * s, cx, hip_y) < 3.5 * s
    head = torch.hypot(xs - cx, ys - 13 * s) < 5 * s
    limbs = torch.zeros_like(torso)
    for root_y, sign in ((hip_y, 1), (hip_y, -1), (shoulder_y, -1), (shoulder_y, 1)):
        angle = sign * swing
        end_x, end_y = cx + limb * torch.sin(angle), root_y + limb * torch.cos(angle)
        limbs |= _segment_distance(xs, ys, cx, root_y, end_x, end_y) < 2 * s

    masks = torso | head | limbs
    frames = torch.zeros(num_frames, size, size, 3, dtype=torch.uint8)
    frames[torso | head] = torch.tensor([200, 130, 70], dtype=torch.uint8)
    frames[limbs & ~(torso | head)] = torch.tensor([70, 130, 200], dtype=torch.uint8)
    return frames, masks


_ENCODERS: dict[int, VideoEncoder] = {}


def tiny_encoder(tmp_path_factory) -> VideoEncoder:
    """A tiny TimeSformer (64 px, 8 frames, D=32) saved once per test session and loaded back."""
    key = id(tmp_path_factory)
    if key not in _ENCODERS:
        path = save_tiny_timesformer(tmp_path_factory.mktemp("tiny_timesformer"), image_size=64)
        _ENCODERS[key] = VideoEncoder(str(path), device="cpu")
    return _ENCODERS[key]
