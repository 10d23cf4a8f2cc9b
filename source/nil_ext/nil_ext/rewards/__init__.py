"""Stage 2 imitation reward maths: video similarity, mask IoU and penalties as batched torch code.

Imports neither the simulator nor nil_ext.tasks / nil_ext.agents; the tasks' reward terms call it.
"""

from .benchmark import benchmark_reward
from .clip_buffer import ClipBuffer
from .gait import GaitPeriod, foot_mode_time, gait_clock, gait_period, single_stance_time
from .penalties import (
    PenaltyCfg,
    action_rate_penalty,
    ang_vel_penalty,
    foot_slip_penalty,
    joint_torque_penalty,
    tilt_penalty,
)
from .reward_cfg import ABLATIONS, NilRewardCfg
from .similarity import (
    band_spreads,
    marginal_transport,
    mask_iou,
    motion_iou,
    pose_iou,
    shape_closeness,
    silhouette_closeness,
    soft_mask_iou,
    transport_closeness,
    video_similarity,
)
from .video_encoder import DEFAULT_ENCODER_ID, EncoderUnavailableError, VideoEncoder
from .video_score import ClipSimilarity, embedding_cache_key, reference_clip_embeddings

__all__ = [
    "ABLATIONS",
    "DEFAULT_ENCODER_ID",
    "ClipBuffer",
    "ClipSimilarity",
    "EncoderUnavailableError",
    "GaitPeriod",
    "NilRewardCfg",
    "PenaltyCfg",
    "VideoEncoder",
    "action_rate_penalty",
    "ang_vel_penalty",
    "band_spreads",
    "benchmark_reward",
    "embedding_cache_key",
    "foot_mode_time",
    "foot_slip_penalty",
    "gait_clock",
    "gait_period",
    "joint_torque_penalty",
    "marginal_transport",
    "mask_iou",
    "motion_iou",
    "pose_iou",
    "reference_clip_embeddings",
    "shape_closeness",
    "silhouette_closeness",
    "single_stance_time",
    "soft_mask_iou",
    "tilt_penalty",
    "transport_closeness",
    "video_similarity",
]
