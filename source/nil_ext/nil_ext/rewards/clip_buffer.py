"""Per-env ring buffer of the agent's recent frames, from which the agent's video clips are read."""

from __future__ import annotations

import torch


def fill_envs(x: torch.Tensor, env_ids: torch.Tensor | None, value) -> None:
    """x[env_ids] = value along dim 0 (None: all). index_fill_ avoids the host sync of `x[ids] = scalar` on CUDA."""
    if env_ids is None:
        x.fill_(value)
    else:
        x.index_fill_(0, torch.as_tensor(env_ids, device=x.device), value)


def clip_offsets(clip_len: int, stride: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Steps back from the clip's last frame, oldest first: [(L-1)*s, ..., s, 0]."""
    return torch.arange(clip_len - 1, -1, -1, device=device) * stride


class ClipBuffer:
    """Holds the last `(clip_len - 1) * stride + 1` frames of every env on the env's device.

    All envs push together once per control step, so one write index serves them all. After
    `reset(env_ids)` an env's older slots still hold its previous episode; reads clamp to the
    first frame pushed since the reset instead. That is the same as filling the env's history
    with its first frame (and matches the reference clips, whose frames before 0 are clamped to
    frame 0), without copying a frame into every slot.

    Frames are stored as given (the reward stores (3,S,S) uint8 at the encoder's resolution).
    """

    def __init__(
        self, num_envs: int, clip_len: int, stride: int, frame_shape: tuple[int, ...], device, dtype=torch.uint8
    ):
        self.clip_len, self.stride = clip_len, stride
        self.length = (clip_len - 1) * stride + 1
        self.device = torch.device(device)
        self.frames = torch.zeros((num_envs, self.length, *frame_shape), dtype=dtype, device=self.device)
        self.count = torch.zeros(num_envs, dtype=torch.long, device=self.device)  # frames pushed since reset
        self.head = self.length - 1  # slot of the newest frame; a Python int, so no host sync
        self._offsets = clip_offsets(clip_len, stride, self.device)
        self._env_index = torch.arange(num_envs, device=self.device)[:, None]

    def push(self, frames: torch.Tensor) -> None:
        """Append one frame per env: frames (N, *frame_shape)."""
        self.head = (self.head + 1) % self.length
        self.frames[:, self.head] = frames
        self.count.add_(1).clamp_(max=self.length)

    def reset(self, env_ids: torch.Tensor | None = None) -> None:
        """Forget the history of `env_ids` (None: all envs); other envs are untouched."""
        fill_envs(self.count, env_ids, 0)

    def clips(self) -> torch.Tensor:
        """(N, clip_len, *frame_shape): frames t-(L-1)*s, ..., t-s, t, clamped to the first frame since reset.

        Call after at least one push since the env's reset.
        """
        back = torch.minimum(self._offsets[None], (self.count[:, None] - 1).clamp(min=0))
        return self.frames[self._env_index, (self.head - back) % self.length]
