"""The settings of the Stage 2 imitation reward R_t = zeta * S_video + beta * S_iou + sum_k eta_k * P_k.

The weights are the tasks' reward terms' (``tasks/mdp/rewards.py``); these are the rest: which of the paper's
streams are on (its ablation rows), the video encoder and its clips, the penalties' scales.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .penalties import PenaltyCfg
from .video_encoder import DEFAULT_ENCODER_ID

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
    loop: bool = False  # at the reference's end: False -> the episode ends (a time-out); True -> start over
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
