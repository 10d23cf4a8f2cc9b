"""Did a whole-body episode succeed? Measured on the simulator's state, batched over envs; never rewarded.

- ``sit``: the pelvis is supported by the seat: its origin within the seat's footprint and at most
  ``SIT_CLEARANCE`` base heights above the seat's top (a seated H1 or G1: ~0.2; standing: 0.6), for ``hold_s``.
- ``hang``: both hands above the bar's axis and both feet off the ground (ankles at least ``FOOT_CLEARANCE``
  base heights above their standing height), for ``hold_s``.
- ``balance``: both feet on the board (ankles above its top face and within its footprint, in the board's own
  frame, which tilts) for the last ``hold_s`` of the episode.

And in every skill, no fall in the episode (the env's own fall rule: base below its ``fell`` height, which for
``sit`` is the seat's top, or tilted past its limit): a robot that sat and then slid off the chair to the floor
did not sit on the chair.

A detector counts how long its condition has held without a break (``held``) and the longest such stretch
(``best``). Create it right after a reset: it takes the standing foot height from the robot then.
"""

from __future__ import annotations

import torch
from isaaclab.utils.math import quat_apply, quat_apply_inverse

from ..assets.robots import get_robot_spec

SIT_CLEARANCE = 0.3
FOOT_CLEARANCE = 0.05


class SuccessDetector:
    """Base: time bookkeeping and falls; subclasses say what the success state is (``condition``)."""

    def __init__(self, env, hold_s: float | None = None):
        from ..assets.robot_cfg import robot_model_info  # the simulator's config classes: after the app starts

        cfg = env.cfg.wholebody
        self.env, self.prop = env, cfg.prop
        self.hold_s = cfg.hold_s if hold_s is None else hold_s
        self.dt = env.step_dt
        self.robot = env.scene["robot"]
        self.spec = get_robot_spec(env.cfg.robot_name)
        self.base_height = robot_model_info(env.cfg.robot_name).base_pos[2]
        self.foot_ids, _ = self.robot.find_bodies(self.spec.foot_bodies)
        self.foot_z0 = self.robot.data.body_pos_w.torch[:, self.foot_ids, 2].clone()
        # the env's own fall thresholds, so that "fell" here means what terminates an episode there
        terms = env.cfg.terminations
        self.fall_height = terms.fell.params["minimum_height"]
        self.tilt_limit = terms.tilted.params["limit_angle"]
        n = env.num_envs
        self.held = torch.zeros(n, device=env.device)
        self.best = torch.zeros(n, device=env.device)
        self.fell = torch.zeros(n, dtype=torch.bool, device=env.device)

    def condition(self) -> torch.Tensor:
        """(N,) bool: the env is in the skill's success state now."""
        raise NotImplementedError

    def local(self, pos_w: torch.Tensor) -> torch.Tensor:
        """World positions (N, ..., 3) relative to each env's origin."""
        origins = self.env.scene.env_origins
        return pos_w - origins.view(-1, *([1] * (pos_w.dim() - 2)), 3)

    def fallen(self) -> torch.Tensor:
        data = self.robot.data
        tilt = torch.acos((-data.projected_gravity_b.torch[:, 2]).clamp(-1.0, 1.0))
        return (data.root_pos_w.torch[:, 2] < self.fall_height) | (tilt > self.tilt_limit)

    def reset(self, env_ids=None) -> None:
        ids = slice(None) if env_ids is None else env_ids
        self.held[ids] = 0.0
        self.best[ids] = 0.0
        self.fell[ids] = False

    def update(self, active: torch.Tensor | None = None) -> None:
        """Advance one control step; ``active`` (N,) bool: envs to count (others keep their values)."""
        active = torch.ones_like(self.fell) if active is None else active
        held = torch.where(self.condition(), self.held + self.dt, torch.zeros_like(self.held))
        self.held = torch.where(active, held, self.held)
        self.best = torch.maximum(self.best, self.held)
        self.fell |= active & self.fallen()

    def mark_fallen(self, mask: torch.Tensor) -> None:
        """Envs the env terminated for a fall (their fallen state is gone after the automatic reset)."""
        self.fell |= mask

    def success(self) -> torch.Tensor:
        """(N,) bool: the success state was held for ``hold_s`` at some point of the episode, and no fall."""
        return (self.best >= self.hold_s - 1e-6) & ~self.fell


class SitDetector(SuccessDetector):
    def condition(self) -> torch.Tensor:
        chair = self.prop
        p = self.local(self.robot.data.root_pos_w.torch)
        inside = ((p[:, 0] - chair.center[0]).abs() <= chair.size[0] / 2) & (
            (p[:, 1] - chair.center[1]).abs() <= chair.size[1] / 2)
        above = p[:, 2] - chair.top
        return inside & (above > 0) & (above <= SIT_CLEARANCE * self.base_height)


class HangDetector(SuccessDetector):
    def __init__(self, env, hold_s: float | None = None):
        super().__init__(env, hold_s)
        if not self.spec.hand_bodies:
            raise ValueError(f"{self.spec.name} has no hand_bodies in its RobotSpec: hanging cannot be judged")
        self.hand_ids, _ = self.robot.find_bodies(self.spec.hand_bodies)
        self.hand_offset = torch.tensor(self.spec.hand_offset, device=env.device)

    def hands(self) -> torch.Tensor:
        """(N, 2, 3) hand points relative to each env's origin."""
        data = self.robot.data
        pos, quat = data.body_pos_w.torch[:, self.hand_ids], data.body_quat_w.torch[:, self.hand_ids]
        return self.local(pos + quat_apply(quat, self.hand_offset))

    def condition(self) -> torch.Tensor:
        hands_up = (self.hands()[..., 2] > self.prop.center[2]).all(dim=1)
        foot_z = self.robot.data.body_pos_w.torch[:, self.foot_ids, 2]
        feet_up = (foot_z > self.foot_z0 + FOOT_CLEARANCE * self.base_height).all(dim=1)
        return hands_up & feet_up


class BalanceDetector(SuccessDetector):
    def condition(self) -> torch.Tensor:
        board = self.env.scene["board"]
        pos, quat = board.data.root_pos_w.torch, board.data.root_quat_w.torch
        feet = self.robot.data.body_pos_w.torch[:, self.foot_ids]  # (N, F, 3)
        local = quat_apply_inverse(quat.unsqueeze(1), feet - pos.unsqueeze(1))
        dx, dy, dz = self.prop.size
        on = (local[..., 0].abs() <= dx / 2) & (local[..., 1].abs() <= dy / 2) & (local[..., 2] >= dz / 2)
        return on.all(dim=1)

    def success(self) -> torch.Tensor:
        """On the board for the last ``hold_s`` (the running stretch), and no fall."""
        return (self.held >= self.hold_s - 1e-6) & ~self.fell


DETECTORS = {"sit": SitDetector, "hang": HangDetector, "balance": BalanceDetector}


def make_detector(env, hold_s: float | None = None) -> SuccessDetector:
    """The detector of the env's whole-body skill (``env`` is the unwrapped ManagerBasedRLEnv)."""
    return DETECTORS[env.cfg.wholebody.skill](env, hold_s)
