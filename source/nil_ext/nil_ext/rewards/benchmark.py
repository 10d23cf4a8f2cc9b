"""Timing of the reward's step: encoder forward vs everything else (buffer, IoU, penalties)."""

from __future__ import annotations

import statistics
import time

import torch

from .penalties import action_rate_penalty, ang_vel_penalty, foot_slip_penalty, joint_torque_penalty, tilt_penalty
from .reward_cfg import NilRewardCfg
from .similarity import mask_iou
from .video_encoder import VideoEncoder
from .video_score import ClipSimilarity, reference_clip_embeddings


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median_ms(fn, steps: int, device: torch.device, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def benchmark_reward(
    num_envs: int,
    image_size: int,
    encoder: VideoEncoder,
    steps: int = 20,
    device: str | torch.device = "cpu",
    cfg: NilRewardCfg | None = None,
    ref_len: int = 32,
    num_joints: int = 19,
) -> dict[str, float]:
    """Median ms per step of: the whole step, the encoder forward on the N agent clips, and the rest.

    `image_size` is the camera's resolution (frames are random; costs do not depend on content).
    "rest_ms" is a step with S_video held (the encoder does not run): frame preparation, ring
    buffer, IoU, penalties.
    """
    device = torch.device(device)
    cfg = cfg or NilRewardCfg()
    g = torch.Generator(device="cpu").manual_seed(0)

    def frames(n):
        rgb = torch.randint(0, 256, (n, image_size, image_size, 3), dtype=torch.uint8, generator=g).to(device)
        return rgb, (torch.rand(n, image_size, image_size, generator=g) > 0.5).to(device)

    ref_rgb, ref_mask = frames(ref_len)
    ref_embeddings = reference_clip_embeddings(encoder, ref_rgb, ref_mask, cfg.clip_len, cfg.stride)
    full, held = (ClipSimilarity(encoder, ref_embeddings, num_envs, cfg.clip_len, cfg.stride, every_k, cfg.chunk_size)
                  for every_k in (cfg.video_every_k, 10**9))
    rgb, mask = frames(num_envs)
    frame_index = torch.zeros(num_envs, dtype=torch.long, device=device)
    torques = torch.randn(num_envs, num_joints, device=device)
    effort_limit = torch.full((num_joints,), 100.0, device=device)
    action = torch.rand(num_envs, num_joints, device=device) * 2 - 1
    prev_action = torch.rand(num_envs, num_joints, device=device) * 2 - 1
    ang_vel = torch.randn(num_envs, 3, device=device)
    foot_vel = torch.randn(num_envs, 2, 3, device=device)
    foot_contact = torch.rand(num_envs, 2, device=device) > 0.5
    gravity = torch.tensor([0.0, 0.0, -1.0], device=device).expand(num_envs, 3)

    def step(video: ClipSimilarity) -> None:
        """What the reward terms compute in a control step."""
        video(rgb, mask, frame_index)
        mask_iou(mask, ref_mask[frame_index])
        joint_torque_penalty(torques, effort_limit)
        action_rate_penalty(action, prev_action)
        ang_vel_penalty(ang_vel, cfg.penalties.ang_vel_scale)
        foot_slip_penalty(foot_vel, foot_contact, cfg.penalties.foot_slip_scale)
        tilt_penalty(gravity)

    step(held)  # the one step where the held score's encoder runs
    clips = full.buffer.clips()
    return {
        "num_envs": num_envs,
        "image_size": image_size,
        "encoder_size": encoder.image_size,
        "step_ms": _median_ms(lambda: step(full), steps, device),
        "encoder_ms": _median_ms(lambda: encoder.embed_prepared(clips), steps, device),
        "rest_ms": _median_ms(lambda: step(held), steps, device),
    }
