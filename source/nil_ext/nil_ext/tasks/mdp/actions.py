"""PD joint-position targets through a first-order low-pass filter.

At 100 Hz, white exploration noise on the targets makes the feet vibrate, and a policy learns to ride that
vibration forward: its samples walk while its mean (the exported policy) barely moves. Filtering the targets
takes that propulsion away (measured on A1: samples and mean then score alike), so a gait has to live in the
mean. Off by default: at 30 CPU minutes no gait appeared either way (README, "What a CPU gives").
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from isaaclab.envs.mdp.actions.actions_cfg import JointPositionActionCfg
from isaaclab.envs.mdp.actions.joint_actions import JointPositionAction
from isaaclab.utils import configclass


class LowPassJointPositionAction(JointPositionAction):
    """``target <- target + alpha * (offset + scale * action - target)`` each control step; from the start pose
    after a reset."""

    cfg: LowPassJointPositionActionCfg

    def __init__(self, cfg: LowPassJointPositionActionCfg, env):
        super().__init__(cfg, env)
        self._rest = torch.zeros_like(self._raw_actions) + self._offset  # the targets of a zero action
        self._target = self._rest.clone()

    def process_actions(self, actions: torch.Tensor) -> None:
        super().process_actions(actions)  # offset + scale * action, clipped
        self._target.lerp_(self._processed_actions, self.cfg.low_pass_alpha)
        self._processed_actions = self._target

    def reset(self, env_ids: Sequence[int] | None = None) -> None:
        super().reset(env_ids)
        ids = slice(None) if env_ids is None else env_ids
        self._target[ids] = self._rest[ids]


@configclass
class LowPassJointPositionActionCfg(JointPositionActionCfg):
    class_type: type = LowPassJointPositionAction
    low_pass_alpha: float = 1.0
    """Fraction of the way to the commanded target per control step (1: no filter; 0.3 at 100 Hz: cutoff ~6 Hz)."""
