"""The reference's gait period, read from its robot masks alone: a walking silhouette repeats every stride.

Why: the walk tasks' policy observes the phase as progress through the whole reference (0 to 1 over ~5 strides), so
the cadence of the reference's gait is something it must learn anew for every stretch of the episode; trained H1
policies stepped with no clean cadence (their hips' spectrum flat from 0.25 to 1.5 Hz) where the reference swings at
1.4 Hz. A clock at the stride's period is what legged-locomotion policies are usually given; here it comes from the
imagined video itself (never from the scripted demo's joints), so it works on any clip of a walk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .similarity import centroid, row_extent


@dataclass(frozen=True)
class GaitPeriod:
    frames: float
    """Frames (of the masks' rate) between two repeats of the silhouette, sub-frame by a parabola through the peak."""
    strength: float
    """Mean IoU of the normalised silhouettes one period apart (1: the silhouette repeats exactly)."""
    contrast: float
    """That IoU minus the lowest over the lags searched: how much the repeat stands out (a robot standing still
    repeats at every lag and reads ~0)."""


def normalised_silhouettes(masks: torch.Tensor, size: int = 48) -> torch.Tensor:
    """(T,H,W) bool -> (T,size,size) bool: each mask centred on its centroid and scaled so that the robot's height
    (its rows) spans 80 % of the canvas. Why: in a real clip the robot walks toward or away from the camera and
    grows or shrinks; its posture repeats, its size does not. An empty mask stays empty."""
    m = masks.bool()
    t, h, w = m.shape
    cy, cx = centroid(m)
    _, height = row_extent(m)
    half = height / 0.8 / 2  # half the canvas, in input pixels
    # affine_grid's output spans [-1, 1]; input pixel p sits at (2p + 1) / n - 1 in its normalised coordinates
    theta = torch.zeros(t, 2, 3, device=m.device)
    theta[:, 0, 0], theta[:, 0, 2] = 2 * half / w, (2 * cx + 1) / w - 1
    theta[:, 1, 1], theta[:, 1, 2] = 2 * half / h, (2 * cy + 1) / h - 1
    grid = F.affine_grid(theta, (t, 1, size, size), align_corners=False)
    out = F.grid_sample(m[:, None].float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return (out[:, 0] > 0.5) & m.flatten(1).any(1)[:, None, None]


def silhouette_self_similarity(masks: torch.Tensor, max_lag: int) -> torch.Tensor:
    """(T,H,W) bool masks -> (max_lag + 1,) mean IoU of each normalised silhouette (:func:`normalised_silhouettes`)
    with the one ``lag`` frames later (lag 0 reads 1). Empty pairs are left out of the mean."""
    m = normalised_silhouettes(masks).flatten(1).float()
    out = torch.ones(max_lag + 1, device=m.device)
    for lag in range(1, max_lag + 1):  # a few dozen lags, once per reference: not in the step loop
        a, b = m[:-lag], m[lag:]
        union = ((a + b) > 0).float().sum(1)
        seen = union > 0
        iou = (a * b).sum(1)[seen] / union[seen]
        out[lag] = iou.mean() if len(iou) else 0.0
    return out


def gait_period(masks: torch.Tensor, fps: float, min_s: float = 0.25, max_s: float = 2.0,
                min_contrast: float = 0.08) -> GaitPeriod | None:
    """The lag (frames) at which a robot's silhouette (centred, scaled to its height) is first nearly as like itself
    again as it gets (within a fifth of its best repeat above its worst), between ``min_s`` and ``max_s`` seconds.

    None when the clip is too short to see two repeats, or when nothing repeats: the best repeat must stand
    ``min_contrast`` above the worst lag. At 64 px H1 standing still sways to 0.05, its scripted walk stands at 0.36
    and a trained policy's short, quick steps at 0.09-0.12.

    A gait seen in profile may repeat every step nearly as well as every stride (left and right legs look alike);
    then the step is returned, and the clock (:func:`gait_clock`) also carries half its frequency."""
    lo = max(1, math.ceil(min_s * fps))
    hi = min(int(max_s * fps), (len(masks) - 1) // 2)  # at least two repeats in the clip
    if hi <= lo + 1:
        return None
    sim = silhouette_self_similarity(masks, hi + 1)
    inner = sim[lo : hi + 1]
    floor, best = float(inner.min()), float(inner.max())
    if best - floor < min_contrast:
        return None  # nothing stands out: the silhouette does not cycle in that range
    # the first repeat nearly as strong as the strongest: two strides repeat as well as one does
    peaks = [k for k in range(lo + 1, hi) if sim[k] >= sim[k - 1] and sim[k] >= sim[k + 1]
             and sim[k] >= floor + 0.8 * (best - floor)]
    if not peaks:
        return None  # the strongest repeat is at an end of the range: no cycle inside it
    peak = peaks[0]
    # a parabola through the peak and its neighbours: the period to a fraction of a frame
    left, mid, right = (float(sim[peak + k]) for k in (-1, 0, 1))
    bend = left - 2 * mid + right
    shift = 0.5 * (left - right) / bend if bend < 0 else 0.0
    return GaitPeriod(frames=peak + max(-0.5, min(0.5, shift)), strength=mid, contrast=float(sim[peak] - inner.min()))


def gait_clock(step: torch.Tensor, period_frames: float) -> torch.Tensor:
    """(N,) reference frame indices -> (N, 4): cos and sin of the phase at the period and at twice it (the stride,
    when the period found is a step), 0 at the reference's first frame."""
    phase = 2 * math.pi * step.float() / period_frames
    return torch.stack([torch.cos(phase), torch.sin(phase), torch.cos(phase / 2), torch.sin(phase / 2)], dim=-1)


def foot_mode_time(mode_time: torch.Tensor, was_touching: torch.Tensor, touching: torch.Tensor,
                   dt: float) -> torch.Tensor:
    """(N, F) seconds each foot has been in its mode (touching or in the air), one step of ``dt`` on: a foot that
    changed mode this step starts again at ``dt``."""
    return torch.where(touching == was_touching, mode_time + dt, dt)


def single_stance_time(mode_time: torch.Tensor, contact: torch.Tensor, swing_s: float) -> torch.Tensor:
    """(N, 2) seconds each foot has been in its mode (touching or in the air), (N, 2) bool contact -> (N,) in [0, 1]:
    while exactly one foot touches, the shorter of the two feet's times in their mode over ``swing_s``, capped at 1;
    0 with both feet down or both up. Isaac Lab's ``feet_air_time_positive_biped``, scaled: a swing as long as
    ``swing_s`` pays 1 at its end, quick short steps pay little all the way, shuffling and hopping pay nothing."""
    single = contact.sum(-1) == 1
    return torch.where(single, (mode_time.min(-1).values / swing_s).clamp(max=1.0), 0.0)
