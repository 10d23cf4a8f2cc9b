"""The interactive scene every NIL task and tool builds on."""

from __future__ import annotations

import math

import isaaclab.sim as sim_utils
from isaaclab.assets import ArticulationCfg, AssetBaseCfg
from isaaclab.scene import InteractiveSceneCfg
from isaaclab.sensors import CameraCfg
from isaaclab.utils import configclass

from ..assets.robot_cfg import robot_articulation_cfg
from .camera import FollowCameraCfg

GROUND_COLOR = (0.45, 0.45, 0.42)


def ground_cfg(num_envs: int, env_spacing: float, walk_margin: float = 60.0) -> AssetBaseCfg:
    """A large static box as the ground: Isaac Lab's default ground plane is downloaded from NVIDIA's cloud."""
    side = 2.0 * (math.ceil(math.sqrt(num_envs)) * env_spacing + walk_margin)
    return AssetBaseCfg(
        prim_path="/World/ground",
        spawn=sim_utils.CuboidCfg(
            size=(side, side, 0.2),
            collision_props=sim_utils.UsdPhysicsCollisionCfg(),
            physics_material=sim_utils.RigidBodyMaterialCfg(static_friction=1.0, dynamic_friction=1.0),
            visual_material=sim_utils.PreviewSurfaceCfg(diffuse_color=GROUND_COLOR),
        ),
        init_state=AssetBaseCfg.InitialStateCfg(pos=(0.0, 0.0, -0.1)),
    )


@configclass
class NilSceneCfg(InteractiveSceneCfg):
    """Ground, light, robot and camera. Build it with :func:`robot_scene_cfg`."""

    ground: AssetBaseCfg = None
    light: AssetBaseCfg = AssetBaseCfg(
        prim_path="/World/light", spawn=sim_utils.DomeLightCfg(intensity=2000.0, color=(0.9, 0.9, 0.9))
    )
    robot: ArticulationCfg = None
    camera: CameraCfg = None


def robot_scene_cfg(
    robot: str, num_envs: int, camera: FollowCameraCfg | None = None, env_spacing: float = 4.0
) -> NilSceneCfg:
    camera = camera or FollowCameraCfg()
    return NilSceneCfg(
        num_envs=num_envs,
        env_spacing=env_spacing,
        ground=ground_cfg(num_envs, env_spacing),
        robot=robot_articulation_cfg(robot),
        camera=camera.sensor_cfg(),
    )
