"""The interactive scene every NIL task and tool builds on."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import isaaclab.sim as sim_utils
from isaaclab.assets import ArticulationCfg, AssetBaseCfg
from isaaclab.scene import InteractiveSceneCfg
from isaaclab.sensors import CameraCfg, ContactSensorCfg
from isaaclab.utils import configclass

from ..assets.robot_cfg import robot_articulation_cfg
from ..assets.robots import get_robot_spec
from ..cache_dir import cache_root
from .camera import FollowCameraCfg

GROUND_COLOR = (0.45, 0.45, 0.42)
FEET_CONTACT_SENSOR = "feet_contact"  # the scene's name of the feet's contact sensor
TEXTURE_CELLS = 256  # texture image side in cells (one pixel each); the pattern repeats every TEXTURE_CELLS cells


def ground_cfg(num_envs: int, env_spacing: float, walk_margin: float = 60.0, textured: bool = False,
               plane_collider: bool = True) -> AssetBaseCfg:
    """A large static box as the ground (Isaac Lab's default ground plane is downloaded from NVIDIA's cloud) whose
    top face collides as a plane.

    ``plane_collider``: the box is only seen and a plane at its top face collides. MuJoCo-Warp meets a plane with
    its cheap primitive colliders, a box with the general convex one: 18 % less physics time for H1 on a CPU, the
    same contacts (``scripts/benchmark.py --what train``). False: the box collides (the scenes before it).
    ``textured``: cover its top with a random-tile texture (10 cm cells), so that the ground's apparent motion
    shows how the camera moves (the plain box shows none; the tests of camera-path estimation use both)."""
    side = 2.0 * (math.ceil(math.sqrt(num_envs)) * env_spacing + walk_margin)
    shape = TexturedCuboidCfg if textured else GroundCuboidCfg
    return AssetBaseCfg(
        prim_path="/World/ground",
        spawn=shape(
            size=(side, side, 0.2),
            collision_props=sim_utils.UsdPhysicsCollisionCfg(),
            physics_material=sim_utils.RigidBodyMaterialCfg(static_friction=1.0, dynamic_friction=1.0),
            visual_material=sim_utils.PreviewSurfaceCfg(diffuse_color=GROUND_COLOR),
            plane_collider=plane_collider,
        ),
        init_state=AssetBaseCfg.InitialStateCfg(pos=(0.0, 0.0, -0.1)),
    )


def spawn_ground_cuboid(prim_path: str, cfg: GroundCuboidCfg, translation=None, orientation=None, **kwargs):
    """The cuboid; with ``cfg.plane_collider`` it is not a collider itself and a plane at its top face is, with
    the cuboid's physics material."""
    from pxr import UsdGeom, UsdPhysics

    if not cfg.plane_collider:
        return sim_utils.spawn_cuboid(prim_path, cfg, translation, orientation, **kwargs)
    prim = sim_utils.spawn_cuboid(prim_path, cfg.replace(collision_props=None, physics_material=None), translation,
                                  orientation, **kwargs)
    stage = prim.GetStage()
    plane = UsdGeom.Plane.Define(stage, f"{prim_path}/collider")
    plane.CreateAxisAttr("Z")
    plane.CreateWidthAttr(cfg.size[0])
    plane.CreateLengthAttr(cfg.size[1])
    plane.AddTranslateOp().Set((0.0, 0.0, cfg.size[2] / 2))
    UsdPhysics.CollisionAPI.Apply(plane.GetPrim())
    if cfg.physics_material is not None:
        material = f"{prim_path}/physicsMaterial"
        cfg.physics_material.func(material, cfg.physics_material)
        sim_utils.bind_physics_material(str(plane.GetPath()), material, stage=stage)
    return prim


@configclass
class GroundCuboidCfg(sim_utils.CuboidCfg):
    """The ground's cuboid (see :func:`ground_cfg`)."""

    func: Callable = spawn_ground_cuboid
    plane_collider: bool = True


def spawn_textured_cuboid(prim_path: str, cfg: TexturedCuboidCfg, translation=None, orientation=None, **kwargs):
    """The plain cuboid (collider and its colour), plus a textured quad 1 mm above its top face.

    The Newton Warp renderer samples a mesh's UsdPreviewSurface diffuse texture through its ``st`` UVs
    (wrapping), so one quad with a small repeating texture covers the whole ground at one shape's cost."""
    from pxr import Gf, Sdf, UsdGeom, UsdShade

    prim = spawn_ground_cuboid(prim_path, cfg, translation, orientation, **kwargs)
    stage = prim.GetStage()
    sx, sy, sz = (s / 2 for s in cfg.size)
    top = sz + 1e-3
    mesh = UsdGeom.Mesh.Define(stage, f"{prim_path}/texture")
    mesh.CreatePointsAttr([Gf.Vec3f(x, y, top) for x, y in ((-sx, -sy), (sx, -sy), (sx, sy), (-sx, sy))])
    mesh.CreateFaceVertexCountsAttr([4])
    mesh.CreateFaceVertexIndicesAttr([0, 1, 2, 3])  # counter-clockwise seen from above: faces up
    mesh.CreateNormalsAttr([Gf.Vec3f(0, 0, 1)] * 4)
    mesh.SetNormalsInterpolation(UsdGeom.Tokens.vertex)
    u, v = cfg.size[0] / (cfg.cell * TEXTURE_CELLS), cfg.size[1] / (cfg.cell * TEXTURE_CELLS)
    st = UsdGeom.PrimvarsAPI(mesh).CreatePrimvar("st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.vertex)
    st.Set([Gf.Vec2f(0, 0), Gf.Vec2f(u, 0), Gf.Vec2f(u, v), Gf.Vec2f(0, v)])

    material = UsdShade.Material.Define(stage, f"{prim_path}/texture_material")
    surface = UsdShade.Shader.Define(stage, f"{prim_path}/texture_material/surface")
    surface.CreateIdAttr("UsdPreviewSurface")
    reader = UsdShade.Shader.Define(stage, f"{prim_path}/texture_material/st")
    reader.CreateIdAttr("UsdPrimvarReader_float2")
    reader.CreateInput("varname", Sdf.ValueTypeNames.Token).Set("st")
    image = UsdShade.Shader.Define(stage, f"{prim_path}/texture_material/image")
    image.CreateIdAttr("UsdUVTexture")
    image.CreateInput("file", Sdf.ValueTypeNames.Asset).Set(str(ground_texture_file(cfg.seed)))
    image.CreateInput("st", Sdf.ValueTypeNames.Float2).ConnectToSource(reader.ConnectableAPI(), "result")
    for wrap in ("wrapS", "wrapT"):
        image.CreateInput(wrap, Sdf.ValueTypeNames.Token).Set("repeat")
    rgb = image.CreateOutput("rgb", Sdf.ValueTypeNames.Float3)
    surface.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).ConnectToSource(rgb)
    material.CreateSurfaceOutput().ConnectToSource(surface.ConnectableAPI(), "surface")
    UsdShade.MaterialBindingAPI.Apply(mesh.GetPrim()).Bind(material)
    return prim


@configclass
class TexturedCuboidCfg(GroundCuboidCfg):
    """A cuboid whose top face carries a random-tile texture (a separate visual quad just above it)."""

    func: Callable = spawn_textured_cuboid
    cell: float = 0.1
    """Texture cell size, metres."""
    seed: int = 0


def ground_texture_file(seed: int = 0) -> Path:
    """A PNG of TEXTURE_CELLS^2 random grey cells, slightly tinted (written once into the cache): texture for
    optical flow wherever the camera looks, and no repeat within the view (the pattern repeats every 25.6 m)."""
    import cv2
    import numpy as np

    path = cache_root() / "textures" / f"ground-cells{TEXTURE_CELLS}-seed{seed}.png"
    if not path.is_file():
        rng = np.random.default_rng(seed)
        grey = rng.uniform(40, 230, size=(TEXTURE_CELLS, TEXTURE_CELLS, 1))
        tint = rng.uniform(0.85, 1.15, size=(TEXTURE_CELLS, TEXTURE_CELLS, 3))
        image = np.clip(grey * tint, 0, 255).astype(np.uint8)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}.png")
        cv2.imwrite(str(tmp), image[..., ::-1])
        tmp.replace(path)  # atomic: a concurrent renderer never reads half a file
    return path


@configclass
class NilSceneCfg(InteractiveSceneCfg):
    """Ground, light, robot, camera and the feet's contact sensor. Build it with :func:`robot_scene_cfg`."""

    ground: AssetBaseCfg = None
    light: AssetBaseCfg = AssetBaseCfg(
        prim_path="/World/light", spawn=sim_utils.DomeLightCfg(intensity=2000.0, color=(0.9, 0.9, 0.9))
    )
    robot: ArticulationCfg = None
    camera: CameraCfg = None
    follow_camera: CameraCfg | None = None
    """Play and evaluate only: a camera that always follows the agent (the posture score, pose IoU)."""
    video_camera: CameraCfg | None = None
    """Play only: the training camera's view at a size people can watch (the side-by-side video)."""
    feet_contact: ContactSensorCfg | None = None
    """Net contact force on each foot body: which feet touch the ground (the tasks' foot-slip penalty)."""


def robot_scene_cfg(
    robot: str,
    num_envs: int,
    camera: FollowCameraCfg | None = None,
    env_spacing: float = 4.0,
    textured_ground: bool = False,
    feet_contact: bool = True,
) -> NilSceneCfg:
    """``feet_contact``: with the feet's contact sensor (the tasks' foot-slip penalty needs it)."""
    camera = camera or FollowCameraCfg()
    articulation = robot_articulation_cfg(robot)
    return NilSceneCfg(
        num_envs=num_envs,
        env_spacing=env_spacing,
        ground=ground_cfg(num_envs, env_spacing, textured=textured_ground),
        robot=articulation,
        camera=camera.sensor_cfg(),
        # Newton's contact sensor (MuJoCo-Warp's contacts) works on CPU too. Newton matches the regex against whole
        # body paths, and a converted robot's bodies may be nested (TALOS: Robot/Geometry/base_link/.../leg_left_6_link)
        feet_contact=ContactSensorCfg(prim_path=f"{articulation.prim_path}/.*{get_robot_spec(robot).foot_bodies}")
        if feet_contact else None,
    )
