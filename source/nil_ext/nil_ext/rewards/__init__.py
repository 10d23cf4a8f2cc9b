"""Stage 2 imitation reward: video similarity, mask IoU and penalties as batched torch code.

Imports neither the simulator nor nil_ext.tasks / nil_ext.agents; the tasks wrap `NilReward`.
"""

from .benchmark import benchmark_reward
from .clip_buffer import ClipBuffer
from .nil_reward import (
    ABLATIONS,
    STREAMS,
    NilReward,
    NilRewardCfg,
    embedding_cache_key,
    reference_clip_embeddings,
    weigh,
)
from .penalties import (
    PENALTY_NAMES,
    PenaltyCfg,
    PenaltyInputs,
    action_rate_penalty,
    ang_vel_penalty,
    compute_penalties,
    foot_slip_penalty,
    joint_torque_penalty,
    tilt_penalty,
)
from .similarity import mask_iou, pose_iou, silhouette_closeness, video_similarity
from .video_encoder import DEFAULT_ENCODER_ID, EncoderUnavailableError, VideoEncoder

__all__ = [
    "ABLATIONS",
    "DEFAULT_ENCODER_ID",
    "PENALTY_NAMES",
    "STREAMS",
    "ClipBuffer",
    "EncoderUnavailableError",
    "NilReward",
    "NilRewardCfg",
    "PenaltyCfg",
    "PenaltyInputs",
    "VideoEncoder",
    "action_rate_penalty",
    "ang_vel_penalty",
    "benchmark_reward",
    "compute_penalties",
    "embedding_cache_key",
    "foot_slip_penalty",
    "joint_torque_penalty",
    "mask_iou",
    "pose_iou",
    "reference_clip_embeddings",
    "silhouette_closeness",
    "tilt_penalty",
    "video_similarity",
    "weigh",
]
