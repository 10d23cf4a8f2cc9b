"""The ``gpu`` preset sized to the card: envs, camera, encoder chunk and ``video_every_k`` from the free memory.

:func:`size_gpu_run` is a pure function of the free bytes and the settings; :func:`gpu_sizes` reads the device's
free memory for it, :func:`check_env_cfg` refuses, before the simulator starts, a run whose settings (after flags
and overrides) would not fit.

The memory model is anchored to two runs of the default command on one H200 (docs/experiments/2026-11-26-gpu-h200.md:
4,096 envs, 224 px camera, TimeSformer-base in bf16 with random weights). With encoder chunks of 1,024, nvidia-smi
peaked at 94.1 GiB (torch: 5.9 GiB allocated between encoder passes, 72.6 at the peak, 86.4 reserved); with 1,427,
at 136.9 GiB of 140.4 (torch: 96.9 allocated, 129.3 reserved): the caching allocator's reserve grows faster than the
clips. The model counts a clip at the peak's growth between the two runs, 108.8 MiB, and a base of 14.7 GiB (the
first run's peak less 79.4 MiB a clip, what torch reserved for each there), so that it overestimates both runs
(123.5 and 166.3 GiB): a chunk it allows leaves room. Other camera and clip sizes are scaled from there by the
buffers' shapes (``clip_activation_bytes`` for the encoder); a card of another size is extrapolated, not measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import torch

from .reward_cfg import NilRewardCfg
from .video_encoder import clip_activation_bytes

GIB = 2**30
ENV_CHOICES = (4096, 2048, 1024, 512, 256, 128)  # the most envs that fit, from the top
SAFETY = 0.9  # of the free memory: fragmentation and what the estimates miss
MIN_CHUNK = 16  # fewer clips per encoder pass than this: the pass is launch-bound, take fewer envs instead

# The measurement (see the module's docstring) and the shape it was made at.
MEASURED_ENVS, MEASURED_CAMERA_PX, MEASURED_CLIP_FRAMES = 4096, 224, 8
MEASURED_BASE_BYTES = int(14.7 * GIB)  # the peak less the encoder pass's share
MEASURED_CLIP_BYTES = int(108.8 * 2**20)  # per clip in an encoder pass, the peak's growth from 1,024 to 1,427
# What does not grow with the envs (CUDA context, the encoder's weights, the update's peak): an allowance inside the
# measured base; the rest of the base is per env.
FIXED_BYTES = 2 * GIB
# TimeSformer-base (the default encoder) in bf16: its shape for clip_activation_bytes.
ENCODER_SHAPE = {"hidden_size": 768, "intermediate_size": 3072, "patch_size": 16}
_DEFAULT_REWARD = NilRewardCfg()
DEFAULT_HISTORY_FRAMES = (_DEFAULT_REWARD.clip_len - 1) * _DEFAULT_REWARD.stride + 1
"""Frames each env keeps for the video term's clips with the default reward (clip_len frames, stride apart)."""


@dataclass(frozen=True)
class GpuSizes:
    """What the ``gpu`` preset runs with, and the estimate it was chosen by."""

    num_envs: int
    camera_px: int
    chunk_size: int | None  # clips per encoder pass; None when the video term is off
    video_every_k: int
    need_bytes: int
    free_bytes: int
    encoder_px: int = 224
    history_frames: int = DEFAULT_HISTORY_FRAMES
    clip_frames: int = 8

    @property
    def fits(self) -> bool:
        return self.need_bytes <= SAFETY * self.free_bytes

    @property
    def card(self) -> str:
        gib = self.free_bytes / GIB
        return ("141 GB class" if gib >= 100 else "80 GB class" if gib >= 60 else "24 GB class" if gib >= 16
                else "small")

    def line(self, device: str = "the GPU") -> str:
        chunk = f"encoder chunk {self.chunk_size}" if self.chunk_size else "video term off"
        return (f"[INFO] gpu preset on {device} ({self.free_bytes / GIB:.0f} GiB free, {self.card}): {self.num_envs} "
                f"envs, {self.camera_px} px, {chunk}, video every {self.video_every_k} step(s); ~{self.need_bytes / GIB:.0f}"
                " GiB by estimate (change: --num_envs, env.imitation.reward.chunk_size, "
                "env.imitation.reward.video_every_k, env.imitation.camera.width/height)")


def _clip_model(encoder_px: int, clip_frames: int) -> int:
    return clip_activation_bytes(SimpleNamespace(**ENCODER_SHAPE), encoder_px, clip_frames, torch.bfloat16)


def clip_bytes(encoder_px: int, clip_frames: int) -> int:
    """One clip's share of an encoder pass (TimeSformer-base, bf16): the measured 108.8 MiB at 224 px and 8
    frames, scaled to other sizes by the activations' shapes."""
    scale = _clip_model(encoder_px, clip_frames) / _clip_model(MEASURED_CAMERA_PX, MEASURED_CLIP_FRAMES)
    return int(MEASURED_CLIP_BYTES * scale)


def _env_model(camera_px: int, encoder_px: int, history_frames: int, clip_frames: int, video: bool) -> int:
    # camera outputs (colour, depth, segmentation and the renderer's float buffer: 48 B a pixel), physics (a fixed
    # share), and with the video term the frame history and the gathered clip (uint8)
    frames = (history_frames + clip_frames) * 3 * encoder_px**2 if video else 0
    return 2**20 + 48 * camera_px**2 + frames


def env_bytes(camera_px: int, encoder_px: int, history_frames: int, clip_frames: int, video: bool) -> int:
    """One env's memory: the measured base less the fixed allowance, per env, scaled to this camera and clip."""
    measured = (MEASURED_BASE_BYTES - FIXED_BYTES) / MEASURED_ENVS
    reference = _env_model(MEASURED_CAMERA_PX, MEASURED_CAMERA_PX, DEFAULT_HISTORY_FRAMES, MEASURED_CLIP_FRAMES, True)
    return int(measured * _env_model(camera_px, encoder_px, history_frames, clip_frames, video) / reference)


def size_gpu_run(free_bytes: int, num_envs: int | None = None, camera_px: int = 224, encoder_px: int = 224,
                 history_frames: int = DEFAULT_HISTORY_FRAMES, clip_frames: int = 8, video: bool = True,
                 chunk_size: int | None = None, video_every_k: int = 1) -> GpuSizes:
    """The most envs of :data:`ENV_CHOICES` (or ``num_envs``, as given) and the largest encoder chunk (or
    ``chunk_size``) that fit in :data:`SAFETY` of ``free_bytes``. ``video_every_k``: 1, the paper's (S_video every
    control step), until a measured cost per step says otherwise. A run that does not fit comes back with
    ``fits`` False and the smallest choice, for :func:`misfit_line` to say."""
    per_env = env_bytes(camera_px, encoder_px, history_frames, clip_frames, video)
    per_clip = clip_bytes(encoder_px, clip_frames)
    budget = int(SAFETY * free_bytes) - FIXED_BYTES

    def sized(n: int) -> GpuSizes:
        chunk = None
        if video:
            chunk = chunk_size or max(1, min(n, (budget - n * per_env) // per_clip))
        need = FIXED_BYTES + n * per_env + (chunk or 0) * per_clip
        return GpuSizes(n, camera_px, chunk, video_every_k, need, free_bytes, encoder_px, history_frames, clip_frames)

    if num_envs is not None:
        return sized(num_envs)
    for n in ENV_CHOICES:
        sizes = sized(n)
        if sizes.fits and (not video or chunk_size or sizes.chunk_size >= min(MIN_CHUNK, n)):
            return sizes
    return sized(ENV_CHOICES[-1])


def misfit_line(sizes: GpuSizes, device: str) -> str:
    """One line: what does not fit and the setting to change (sized with the run's own clip and camera)."""
    fewer = size_gpu_run(sizes.free_bytes, camera_px=sizes.camera_px, encoder_px=sizes.encoder_px,
                         history_frames=sizes.history_frames, clip_frames=sizes.clip_frames,
                         video=sizes.chunk_size is not None, video_every_k=sizes.video_every_k)
    if fewer.fits and fewer.num_envs < sizes.num_envs:
        hint = f"--num_envs {fewer.num_envs}, or lower env.imitation.reward.chunk_size"
    elif fewer.fits:  # the envs fit: the chunk given is what does not
        hint = f"env.imitation.reward.chunk_size={fewer.chunk_size} (or none: sized to the card)"
    else:
        hint = "env.imitation.reward.ablation=no_video or a smaller camera"
    return (f"{sizes.num_envs} envs at {sizes.camera_px} px with encoder chunks of {sizes.chunk_size} need "
            f"~{sizes.need_bytes / GIB:.0f} GiB by estimate, {device} has {sizes.free_bytes / GIB:.0f} GiB free: "
            f"use {hint}")


def free_bytes(device: str | torch.device) -> int | None:
    """Free memory of a CUDA device (None: not a CUDA device, or none present)."""
    device = torch.device(device)
    if device.type != "cuda" or not torch.cuda.is_available():
        return None
    return torch.cuda.mem_get_info(device)[0]


def gpu_sizes(device: str, num_envs: int | None = None) -> GpuSizes:
    """The preset's sizes for ``device``; without a CUDA device (a config built on a CPU machine), those of an
    80 GB card, said in no line."""
    free = free_bytes(device)
    sizes = size_gpu_run(free if free is not None else 80 * GIB, num_envs=num_envs)
    if free is not None:
        print(sizes.line(device), flush=True)
    return sizes


def check_env_cfg(env_cfg, device: str) -> None:
    """Refuse (``ConfigError``, said in one line) a NIL env on ``device`` whose settings would not fit."""
    from ..errors import ConfigError
    from .reward_cfg import ABLATIONS

    free = free_bytes(device)
    imitation = getattr(env_cfg, "imitation", None)
    if free is None or imitation is None:
        return
    reward, camera = imitation.reward, imitation.camera
    video = reward.use_video and (reward.ablation is None or ABLATIONS[reward.ablation][0])
    encoder_px = reward.image_size or 224
    sizes = size_gpu_run(free, num_envs=env_cfg.scene.num_envs, camera_px=max(camera.width, camera.height),
                         encoder_px=encoder_px, history_frames=(reward.clip_len - 1) * reward.stride + 1,
                         clip_frames=reward.clip_len, video=video, chunk_size=reward.chunk_size,
                         video_every_k=reward.video_every_k)
    if not sizes.fits:
        raise ConfigError(misfit_line(sizes, str(device)))

