"""MDP terms of the NIL tasks: Isaac Lab's own, plus the imitation reward wired to the camera."""

from isaaclab.envs.mdp import *  # noqa: F401, F403

from .actions import LowPassJointPositionAction, LowPassJointPositionActionCfg  # noqa: F401
from .imitation import (  # noqa: F401
    ImitationCfg,
    ImitationReward,
    camera_speed_curriculum,
    imitation_term,
    nil_alive,
    nil_iou,
    nil_penalty,
    nil_silhouette,
    nil_video,
    reference_finished,
    reference_phase,
)
