"""The Stage 2 imitation reward R_t = zeta * S_video + beta * S_iou + sum_k eta_k * P_k, batched over envs.

`NilReward` scores the streams (S_video, S_iou, each penalty P_k, and S_silhouette, ours and weighted 0 in the
tasks by default); the weights are the caller's (in the tasks, the reward terms' weights, see
`tasks/mdp/imitation.py`), applied by `weigh`.

Time convention: `t[i]` is the reference frame that env i's next frame is compared with. `reset`
sets it to 0 and every `step` compares, then advances it. So the frame rendered after the first
action is compared with reference frame 0 (the start pose the reference was generated from):
one control step of lag, in exchange for clips of a replayed reference matching exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

from .clip_buffer import ClipBuffer, clip_offsets, fill_envs
from .penalties import PENALTY_NAMES, PenaltyCfg, PenaltyInputs, compute_penalties
from .similarity import mask_iou, resize_mask, silhouette_closeness, video_similarity
from .video_encoder import DEFAULT_ENCODER_ID, VideoEncoder

# The paper's ablation rows (H1): which of (video, iou, penalties) stay on.
ABLATIONS: dict[str, tuple[bool, bool, bool]] = {
    "full": (True, True, True),
    "no_reg": (True, True, False),
    "no_iou": (True, False, True),
    "no_video": (False, True, True),
    "only_reg": (False, False, True),
    "only_iou": (False, True, False),
    "only_video": (True, False, False),
}


@dataclass
class NilRewardCfg:
    ablation: str | None = None  # one of ABLATIONS; when set it overrides the three switches below
    use_video: bool = True
    use_iou: bool = True
    use_penalties: bool = True
    penalties: PenaltyCfg = field(default_factory=PenaltyCfg)
    encoder_id: str = DEFAULT_ENCODER_ID
    image_size: int | None = None  # encoder input side; None: the checkpoint's own (224 for TimeSformer)
    encoder_dtype: str = "auto"  # bf16 on CUDA, fp32 on CPU
    compile_encoder: bool = False
    background: tuple[int, int, int] = (0, 0, 0)  # colour outside the mask, for agent and reference alike
    clip_len: int = 8
    # Steps between a clip's frames. None: round(control_fps / source_fps), so that the 8 frames of
    # a clip span 8 frames of the generated video, as the encoder saw clips in training, even
    # though the reference was interpolated up to the control rate.
    clip_stride: int | None = None
    control_fps: float = 50.0
    source_fps: float = 24.0  # frame rate of the generated video before interpolation
    video_every_k: int = 1  # run the encoder every k steps and hold S_video in between
    # Clips per encoder forward pass. None: on CUDA sized from the free memory at each call, on a CPU all envs
    # at once. Any value gives the same embeddings; it only bounds the encoder's memory.
    chunk_size: int | None = None
    loop: bool = False  # at the reference's end: False -> done_mask() turns true; True -> start over
    silhouette_sigma: float = 0.25  # S_silhouette reads e^-1/2 (0.61) at this centroid distance, in robot heights

    def __post_init__(self):
        if self.ablation is not None:
            if self.ablation not in ABLATIONS:
                raise ValueError(f"ablation {self.ablation!r} not in {list(ABLATIONS)}")
            self.use_video, self.use_iou, self.use_penalties = ABLATIONS[self.ablation]

    @property
    def stride(self) -> int:
        if self.clip_stride is not None:
            return self.clip_stride
        return max(1, round(self.control_fps / self.source_fps))


def embedding_cache_key(encoder_id: str, height: int, width: int, clip_len: int, stride: int) -> str:
    """Key under which a reference bundle caches its clip embeddings."""
    return f"{encoder_id}@{height}x{width}/clip{clip_len}/stride{stride}"


# Streams weighed one by one ("weighted/<name>"); the penalties are weighed each and summed ("weighted/penalty").
# "alive" (1 while the episode has not failed) is the env's to add: NilReward does not know terminations.
STREAMS = ("video", "iou", "silhouette", "alive")


def weigh(raw: dict[str, torch.Tensor], weights: Mapping[str, float]) -> dict[str, torch.Tensor]:
    """The weighted streams of `NilReward.step`'s raw terms: "weighted/<stream>" for each of STREAMS in ``raw``,
    "weighted/penalty" (the weighted penalties' sum) and "total" = R_t, their sum. ``weights``: by stream (STREAMS
    and each name of PENALTY_NAMES); a stream left out weighs 0."""
    out = {f"weighted/{name}": weights.get(name, 0.0) * raw[f"raw/{name}"] for name in STREAMS if f"raw/{name}" in raw}
    out["weighted/penalty"] = sum(weights.get(name, 0.0) * raw[f"raw/{name}"] for name in PENALTY_NAMES)
    out["total"] = sum(out.values())
    return out


def reference_clip_embeddings(
    encoder: VideoEncoder,
    frames: torch.Tensor,
    masks: torch.Tensor,
    clip_len: int,
    stride: int,
    batch_size: int = 32,
) -> torch.Tensor:
    """(T,H,W,3) uint8 + (T,H,W) bool -> (T,D): embedding of the clip ending at every frame t.

    Frames before 0 are clamped to frame 0, as the agent's clips are clamped to its first frame.
    """
    prepared = encoder.prepare_frames(frames, masks)  # (T,3,S,S)
    t = torch.arange(len(frames), device=prepared.device)
    index = (t[:, None] - clip_offsets(clip_len, stride, prepared.device)[None]).clamp(min=0)
    return torch.cat([encoder.embed_prepared(prepared[chunk]) for chunk in index.split(batch_size)])


class NilReward:
    """The reward held by the env: call `step` once per control step, `reset` for envs that restart.

    Args:
        ref_frames: (T,H,W,3) uint8 reference video at the control rate.
        ref_masks: (T,H,W) bool masks of the agent in it.
        encoder: a VideoEncoder to share; None -> built from cfg (only if the video term is on).
        ref_embeddings: (T,D) cached clip embeddings (see `cache_key`); None -> computed here.
    """

    def __init__(
        self,
        cfg: NilRewardCfg,
        ref_frames: torch.Tensor,
        ref_masks: torch.Tensor,
        num_envs: int,
        device: str | torch.device,
        encoder: VideoEncoder | None = None,
        ref_embeddings: torch.Tensor | None = None,
    ):
        self.cfg = cfg
        self.num_envs = num_envs
        self.device = torch.device(device)
        self.ref_frames = torch.as_tensor(ref_frames).to(self.device, torch.uint8)
        self.ref_masks = torch.as_tensor(ref_masks).to(self.device, torch.bool)
        self.num_ref_frames = len(self.ref_frames)
        self.t = torch.zeros(num_envs, dtype=torch.long, device=self.device)
        self._step_count = 0

        self.encoder = None
        self.ref_embeddings = None
        if cfg.use_video:
            self.encoder = encoder or VideoEncoder(
                cfg.encoder_id,
                image_size=cfg.image_size,
                num_frames=cfg.clip_len,
                device=self.device,
                dtype=cfg.encoder_dtype,
                background=cfg.background,
                compile=cfg.compile_encoder,
                chunk_size=cfg.chunk_size,
            )
            if self.encoder.num_frames not in (None, cfg.clip_len):
                raise ValueError(f"encoder takes {self.encoder.num_frames}-frame clips, cfg.clip_len is {cfg.clip_len}")
            if ref_embeddings is None:
                ref_embeddings = reference_clip_embeddings(
                    self.encoder, self.ref_frames, self.ref_masks, cfg.clip_len, cfg.stride
                )
            expected = (self.num_ref_frames, self.encoder.embed_dim)
            if tuple(ref_embeddings.shape) != expected:
                raise ValueError(f"ref_embeddings {tuple(ref_embeddings.shape)} != {expected}: stale cache?")
            self.ref_embeddings = ref_embeddings.to(self.device, torch.float32)
            size = self.encoder.image_size
            self.buffer = ClipBuffer(num_envs, cfg.clip_len, cfg.stride, (3, size, size), self.device)
            self._video_held = torch.zeros(num_envs, device=self.device)

    @property
    def cache_key(self) -> str | None:
        """Key of `ref_embeddings` in the reference bundle; None when the video term is off."""
        if self.encoder is None:
            return None
        s = self.encoder.image_size
        return embedding_cache_key(self.encoder.model_id, s, s, self.cfg.clip_len, self.cfg.stride)

    def ref_index(self) -> torch.Tensor:
        """(N,) the reference frame each env's next agent frame is compared with."""
        return self.t % self.num_ref_frames if self.cfg.loop else self.t.clamp(max=self.num_ref_frames - 1)

    def step(
        self, agent_rgb: torch.Tensor, agent_mask: torch.Tensor, penalty_inputs: PenaltyInputs | None = None,
        silhouette: bool = True,
    ) -> dict[str, torch.Tensor]:
        """The streams' scores for this control step, then advance reference time.

        agent_rgb (N,H,W,3) uint8 and agent_mask (N,H,W) or (N,H,W,1) bool from the agent's camera.
        Returns (N,) tensors before weights (`weigh` applies them): "raw/video", "raw/iou", "raw/silhouette" and
        "raw/<penalty>". Streams switched off read 0, S_silhouette too with ``silhouette=False`` (the tasks pass
        whether it is weighted: not the paper's, so it costs nothing unless asked for).
        """
        cfg = self.cfg
        if agent_mask.dim() == 4:  # (N,H,W,1), as cameras return segmentation
            agent_mask = agent_mask[..., 0]
        idx = self.ref_index()
        zeros = torch.zeros(self.num_envs, device=self.device)

        s_video = zeros
        if cfg.use_video:
            self.buffer.push(self.encoder.prepare_frames(agent_rgb, agent_mask))
            if self._step_count % cfg.video_every_k == 0:
                emb = self.encoder.embed_prepared(self.buffer.clips(), cfg.chunk_size)
                self._video_held = video_similarity(emb, self.ref_embeddings[idx])
            s_video = self._video_held.clone()  # reset() zeroes the held values in place

        ref = self.ref_masks[idx]
        agent_mask = resize_mask(agent_mask.to(self.device), ref.shape[-2:])
        s_iou = mask_iou(agent_mask, ref) if cfg.use_iou else zeros
        s_silhouette = silhouette_closeness(agent_mask, ref, cfg.silhouette_sigma) if silhouette else zeros

        raw_pen = {name: zeros for name in PENALTY_NAMES}
        if cfg.use_penalties and penalty_inputs is not None:
            raw_pen = compute_penalties(penalty_inputs, cfg.penalties, self.num_envs, self.device)

        out = {"raw/video": s_video, "raw/iou": s_iou, "raw/silhouette": s_silhouette}
        out.update({f"raw/{name}": value for name, value in raw_pen.items()})

        self.t += 1
        self._step_count += 1
        return out

    def reset(self, env_ids: torch.Tensor | None = None) -> None:
        """Restart reference time and clip history for `env_ids` ((K,) long on the env's device; None: all).

        Other envs are untouched. With video_every_k > 1, a reset env's held S_video reads 0 until
        the encoder next runs.
        """
        fill_envs(self.t, env_ids, 0)
        if self.cfg.use_video:
            self.buffer.reset(env_ids)
            fill_envs(self._video_held, env_ids, 0.0)

    def done_mask(self) -> torch.Tensor:
        """(N,) bool: envs that have been compared with every reference frame (always False with loop).

        Isaac Lab computes terminations before rewards, so an env that reads done here has had one
        extra step, compared with the last frame again.
        """
        if self.cfg.loop:
            return torch.zeros_like(self.t, dtype=torch.bool)
        return self.t >= self.num_ref_frames
