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

``reach_from``: training widens the reach over time, each joint from ``min(scale, reach_from)`` to its ``scale``
(with ``to_limits``: from ``reach_from`` to each limit) over ``reach_steps`` control steps; play and evaluation act
at the full reach. Why: a policy that starts with the reach a skill needs (H1's hips and knees ~1.5 rad to sit) is
thrown around by its own exploration and falls for ~1M transitions; one that learned to stand with small actions
can grow into the larger ones. Off by default. With ``reach_waits`` the widening starts only once the episodes end
standing (the curriculum term ``action_reach_curriculum`` opens it), so that one default command first learns to
stand with small actions and then grows into the larger ones (widening from the first step, H1 fell before it stood).
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
        self._reach_step = 0
        self._widening = cfg.reach_from is not None
        self.waits = self._widening and cfg.reach_waits
        # the waiting reach on the device, so that neither the vote nor the widening syncs with the host:
        self.standing_vote = torch.zeros((), device=self.device)  # 1: the episodes stood, the widening started
        self.reach_level = torch.zeros((), device=self.device)  # 0..1 of the way
        if self._widening:
            if not cfg.to_limits:
                self._scale = torch.zeros_like(self._raw_actions) + self._scale  # a tensor the widening moves in place
            self._full = tuple(now.clone() for now in self._reach_tensors())
            self._start = tuple(full.sign() * full.abs().clamp(max=cfg.reach_from) for full in self._full)
            self._widen_reach()  # at level 0: the start reach
        if self.waits and not _has_reach_curriculum(env.cfg):
            raise ValueError("actions: reach_waits starts the widening reach when the curriculum term "
                             "mdp.action_reach_curriculum finds the episodes standing, and this env's curriculum "
                             "lacks it; add it, or set reach_waits=False (widen from the first step)")

    @property
    def reach(self) -> float:
        """How far the reach has widened, 0 (``reach_from``) to 1 (``scale``); 1 without ``reach_from``."""
        if not self._widening:
            return 1.0
        if self.waits:
            return float(self.reach_level)
        return min(1.0, self._reach_step / max(self.cfg.reach_steps, 1))

    def vote_standing(self, share: torch.Tensor) -> None:
        """Add the share of a round of episodes that ended standing (time-outs over num_envs); a round's worth
        starts the widening, which then goes on whatever the episodes do (the curriculum's vote)."""
        self.standing_vote.copy_(torch.where(self.standing_vote >= 1.0, 1.0, (self.standing_vote + share).clamp(0.0, 1.0)))

    def _reach_tensors(self) -> tuple[torch.Tensor, ...]:
        """What the widening moves: the scale, or with ``to_limits`` the distances to the limits."""
        return (self._up, self._down) if self.cfg.to_limits else (self._scale,)

    def _widen_reach(self) -> None:
        weight = self.reach_level if self.waits else self.reach  # the waiting reach's stays on the device
        for start, full, now in zip(self._start, self._full, self._reach_tensors(), strict=True):
            torch.lerp(start, full, weight, out=now)

    def process_actions(self, actions: torch.Tensor) -> None:
        if self.waits:
            self._reach_step += 1
            if self._reach_step % 20 == 0:  # 20 steps of the way once started, on the device
                self.reach_level.add_((self.standing_vote >= 1.0) * (20.0 / max(self.cfg.reach_steps, 1)))
                self.reach_level.clamp_(max=1.0)
                self._widen_reach()
        elif self._widening and self.reach < 1.0:
            self._reach_step += 1
            if self._reach_step % 20 == 0 or self.reach == 1.0:  # steps of 1 % of the way at the default reach_steps
                self._widen_reach()
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
        if self._widening and not self.waits:  # a TensorBoard scalar (the waiting reach's curriculum logs its own)
            self._env.extras.setdefault("log", {})["Curriculum/action_reach"] = self.reach

    def state_dict(self) -> dict:
        """Training state saved in checkpoints, so that a resumed run goes on widening where it stopped (none
        without ``reach_from``)."""
        if self.waits:
            return {"reach": self.reach, "standing_vote": float(self.standing_vote)}
        return {"reach_step": self._reach_step} if self._widening else {}

    def load_state_dict(self, state: dict) -> None:
        if "reach" in state:  # saved by a run whose reach waited for the episodes to stand
            self.reach_level.fill_(float(state["reach"]))
            self.standing_vote.fill_(float(state["standing_vote"]))
        else:
            self._reach_step = int(state["reach_step"])
        if self._widening:
            self._widen_reach()


def _has_reach_curriculum(env_cfg) -> bool:
    from .curriculums import action_reach_curriculum

    curriculum = getattr(env_cfg, "curriculum", None)
    terms = vars(curriculum).values() if curriculum is not None else ()
    return any(getattr(term, "func", None) is action_reach_curriculum for term in terms)


@configclass
class LowPassJointPositionActionCfg(JointPositionActionCfg):
    class_type: type = LowPassJointPositionAction
    low_pass_alpha: float = 1.0
    """Fraction of the way to the commanded target per control step (1: no filter; 0.3 at 100 Hz: cutoff ~6 Hz)."""
    to_limits: bool = False
    """Actions of +-1 reach each joint's limits from the start pose (``scale`` is then unused); see the module."""
    reach_from: float | None = None
    """Training starts each joint's scale at ``min(scale, reach_from)`` (with ``to_limits``: each limit at most
    ``reach_from`` away) and widens it to the full reach over ``reach_steps`` control steps (None: the full reach
    from the start); see the module."""
    reach_steps: int = 2000
    """Control steps (each one transition per env) from ``reach_from`` to the full scale."""
    reach_waits: bool = False
    """The widening starts once the episodes end standing (the curriculum term ``action_reach_curriculum``); see
    the module."""
