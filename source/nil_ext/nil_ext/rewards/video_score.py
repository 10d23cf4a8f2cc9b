"""S_video per env over time: the agent's clip history, the reference's clip embeddings and the encoder's last
score, held between encoder runs (``video_every_k``). Pure torch; the tasks' video reward term owns one.

A clip ends at the step's frame and reaches back ``clip_len`` frames ``stride`` steps apart; frames before the
episode's first are its first (so a replayed reference matches its own clips exactly).
"""

from __future__ import annotations

import torch

from .clip_buffer import ClipBuffer, clip_offsets, fill_envs
from .similarity import video_similarity
from .video_encoder import VideoEncoder


def embedding_cache_key(encoder_id: str, height: int, width: int, clip_len: int, stride: int) -> str:
    """Key under which a reference bundle caches its clip embeddings."""
    return f"{encoder_id}@{height}x{width}/clip{clip_len}/stride{stride}"


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


class ClipSimilarity:
    """S_video of N envs: call it once per control step with the agent's frame, ``reset`` envs that restart.

    Args:
        encoder: the video encoder (TimeSformer, or a tiny one in tests).
        ref_embeddings: (T, D) the reference's clip embeddings (``reference_clip_embeddings``).
        every_k: run the encoder every k calls and hold the score in between.
        chunk_size: clips per encoder pass (None: the encoder's own choice); the scores do not depend on it.
    """

    def __init__(self, encoder: VideoEncoder, ref_embeddings: torch.Tensor, num_envs: int, clip_len: int,
                 stride: int, every_k: int = 1, chunk_size: int | None = None):
        if encoder.num_frames not in (None, clip_len):
            raise ValueError(f"encoder takes {encoder.num_frames}-frame clips, clip_len is {clip_len}")
        expected = (len(ref_embeddings), encoder.embed_dim)
        if tuple(ref_embeddings.shape) != expected:
            raise ValueError(f"ref_embeddings {tuple(ref_embeddings.shape)} != {expected}: stale cache?")
        self.encoder = encoder
        self.device = torch.device(encoder.device)
        self.ref_embeddings = ref_embeddings.to(self.device, torch.float32)
        size = encoder.image_size
        self.buffer = ClipBuffer(num_envs, clip_len, stride, (3, size, size), self.device)
        self.every_k = every_k
        self.chunk_size = chunk_size
        self.held = torch.zeros(num_envs, device=self.device)
        self._calls = 0

    def __call__(self, agent_rgb: torch.Tensor, agent_mask: torch.Tensor, frame_index: torch.Tensor) -> torch.Tensor:
        """(N,) S_video of the clips ending at this frame: agent_rgb (N,H,W,3) uint8, agent_mask (N,H,W) bool, and
        frame_index (N,) the reference frame each env is compared with."""
        self.buffer.push(self.encoder.prepare_frames(agent_rgb, agent_mask))
        if self._calls % self.every_k == 0:
            emb = self.encoder.embed_prepared(self.buffer.clips(), self.chunk_size)
            self.held = video_similarity(emb, self.ref_embeddings[frame_index])
        self._calls += 1
        return self.held.clone()  # reset() zeroes the held values in place

    def reset(self, env_ids: torch.Tensor | None = None) -> None:
        """Restart the clip history of ``env_ids`` (None: all); with every_k > 1 their score reads 0 until the
        encoder next runs."""
        self.buffer.reset(env_ids)
        fill_envs(self.held, env_ids, 0.0)
