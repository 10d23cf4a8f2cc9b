"""Observation terms that read the imitation command: where the reference's robot is, seen from the agent's base, and
where in its stride the reference is.

Why: the pace, heading and mask terms pay for the base's place and yaw against the reference's robot, but the
walk tasks' policy observed neither (joint state, gravity, body velocities and the phase do not tell how far behind
the reference it is, nor which way it faces): those rewards were not a function of what the policy and critic saw.
mjlab's tracking task observes its motion anchor in the robot's frame for the same reason. Everything here comes
from the reference camera's path (what an imagined video gives), never from the scripted demo's joints.
"""

from __future__ import annotations

import torch
from isaaclab.envs import ManagerBasedRLEnv

from ...rewards import gait_clock
from .rewards import base_yaw


def reference_in_base_frame(env: ManagerBasedRLEnv, command_name: str = "imitation") -> torch.Tensor:
    """(N, 4): the ground offset (m) from the base to where the reference's robot is at the frame the next render is
    compared with, in the base's yaw frame (forward, left), then cos and sin of the reference's direction of travel
    in that frame (1, 0: the base faces the way the reference goes). At the curriculum's camera speed, as the pace
    term and the camera replay it."""
    command = env.command_manager.get_term(command_name)
    command.require_camera_path("the reference observation")
    yaw = base_yaw(command.robot.data.root_quat_w.torch)
    cos, sin = torch.cos(yaw), torch.sin(yaw)
    gap = (command.reference_position_w(command.reference_index()) - command.robot.data.root_pos_w.torch)[:, :2]
    forward = cos * gap[:, 0] + sin * gap[:, 1]
    left = -sin * gap[:, 0] + cos * gap[:, 1]
    heading = command.travel_yaw - yaw
    return torch.stack([forward, left, torch.cos(heading), torch.sin(heading)], dim=-1)


def reference_gait_clock(env: ManagerBasedRLEnv, command_name: str = "imitation") -> torch.Tensor:
    """(N, 4): cos and sin of where the reference is in its stride at the frame the next render is compared with,
    at the period its silhouette repeats and at twice it (:func:`nil_ext.rewards.gait_clock`). The period is read
    from the reference's masks once: a clock that any imagined walk gives, where the phase (progress through the
    whole reference) leaves the policy to learn each stride's timing anew."""
    command = env.command_manager.get_term(command_name)
    return gait_clock(command.reference_index(), command.gait_period().frames)
