"""Props of the whole-body skills (chair, bar, balance board), built from Isaac Lab shape spawners.

Each prop is a small dataclass of its geometry, in metres, relative to the env origin (where every robot's
start pose puts its base, facing +x). ``for_robot`` scales it to the robot's standing base height, so one rule
fits H1 and G1. Props are rendered by the camera but are not the robot: their prims live beside ``Robot``
(``env_<i>/ChairSeat``...), so the robot mask (``RobotMasks``: ids of ``env_<i>/Robot``) leaves them out.
"""

from __future__ import annotations

import dataclasses

import isaaclab.sim as sim_utils
from isaaclab.assets import AssetBaseCfg, RigidObjectCfg
from isaaclab.utils import configclass

from .scene_cfg import NilSceneCfg

# Saturated orange: apart from the dark robot and the grey ground, so a test can find props in rgb.
PROP_COLOR = (0.85, 0.42, 0.08)
_FRICTION = sim_utils.RigidBodyMaterialCfg(static_friction=1.0, dynamic_friction=1.0)


def _dressed(spawn):
    """A shape that collides, grips (friction 1, as the ground) and renders in PROP_COLOR."""
    spawn.collision_props = sim_utils.UsdPhysicsCollisionCfg()
    spawn.physics_material = _FRICTION
    spawn.visual_material = sim_utils.PreviewSurfaceCfg(diffuse_color=PROP_COLOR)
    return spawn


def _static(name: str, spawn, pos) -> AssetBaseCfg:
    """A fixed collider (no rigid body): it never moves and costs the solver nothing but contacts."""
    return AssetBaseCfg(prim_path=f"{{ENV_REGEX_NS}}/{name}", spawn=_dressed(spawn),
                        init_state=AssetBaseCfg.InitialStateCfg(pos=tuple(pos)))


def _free(name: str, spawn, pos, mass: float) -> RigidObjectCfg:
    """A free rigid body resting on something (the balance board and its roller)."""
    spawn = _dressed(spawn)
    spawn.rigid_props = sim_utils.UsdPhysicsRigidBodyCfg(rigid_body_enabled=True, kinematic_enabled=False)
    spawn.mass_props = sim_utils.MassPropertiesCfg(mass=mass)
    return RigidObjectCfg(prim_path=f"{{ENV_REGEX_NS}}/{name}", spawn=spawn,
                          init_state=RigidObjectCfg.InitialStateCfg(pos=tuple(pos)))


@dataclasses.dataclass
class Chair:
    """A box seat behind the robot (it sits down backwards onto it) with a backrest."""

    center: tuple[float, float]
    """Seat centre (x, y)."""
    size: tuple[float, float]
    """Seat depth (x) and width (y)."""
    top: float
    """Height of the seat's top face."""
    back_height: float
    """Backrest height above the seat."""
    thickness: float

    @classmethod
    def for_robot(cls, base_height: float) -> Chair:
        # Seat top just under the knees (H1 and G1: knee height ~0.46 base heights), deep enough that the hips of
        # a robot sitting down without moving its feet land over it.
        h = base_height
        return cls(center=(-0.38 * h, 0.0), size=(0.45 * h, 0.7 * h), top=0.40 * h, back_height=0.5 * h,
                   thickness=0.06 * h)

    def assets(self) -> dict[str, AssetBaseCfg]:
        (x, y), (dx, dy) = self.center, self.size
        back_x = x - dx / 2 - self.thickness / 2
        return {
            "chair_seat": _static("ChairSeat", sim_utils.CuboidCfg(size=(dx, dy, self.top)), (x, y, self.top / 2)),
            "chair_back": _static("ChairBack", sim_utils.CuboidCfg(size=(self.thickness, dy, self.back_height)),
                                  (back_x, y, self.top + self.back_height / 2)),
        }


@dataclasses.dataclass
class Bar:
    """A horizontal bar across the robot's shoulders (along y), at the height of its raised hands."""

    center: tuple[float, float, float]
    """Bar axis centre (x, y, z)."""
    radius: float
    length: float

    @classmethod
    def for_robot(cls, base_height: float, reach: tuple[float, float]) -> Bar:
        """``reach``: (x, z) of the robot's hands with its arms raised (per robot, see the whole-body task)."""
        h = base_height
        radius = 0.035 * h
        # Just under the raised hands, so that they rest on top of it and the feet can leave the ground.
        return cls(center=(reach[0], 0.0, reach[1] - radius - 0.03 * h), radius=radius, length=1.1 * h)

    @property
    def top(self) -> float:
        return self.center[2] + self.radius

    def assets(self) -> dict[str, AssetBaseCfg]:
        x, y, z = self.center
        post_y = y + self.length / 2  # one post, on the side away from the camera, so it hides nothing
        return {
            "bar": _static("Bar", sim_utils.CylinderCfg(radius=self.radius, height=self.length, axis="Y"), (x, y, z)),
            "bar_post": _static("BarPost", sim_utils.CylinderCfg(radius=self.radius, height=z + self.radius),
                                (x, post_y, (z + self.radius) / 2)),
        }


@dataclasses.dataclass
class BalanceBoard:
    """A board (long along y, under both feet) resting on a free roller whose axis is x: it rocks sideways."""

    center: tuple[float, float]
    """Board centre (x, y) at rest."""
    size: tuple[float, float, float]
    """Board depth (x), length (y), thickness."""
    roller_radius: float
    board_mass: float
    roller_mass: float

    @classmethod
    def for_robot(cls, base_height: float) -> BalanceBoard:
        # In front of the robot, one step away; long enough for its stance width.
        h = base_height
        return cls(center=(0.5 * h, 0.0), size=(0.35 * h, 0.8 * h, 0.03 * h), roller_radius=0.06 * h,
                   board_mass=3.0 * h, roller_mass=2.0 * h)

    @property
    def top(self) -> float:
        """Height of the board's top face at rest."""
        return 2 * self.roller_radius + self.size[2]

    def assets(self) -> dict[str, RigidObjectCfg]:
        (x, y), (dx, dy, dz), r = self.center, self.size, self.roller_radius
        # The roller is a capsule: MuJoCo-Warp's cylinder-box contact let the loaded board sink through it.
        return {
            "roller": _free("Roller", sim_utils.CapsuleCfg(radius=r, height=0.9 * dx - 2 * r, axis="X"), (x, y, r),
                            self.roller_mass),
            "board": _free("Board", sim_utils.CuboidCfg(size=(dx, dy, dz)), (x, y, 2 * r + dz / 2), self.board_mass),
        }


Prop = Chair | Bar | BalanceBoard
PROPS = {"sit": Chair, "hang": Bar, "balance": BalanceBoard}

# (x, z) of the hands with the arms raised (reference.scripted_wholebody.ARMS_UP), in base heights: where the bar
# goes. Measured by forward kinematics of each robot's MJCF at that pose.
HANG_REACH = {"h1": (0.12, 2.01), "g1": (0.15, 1.95)}


def skill_prop(skill: str, robot: str) -> Prop:
    """The prop of a whole-body skill, sized and placed for ``robot``."""
    from ..assets.robot_cfg import robot_model_info

    if skill not in PROPS:
        raise ValueError(f"Unknown whole-body skill '{skill}'; known: {', '.join(PROPS)}")
    h = robot_model_info(robot).base_pos[2]
    if skill == "hang":
        if robot not in HANG_REACH:
            raise ValueError(f"No hanging reach known for '{robot}'; known: {', '.join(HANG_REACH)}")
        x, z = HANG_REACH[robot]
        return Bar.for_robot(h, (x * h, z * h))
    return PROPS[skill].for_robot(h)


@configclass
class PropSceneCfg(NilSceneCfg):
    """The NIL scene plus the props of one whole-body skill (the fields a skill does not use stay None)."""

    chair_seat: AssetBaseCfg | None = None
    chair_back: AssetBaseCfg | None = None
    bar: AssetBaseCfg | None = None
    bar_post: AssetBaseCfg | None = None
    board: RigidObjectCfg | None = None
    roller: RigidObjectCfg | None = None


def with_props(scene: NilSceneCfg, prop: Prop) -> PropSceneCfg:
    """``scene`` (as :func:`robot_scene_cfg` built it, every field kept) with ``prop`` added."""
    fields = {f.name: getattr(scene, f.name) for f in dataclasses.fields(scene)}
    return PropSceneCfg(**fields, **prop.assets())
