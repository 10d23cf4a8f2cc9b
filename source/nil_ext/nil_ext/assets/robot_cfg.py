"""Isaac Lab ``ArticulationCfg`` of a robot file: its USD (given, or converted from its MJCF or URDF), PD actuators,
start pose."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path

import isaaclab.sim as sim_utils
from isaaclab.actuators import ImplicitActuatorCfg
from isaaclab.assets import ArticulationCfg
from isaaclab.utils import configclass

from .model_info import RobotModelInfo
from .robot_model import model_mjcf, read_robot_info
from .robots import RobotConfigError, get_robot_spec
from .usd_conversion import mjcf_to_usd

ROBOT_SEMANTIC_CLASS = "robot"


@cache
def robot_model_info(name: str) -> RobotModelInfo:
    spec = get_robot_spec(name)
    info = read_robot_info(spec, spec.model_dir())
    for note in info.notes:  # what was added to the model (a URDF's free base, ...): said once per process
        print(f"[INFO] robot '{name}': {note}", file=sys.stderr)
    if info.stand is not None:
        print(f"[INFO] robot '{name}': start pose found (the file gives none), holds: {info.stand}", file=sys.stderr)
    return info


def _joint_key(mjcf_name: str) -> str:
    # The USD converter renames a joint whose name clashes with a body (H1's "torso" -> "torso_1").
    return rf"{re.escape(mjcf_name)}(_\d+)?"


def policy_joint_keys(name: str) -> list[str]:
    """The joints the policy's actions move (the robot file's ``policy_joints`` among the actuated joints), as regexes
    that also match the USD converter's renamed joints."""
    spec = get_robot_spec(name)
    joints = robot_model_info(name).joint_names
    chosen = [j for j in joints if re.fullmatch(spec.policy_joints, j)]
    if not chosen:
        raise RobotConfigError(f"{spec.source or name}: field 'policy_joints': '{spec.policy_joints}' matches none of "
                               f"the actuated joints: {', '.join(joints)}")
    return [_joint_key(j) for j in chosen]


def _per_joint(values: dict[str, float]) -> dict[str, float]:
    return {_joint_key(name): value for name, value in values.items()}


def robot_usd(name: str) -> Path:
    """The robot's USD: the file's own (with its simulation layer), or its MJCF / URDF converted (once, cached)."""
    spec = get_robot_spec(name)
    if spec.usd:
        from .usd_robot import usd_for_simulation

        return Path(usd_for_simulation(spec)[0])
    return Path(mjcf_to_usd(model_mjcf(spec, spec.model_dir())[0]))


def spawn_robot(prim_path: str, cfg: RobotFileCfg, *args, **kwargs):
    """Isaac Lab's ``spawn_from_usd`` on :func:`robot_usd`, made now: the config stays data, as Isaac Lab's own
    ``UrdfFileCfg`` / ``MjcfFileCfg`` convert their file when the scene spawns it."""
    return sim_utils.spawn_from_usd(prim_path, cfg.replace(usd_path=str(robot_usd(cfg.robot))), *args, **kwargs)


@configclass
class RobotFileCfg(sim_utils.UsdFileCfg):
    """A robot file (assets/robots/*.toml or a user's) spawned through its USD, converted when spawned."""

    func: Callable = spawn_robot
    robot: str = ""
    """The robot's name (get_robot_spec)."""
    usd_path: str = "(made when spawned: robot_cfg.robot_usd)"


def robot_articulation_cfg(name: str, prim_path: str = "{ENV_REGEX_NS}/Robot") -> ArticulationCfg:
    """The robot as an Isaac Lab articulation held by implicit PD at its start pose."""
    info = robot_model_info(name)
    return ArticulationCfg(
        prim_path=prim_path,
        spawn=RobotFileCfg(
            robot=name,
            activate_contact_sensors=True,
            # One segmentation class for all of the robot's shapes: its mask is one id per env.
            semantic_tags=[("class", ROBOT_SEMANTIC_CLASS)],
        ),
        init_state=ArticulationCfg.InitialStateCfg(
            pos=info.base_pos,
            rot=info.base_quat_xyzw,
            joint_pos=_per_joint(info.joint_pos),
            joint_vel={".*": 0.0},
        ),
        actuators={
            "joints": ImplicitActuatorCfg(
                joint_names_expr=[_joint_key(j) for j in info.joint_names],
                effort_limit_sim=_per_joint(info.effort_limit),
                velocity_limit_sim=_per_joint(info.velocity_limit),
                stiffness=_per_joint(info.stiffness),
                damping=_per_joint(info.damping),
                armature=_per_joint(info.armature) or None,
            )
        },
    )
