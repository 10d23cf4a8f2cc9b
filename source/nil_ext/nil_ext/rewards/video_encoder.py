"""Frozen video encoder for the S_video term: masked uint8 clips in, one embedding per clip out.

Preprocessing is plain torch (no torchvision, no PIL) so it runs batched on the env's device:
mask -> background colour, centre crop to a square, resize (bilinear, antialiased), normalise
with the checkpoint's own mean/std.

Memory: the encoder runs over the clips in chunks (`chunk_size`, or sized from the free CUDA memory) with PyTorch's
fused attention, so thousands of envs' clips never sit in one batch and no (clips x frames x heads x tokens x
tokens) score tensor is ever held.
"""

from __future__ import annotations

import json
import os
import warnings

import torch
import torch.nn.functional as F

from .fused_attention import use_fused_attention

DEFAULT_ENCODER_ID = "facebook/timesformer-base-finetuned-k400"

# Used only when a checkpoint ships no preprocessor_config.json.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# Share of the free CUDA memory an automatically sized chunk may use: the rest is for the simulator's and the
# update's own peaks, which come and go between encoder calls.
AUTO_CHUNK_MEMORY_FRACTION = 0.5


class EncoderUnavailableError(OSError):
    """The encoder's weights are neither in the local Hugging Face cache nor downloadable."""


def _offline_from_env() -> bool:
    # huggingface_hub reads HF_HUB_OFFLINE once, at import; reading it here honours a later setting.
    return any(
        os.environ.get(k, "").upper() in ("1", "ON", "YES", "TRUE") for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def resolve_dtype(dtype: str | torch.dtype, device: torch.device) -> torch.dtype:
    """'auto' -> bf16 on CUDA, fp32 elsewhere (CPU half-precision matmuls are slow)."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]


def _load_mean_std(model_id: str, local_files_only: bool) -> tuple[tuple[float, ...], tuple[float, ...]]:
    from transformers.utils import cached_file

    path = cached_file(
        model_id,
        "preprocessor_config.json",
        local_files_only=local_files_only,
        _raise_exceptions_for_missing_entries=False,
        _raise_exceptions_for_connection_errors=False,
    )
    if path is not None:
        with open(path) as f:
            cfg = json.load(f)
        if "image_mean" in cfg and "image_std" in cfg:
            return tuple(cfg["image_mean"]), tuple(cfg["image_std"])
    warnings.warn(
        f"{model_id}: no image_mean/image_std in preprocessor_config.json; using the ImageNet constants.", stacklevel=2
    )
    return IMAGENET_MEAN, IMAGENET_STD


def clip_activation_bytes(config, image_size: int, num_frames: int, dtype: torch.dtype) -> int:
    """Peak bytes one clip's forward pass holds at once (inference: one layer's activations), an estimate.

    A TimeSformer layer holds, per token, its input and layernorm (2h), the fused qkv (3h), the attention context
    and the divided space-time reshuffles (~5h) and the MLP's hidden layer before and after its activation (2i);
    the input clip is converted to float32 once. Counted, not measured; fused attention adds no tokens^2 term.
    """
    patch = getattr(config, "patch_size", 16)
    patch = patch[0] if isinstance(patch, (list, tuple)) else patch
    tokens = num_frames * (image_size // patch) ** 2 + 1
    hidden = config.hidden_size
    inter = getattr(config, "intermediate_size", 4 * hidden)
    size = torch.finfo(dtype).bits // 8
    return tokens * (10 * hidden + 2 * inter) * size + num_frames * 3 * image_size**2 * (4 + size)


def chunk_for_memory(free_bytes: int, per_clip_bytes: int, batch: int,
                     fraction: float = AUTO_CHUNK_MEMORY_FRACTION) -> int:
    """Clips per forward pass that fit in ``fraction`` of ``free_bytes``: at least 1, at most ``batch``."""
    return max(1, min(batch, int(free_bytes * fraction) // max(per_clip_bytes, 1)))


def _free_cuda_bytes(device: torch.device) -> int:
    """Free device memory plus what PyTorch's allocator holds unused (it hands that out first)."""
    free, _ = torch.cuda.mem_get_info(device)
    return free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)


def _load_model(model_id: str, dtype: torch.dtype, local_files_only: bool, attention: str):
    """from_pretrained with the attention asked for; "sdpa" on a class that has no sdpa path of its own (TimeSformer,
    transformers 5.10) loads eager and patches its attention modules to PyTorch's fused kernel."""
    from transformers import AutoModel

    kwargs = {"dtype": dtype, "local_files_only": local_files_only}
    try:
        return AutoModel.from_pretrained(model_id, attn_implementation=attention, **kwargs), attention
    except ValueError as err:
        if attention != "sdpa" or "does not support" not in str(err):
            raise
    model = AutoModel.from_pretrained(model_id, attn_implementation="eager", **kwargs)
    if use_fused_attention(model):
        return model, "sdpa-patched"
    warnings.warn(f"{model_id}: no fused attention for {type(model).__name__}; using eager attention "
                  "(smaller chunk_size if memory runs out).", stacklevel=3)
    return model, "eager"


def prepare_frames(rgb: torch.Tensor, mask: torch.Tensor, size: int, background: torch.Tensor) -> torch.Tensor:
    """(N,H,W,3) uint8 + (N,H,W) bool -> (N,3,size,size) uint8: masked, centre-cropped, resized.

    The mask is applied at the camera's resolution (sharper edges), then the frame is resized.
    uint8 output keeps the clip buffer small; the rounding error is far below what the encoder resolves.
    """
    x = rgb.permute(0, 3, 1, 2).float()
    x = torch.where(mask[:, None].bool(), x, background.view(1, 3, 1, 1))
    h, w = x.shape[-2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    x = x[..., top : top + side, left : left + side]
    if side != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=side > size)
    return x.round_().clamp_(0, 255).to(torch.uint8)


class VideoEncoder:
    """A transformers video model used as a frozen feature extractor.

    Args:
        model_id: Hub id or a local directory saved with `save_pretrained`.
        image_size: input side in pixels; None -> the checkpoint's `config.image_size`. Other sizes
            divisible by the patch size work with TimeSformer (e.g. 112 for the 224 checkpoint: 4-5x
            cheaper); its position embeddings are then resized by nearest neighbour, which the
            pretrained weights never saw, so check what S_video still means at that size.
        num_frames: frames per clip; None -> the checkpoint's `config.num_frames` (8 for TimeSformer-K400).
        pooling: "cls" -> `last_hidden_state[:, 0]` (TimeSformer); "pooler" -> `pooler_output`.
        background: RGB colour (0-255) that replaces everything outside the mask.
        local_files_only: None -> follow HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE at call time.
        chunk_size: clips per forward pass; None -> on CUDA sized from the free memory at the first call
            (`chunk_for_memory`), elsewhere the whole batch. Chunks change the memory, not the embeddings.
        attention: "sdpa" (PyTorch's fused attention: the model's own, else `fused_attention`) or "eager".
    """

    def __init__(
        self,
        model_id: str = DEFAULT_ENCODER_ID,
        image_size: int | None = None,
        num_frames: int | None = None,
        device: str | torch.device = "cpu",
        dtype: str | torch.dtype = "auto",
        pooling: str = "cls",
        background: tuple[int, int, int] = (0, 0, 0),
        compile: bool = False,
        local_files_only: bool | None = None,
        chunk_size: int | None = None,
        attention: str = "sdpa",
    ):
        if chunk_size is not None and chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1 (None: sized from free memory); got {chunk_size}")
        self.model_id = str(model_id)
        self.device = torch.device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.pooling = pooling
        if local_files_only is None:
            local_files_only = _offline_from_env()
        try:
            model, self.attention = _load_model(self.model_id, self.dtype, local_files_only, attention)
        except OSError as err:
            raise EncoderUnavailableError(
                f"Video encoder '{self.model_id}' is not in the local Hugging Face cache and could not be downloaded "
                f"({err.__class__.__name__}). Fetch it once with internet access, e.g. "
                f"`huggingface-cli download {self.model_id}` (or `hf download {self.model_id}`), or any run of this "
                "code while online; on an offline machine point HF_HOME at a cache that holds it, or pass a local "
                "directory saved with `save_pretrained`."
            ) from err
        self.model = model.to(self.device).eval().requires_grad_(False)

        config = self.model.config
        self.image_size = int(image_size or config.image_size)
        patch = getattr(config, "patch_size", 1)
        patch = patch[0] if isinstance(patch, (list, tuple)) else patch
        if self.image_size % patch:
            raise ValueError(f"image_size {self.image_size} must be divisible by the patch size {patch}")
        self.num_frames = int(num_frames or getattr(config, "num_frames", 0)) or None
        # TimeSformer resizes its position and time embeddings to the input, but its layers reshape
        # tokens by config.image_size and config.num_frames: keep those in step with the input.
        if hasattr(config, "image_size"):
            config.image_size = self.image_size
        if self.num_frames and hasattr(config, "num_frames"):
            config.num_frames = self.num_frames
        self.embed_dim = config.hidden_size

        mean, std = _load_mean_std(self.model_id, local_files_only)
        std_t = torch.tensor(std, device=self.device)
        # uint8 -> (x / 255 - mean) / std folded into one multiply-add.
        self._scale = (1.0 / (255.0 * std_t)).view(1, 1, 3, 1, 1)
        self._shift = (-torch.tensor(mean, device=self.device) / std_t).view(1, 1, 3, 1, 1)
        self.background = torch.tensor(background, dtype=torch.float32, device=self.device)
        self._forward = torch.compile(self._forward_impl) if compile else self._forward_impl
        self.chunk_size = chunk_size
        self._chunk_said = False

    def auto_chunk_size(self, batch: int) -> int:
        """The chunk an unset `chunk_size` resolves to: on CUDA from the memory free now (the simulator and the
        replay buffer allocate after the reference is embedded, so it is not kept), elsewhere the whole batch."""
        if self.device.type != "cuda":
            return batch
        per_clip = clip_activation_bytes(self.model.config, self.image_size, self.num_frames or 8, self.dtype)
        free = _free_cuda_bytes(self.device)
        chunk = chunk_for_memory(free, per_clip, batch)
        if chunk < batch and not self._chunk_said:
            self._chunk_said = True
            print(f"[INFO] Video encoder: {batch} clips in chunks of {chunk} ({free / 2**30:.1f} GiB free, "
                  f"~{per_clip / 2**20:.0f} MiB per clip; env.imitation.reward.chunk_size sets it)", flush=True)
        return chunk

    def prepare_frames(self, rgb: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(N,H,W,3) uint8 + (N,H,W) bool -> (N,3,S,S) uint8 at the encoder's resolution."""
        return prepare_frames(rgb.to(self.device), mask.to(self.device), self.image_size, self.background)

    def _forward_impl(self, clips: torch.Tensor) -> torch.Tensor:
        x = (clips.float() * self._scale + self._shift).to(self.dtype)
        out = self.model(pixel_values=x)
        emb = out.last_hidden_state[:, 0] if self.pooling == "cls" else out.pooler_output
        return emb.float()

    @torch.inference_mode()
    def embed_prepared(self, clips: torch.Tensor, chunk_size: int | None = None) -> torch.Tensor:
        """(B,T,3,S,S) uint8 prepared clips -> (B,D) float32 embeddings, ``chunk_size`` (else the encoder's) clips
        per forward pass."""
        n = chunk_size or self.chunk_size or self.auto_chunk_size(len(clips))
        if n >= len(clips):
            return self._forward(clips)
        return torch.cat([self._forward(chunk) for chunk in clips.split(n)])

    @torch.inference_mode()
    def __call__(self, frames: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """(B,T,H,W,3) uint8 + (B,T,H,W) bool -> (B,D) float32 embeddings."""
        b, t = frames.shape[:2]
        prepared = self.prepare_frames(frames.flatten(0, 1), masks.flatten(0, 1))
        return self.embed_prepared(prepared.unflatten(0, (b, t)))
