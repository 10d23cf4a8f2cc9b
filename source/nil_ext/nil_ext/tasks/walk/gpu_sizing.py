"""The ``gpu`` preset sized to the card: envs, camera, encoder chunk and ``video_every_k`` from the free memory.

:func:`size_gpu_run` is a pure function of the free bytes and the settings; :func:`gpu_sizes` reads the device's
free memory for it, :func:`check_env_cfg` refuses, before the simulator starts, a run whose settings (after flags
and overrides) would not fit.

The memory model is an estimate, **not measured on a GPU**: the per-env and fixed costs below are counted from the
buffers' shapes (camera outputs, clip buffer, the video encoder's activations: ``clip_activation_bytes``) plus an
assumed allowance for the physics; the one GPU measurement the model has is issue 44's (H200: 4,096 envs at 224 px
without the video term ran; with it, every env's clip in one eager batch ran out of memory). Replace the constants
with measured ones when a run on a card gives them.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import torch

from ...rewards.video_encoder import clip_activation_bytes

GIB = 2**30
ENV_CHOICES = (4096, 2048, 1024, 512, 256, 128)  # the most envs that fit, from the top
SAFETY = 0.9  # of the free memory: fragmentation and what the estimates miss
MIN_CHUNK = 16  # fewer clips per encoder pass than this: the pass is launch-bound, take fewer envs instead

# Per env, assumed, not measured: MuJoCo-Warp's per-world state, contact and constraint arrays for a humanoid.
PHYSICS_BYTES_PER_ENV = 4 * 2**20
# Per camera pixel and env: the Warp renderer's RGBA8, depth and two segmentation outputs (16 B) and its float
# colour buffer (16 B), counted; the reward's float copy of the frame and its mask (16 B), counted.
RENDER_BYTES_PER_PIXEL = 48
# Whatever does not grow with the envs: CUDA context, the encoder's bf16 weights, the replay buffer (4,096 x 256
# transitions) and the update's peak at batch 32,768 with 1,024-wide critics. An allowance, not measured.
FIXED_BYTES = 6 * GIB
# TimeSformer-base (the default encoder) in bf16: its shape for clip_activation_bytes.
ENCODER_SHAPE = {"hidden_size": 768, "intermediate_size": 3072, "patch_size": 16}


@dataclass(frozen=True)
class GpuSizes:
    """What the ``gpu`` preset runs with, and the estimate it was chosen by."""

    num_envs: int
    camera_px: int
    chunk_size: int | None  # clips per encoder pass; None when the video term is off
    video_every_k: int
    need_bytes: int
    free_bytes: int

    @property
    def fits(self) -> bool:
        return self.need_bytes <= SAFETY * self.free_bytes

    @property
    def card(self) -> str:
        return "80 GB class" if self.free_bytes >= 60 * GIB else "24 GB class" if self.free_bytes >= 16 * GIB else "small"

    def line(self, device: str = "the GPU") -> str:
        chunk = f"encoder chunk {self.chunk_size}" if self.chunk_size else "video term off"
        return (f"[INFO] gpu preset on {device} ({self.free_bytes / GIB:.0f} GiB free, {self.card}): {self.num_envs} "
                f"envs, {self.camera_px} px, {chunk}, video every {self.video_every_k} step(s); ~{self.need_bytes / GIB:.0f}"
                " GiB by estimate (change: --num_envs, env.imitation.reward.chunk_size, "
                "env.imitation.reward.video_every_k, env.imitation.camera.width/height)")


def clip_bytes(encoder_px: int, clip_frames: int) -> int:
    """One clip's peak in the encoder's forward pass (TimeSformer-base, bf16)."""
    return clip_activation_bytes(SimpleNamespace(**ENCODER_SHAPE), encoder_px, clip_frames, torch.bfloat16)


def env_bytes(camera_px: int, encoder_px: int, history_frames: int, clip_frames: int, video: bool) -> int:
    """One env's memory: physics, camera outputs, and with the video term its frame history and gathered clip."""
    frames = (history_frames + clip_frames) * 3 * encoder_px**2 if video else 0
    return PHYSICS_BYTES_PER_ENV + RENDER_BYTES_PER_PIXEL * camera_px**2 + frames


def size_gpu_run(free_bytes: int, num_envs: int | None = None, camera_px: int = 224, encoder_px: int = 224,
                 history_frames: int = 8, clip_frames: int = 8, video: bool = True, chunk_size: int | None = None,
                 video_every_k: int = 1) -> GpuSizes:
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
        return GpuSizes(n, camera_px, chunk, video_every_k, need, free_bytes)

    if num_envs is not None:
        return sized(num_envs)
    for n in ENV_CHOICES:
        sizes = sized(n)
        if sizes.fits and (not video or chunk_size or sizes.chunk_size >= min(MIN_CHUNK, n)):
            return sizes
    return sized(ENV_CHOICES[-1])


def misfit_line(sizes: GpuSizes, device: str) -> str:
    """One line: what does not fit and the setting to change."""
    fewer = size_gpu_run(sizes.free_bytes, camera_px=sizes.camera_px, video=sizes.chunk_size is not None,
                         video_every_k=sizes.video_every_k)
    hint = (f"--num_envs {fewer.num_envs}" if fewer.fits
            else "env.imitation.reward.ablation=no_video or a smaller camera")
    return (f"{sizes.num_envs} envs at {sizes.camera_px} px with encoder chunks of {sizes.chunk_size} need "
            f"~{sizes.need_bytes / GIB:.0f} GiB by estimate, {device} has {sizes.free_bytes / GIB:.0f} GiB free: "
            f"use {hint}, or lower env.imitation.reward.chunk_size")


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
    from ...errors import ConfigError
    from ...rewards.reward_cfg import ABLATIONS

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

