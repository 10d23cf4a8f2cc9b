"""A standalone robot scene (no task, no policy): hold the start pose, move the base, render rgb + masks.

Used by scripts/render_robot.py, scripts/benchmark.py, the first-frame renderer and the tests. Create it inside
:func:`open_robot_scene`, which starts (and closes) the simulation runtime the config needs.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

import torch
from isaaclab.app import launch_simulation
from isaaclab.scene import InteractiveScene
from isaaclab.sim import SimulationCfg, SimulationContext
from isaaclab.utils import configclass

from ..assets.robot_cfg import robot_model_info
from .camera import FollowCameraCfg, RobotMasks, aim_camera
from .physics import newton_sim_cfg
from .scene_cfg import NilSceneCfg, robot_scene_cfg


@configclass
class _LaunchCfg:
    """What launch_simulation scans to decide the runtime (kit-less Newton here)."""

    sim: SimulationCfg = None
    scene: NilSceneCfg = None


class RobotScene:
    def __init__(self, sim: SimulationContext, scene: InteractiveScene, camera_cfg: FollowCameraCfg, base_height: float):
        self.sim, self.scene = sim, scene
        self.robot = scene["robot"]
        self.camera = scene["camera"]
        self.camera_cfg = camera_cfg
        self.num_envs = scene.num_envs
        self.device = sim.device
        self.physics_dt = sim.get_physics_dt()
        self.camera_offset = torch.tensor(camera_cfg.offset(base_height), device=self.device)
        self.masks = RobotMasks(self.num_envs, self.device)
        self.targets = self.robot.data.default_joint_pos.torch.clone()
        self.reset()

    def reset(self) -> None:
        """Every robot at its start pose, at rest (the simulator does not apply the defaults by itself)."""
        data = self.robot.data
        pose = data.default_root_pose.torch.clone()
        pose[:, :3] += self.scene.env_origins
        self.robot.write_root_pose_to_sim_index(root_pose=pose)
        self.robot.write_root_velocity_to_sim_index(root_velocity=data.default_root_vel.torch.clone())
        self.robot.write_joint_position_to_sim_index(position=data.default_joint_pos.torch.clone())
        self.robot.write_joint_velocity_to_sim_index(velocity=data.default_joint_vel.torch.clone())
        self.scene.reset()
        self.sim.forward()
        self.scene.update(0.0)
        self.follow()

    @property
    def base_pos(self) -> torch.Tensor:
        return self.robot.data.root_pos_w.torch

    def step(self, num_steps: int = 1) -> None:
        """Advance physics with the PD targets held at ``self.targets``."""
        for _ in range(num_steps):
            self.robot.set_joint_position_target_index(target=self.targets)
            self.scene.write_data_to_sim()
            self.sim.step(render=False)
            self.scene.update(self.physics_dt)

    def follow(self) -> None:
        aim_camera(self.camera, self.base_pos, self.camera_offset)

    def render(self) -> tuple[torch.Tensor, torch.Tensor]:
        """rgb (N, H, W, 3) uint8 and robot masks (N, H, W) bool, from the camera aimed at the current base.

        The rgb tensor is the camera's own buffer: the next render overwrites it (clone it to keep it)."""
        if self.camera_cfg.mode == "follow_agent":
            self.follow()
        self.camera.update(0.0, force_recompute=True)
        return self.camera.data.output["rgb"].torch, self.masks(self.camera)

    def hold_joint_positions(self, joint_pos: torch.Tensor) -> None:
        """Put every robot's joints at ``joint_pos`` (num_envs, J) kinematically (no physics step), for rendering."""
        self.robot.write_joint_position_to_sim_index(position=joint_pos.to(self.device))
        self.sim.forward()
        self.scene.update(0.0)

    def move_base(self, delta: torch.Tensor | tuple[float, float, float]) -> None:
        """Teleport every robot's base by ``delta`` metres (world frame), keeping its orientation."""
        pose = self.robot.data.root_pose_w.torch.clone()
        pose[:, :3] += torch.as_tensor(delta, dtype=pose.dtype, device=self.device)
        self.robot.write_root_pose_to_sim_index(root_pose=pose)
        self.sim.forward()
        self.scene.update(0.0)


@contextlib.contextmanager
def open_robot_scene(
    robot: str,
    num_envs: int = 1,
    camera: FollowCameraCfg | None = None,
    device: str = "cpu",
    textured_ground: bool = False,
    prop=None,
    env_spacing: float | None = None,
) -> Iterator[RobotScene]:
    """``prop``: a whole-body skill's prop (``scene.props``) to add to the scene; ``env_spacing`` (m): robot_scene_cfg's
    default unless given."""
    # A standalone scene renders references and pictures, which are in colour, whatever the task's camera trains on.
    camera = dataclasses.replace(camera or FollowCameraCfg(), rgb=True)
    sim_cfg = newton_sim_cfg(device)
    spacing = {} if env_spacing is None else {"env_spacing": env_spacing}
    scene_cfg = robot_scene_cfg(robot, num_envs, camera, textured_ground=textured_ground, feet_contact=False, **spacing)
    if prop is not None:
        from .props import with_props

        scene_cfg = with_props(scene_cfg, prop)
    with launch_simulation(_LaunchCfg(sim=sim_cfg, scene=scene_cfg), {}):
        sim = SimulationContext(sim_cfg)
        try:
            scene = InteractiveScene(scene_cfg)
            sim.reset()
            yield RobotScene(sim, scene, camera, robot_model_info(robot).base_pos[2])
        finally:
            sim.clear_instance()
