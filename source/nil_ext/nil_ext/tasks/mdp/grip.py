"""Hands that hold a bar: a hand that touches the bar holds on where it touched, until pulled away.

Why: hanging from a bar is one of the paper's skills, but the robots as Menagerie ships them cannot close a hand
around one (H1's arms end at the forearm; G1's fingers are not in its action space here). With friction alone the
hands slide off and no policy can hang (measured: posed hanging, H1 dropped 0.3 m in 1.5 s). A hand point (the
robot file's ``hand_bodies`` at ``hand_offset``) that comes within ``grip_radius`` of the bar's axis is anchored
where it is; a spring-damper then pulls it back to that anchor with at most ``max_weight_share`` of the robot's
weight (two hands hold the robot up, one does not). A hand pulled ``release_gap`` from its anchor slips (it is
anchored again where it is while it still touches the bar) and lets go once it leaves the bar. It reads only the simulator's state and acts at every physics step (an action term with no
actions); it is the robot's hands, not reward.
"""

from __future__ import annotations

import torch
from isaaclab.managers import ActionTerm, ActionTermCfg
from isaaclab.utils import configclass
from isaaclab.utils.math import quat_apply

from ...assets.robots import get_robot_spec

GRAVITY = 9.81


class BarGripAction(ActionTerm):
    """Holds each hand point where it touched the bar (the bar's axis runs along y)."""

    cfg: BarGripActionCfg

    def __init__(self, cfg: BarGripActionCfg, env):
        super().__init__(cfg, env)
        spec = get_robot_spec(env.cfg.robot_name)
        if not spec.hand_bodies:
            raise ValueError(f"{spec.name} has no hand_bodies in its robot file: it cannot grip a bar")
        self._hand_ids, _ = self._asset.find_bodies(spec.hand_bodies)
        self._offset = torch.tensor(spec.hand_offset, device=self.device).expand(len(self._hand_ids), 3)
        self._centre = torch.tensor(cfg.bar_center, device=self.device)
        weight = float(self._asset.data.body_mass.torch[0].sum()) * GRAVITY
        self.max_force = cfg.max_weight_share * weight
        self.stiffness = self.max_force / cfg.full_force_gap  # full force at that gap from the anchor
        self._none = torch.zeros(self.num_envs, 0, device=self.device)
        self.holding = torch.zeros(self.num_envs, len(self._hand_ids), dtype=torch.bool, device=self.device)
        self.anchor = torch.zeros(self.num_envs, len(self._hand_ids), 3, device=self.device)  # per env origin

    @property
    def action_dim(self) -> int:
        return 0

    @property
    def raw_actions(self) -> torch.Tensor:
        return self._none

    @property
    def processed_actions(self) -> torch.Tensor:
        return self._none

    def process_actions(self, actions: torch.Tensor) -> None:
        pass

    def apply_actions(self) -> None:
        data = self._asset.data
        pos, quat = data.body_pos_w.torch[:, self._hand_ids], data.body_quat_w.torch[:, self._hand_ids]
        hands_w = pos + quat_apply(quat, self._offset.expand_as(pos))
        hands = hands_w - self._env.scene.env_origins[:, None]
        c, half = self._centre, self.cfg.bar_length / 2
        to_axis = torch.stack([hands[..., 0] - c[0], hands[..., 2] - c[2]], -1).norm(dim=-1)
        touching = (to_axis < self.cfg.grip_radius) & ((hands[..., 1] - c[1]).abs() <= half)
        grasp = touching & ~self.holding
        self.anchor = torch.where(grasp[..., None], hands, self.anchor)
        gap = self.anchor - hands
        self.holding = (self.holding | grasp) & (gap.norm(dim=-1) < self.cfg.release_gap)
        force = self.stiffness * gap - self.cfg.damping * data.body_lin_vel_w.torch[:, self._hand_ids]
        scale = (self.max_force / force.norm(dim=-1, keepdim=True).clamp_min(1e-6)).clamp(max=1.0)
        force = torch.where(self.holding[..., None], force * scale, 0.0)
        self._asset.instantaneous_wrench_composer.add_forces_and_torques_index(
            forces=force, positions=hands_w, body_ids=self._hand_ids, is_global=True)

    def reset(self, env_ids=None) -> None:
        released = torch.zeros_like(self.holding[:, 0])  # a new tensor: steps leave inference tensors behind
        released[slice(None) if env_ids is None else env_ids] = True
        self.holding = self.holding & ~released[:, None]


@configclass
class BarGripActionCfg(ActionTermCfg):
    class_type: type = BarGripAction
    asset_name: str = "robot"
    bar_center: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """The bar's axis centre relative to the env origin (the prop's ``center``)."""
    bar_length: float = 1.0
    grip_radius: float = 0.12
    """m from the axis: the bar's radius plus the hand's (H1's hand point, the forearm capsule's end, rests ~0.1 m
    from the axis of a bar it lies on)."""
    max_weight_share: float = 0.6
    """Most force per hand, in robot weights: two hands hold the robot up, one does not."""
    full_force_gap: float = 0.03
    """m from its anchor at which a hand's spring reaches the most force."""
    release_gap: float = 0.06
    """m from its anchor at which a hand slips (pulled harder than the grip holds)."""
    damping: float = 60.0
    """N s/m on the hand's velocity while it holds."""
