"""MDP terms of the NIL tasks: Isaac Lab's own, plus the imitation command and the functions that read it."""

from isaaclab.envs.mdp import *  # noqa: F401, F403

from .actions import LowPassJointPositionAction, LowPassJointPositionActionCfg  # noqa: F401
from .commands import IMITATION, ImitationCommand, ImitationCommandCfg, imitation_term  # noqa: F401
from .curriculums import action_reach_curriculum, camera_speed_curriculum  # noqa: F401
from .grip import BarGripAction, BarGripActionCfg  # noqa: F401
from .observations import reference_gait_clock, reference_in_base_frame  # noqa: F401
from .rewards import (  # noqa: F401
    heading_errors,
    nil_action_rate,
    nil_air_time,
    nil_alive,
    nil_ang_vel,
    nil_foot_slip,
    nil_heading,
    nil_iou,
    nil_joint_torque,
    nil_motion_iou,
    nil_pace,
    nil_pose_iou,
    nil_shape,
    nil_silhouette,
    nil_soft_iou,
    nil_speed,
    nil_tilt,
    nil_transport,
    nil_video,
)
from .terminations import reference_finished  # noqa: F401
