"""PD joint-position targets through a first-order low-pass filter, optionally spanning each joint's whole range.

At 100 Hz, white exploration noise on the targets makes the feet vibrate, and a policy learns to ride that
vibration forward: its samples walk while its mean (the exported policy) barely moves. Filtering the targets
takes that propulsion away (measured on A1: samples and mean then score alike), so a gait has to live in the
mean. Off by default: at 30 CPU minutes no gait appeared either way (README, "What a CPU gives").

``to_limits``: an action of +-1 reaches the joint's upper / lower limit from the start pose (0 stays the start
pose). Why: the walk's small actions (0.25 rad around the start pose) cannot raise an arm above the head (H1's
shoulders need ~2.8 rad to reach a bar) or lift a foot onto a board; a larger uniform scale would throw a standing
robot around at every exploring step. Isaac Lab's JointPositionToLimitsAction maps 0 to the middle of the range,
which is not the start pose. The whole-body skills that need the range take it (HangBar, BalanceBoard).
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
        if cfg.to_limits:  # per joint and sign: how far the start pose is from each limit
            limits = self._asset.data.joint_pos_limits.torch[:, self._joint_ids]
            self._up = (limits[..., 1] - self._offset).clamp_min(0.0)
            self._down = (self._offset - limits[..., 0]).clamp_min(0.0)
        self._rest = torch.zeros_like(self._raw_actions) + self._offset  # the targets of a zero action
        self._target = self._rest.clone()

    def process_actions(self, actions: torch.Tensor) -> None:
        if self.cfg.to_limits:
            self._raw_actions[:] = actions
            a = actions.clamp(-1.0, 1.0)
            self._processed_actions = self._offset + torch.where(a > 0, a * self._up, a * self._down)
        else:
            super().process_actions(actions)  # offset + scale * action, clipped
        self._target.lerp_(self._processed_actions, self.cfg.low_pass_alpha)
        self._processed_actions = self._target

    def actions_for(self, joint_pos: torch.Tensor) -> torch.Tensor:
        """The (unfiltered) action that commands these PD targets (N, joints of the term): for tests and scripts."""
        delta = joint_pos - self._offset
        if self.cfg.to_limits:
            return torch.where(delta > 0, delta / self._up.clamp_min(1e-6), delta / self._down.clamp_min(1e-6))
        return delta / self._scale

    def reachable(self, joint_pos: torch.Tensor) -> torch.Tensor:
        """The PD targets nearest ``joint_pos`` (..., joints of the term) that actions in [-1, 1] command: what a
        policy can at best ask of these joints (the reward probe's ``within_actions``)."""
        first = lambda x: x[0] if torch.is_tensor(x) else torch.tensor(x, device=joint_pos.device)  # noqa: E731
        offset = first(self._offset)
        if self.cfg.to_limits:
            low, high = offset - self._down[0], offset + self._up[0]
        else:
            reach = first(self._scale).abs()
            low, high = offset - reach, offset + reach
        return torch.minimum(torch.maximum(joint_pos, low), high)

    def reset(self, env_ids: Sequence[int] | None = None) -> None:
        super().reset(env_ids)
        ids = slice(None) if env_ids is None else env_ids
        self._target[ids] = self._rest[ids]


@configclass
class LowPassJointPositionActionCfg(JointPositionActionCfg):
    class_type: type = LowPassJointPositionAction
    low_pass_alpha: float = 1.0
    """Fraction of the way to the commanded target per control step (1: no filter; 0.3 at 100 Hz: cutoff ~6 Hz)."""
    to_limits: bool = False
    """Actions of +-1 reach each joint's limits from the start pose (``scale`` is then unused); see the module."""
