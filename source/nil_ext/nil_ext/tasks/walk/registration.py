"""Task ids of the walk tasks: ``NIL-<Robot>-Walk`` for every robot file (``assets/robots/*.toml``)."""

from __future__ import annotations

import gymnasium as gym

from ...assets.robots import ROBOTS, get_robot_spec
from ..entry_points import export
from .agents import bro_walk_cfg, ppo_walk_cfg
from .walk_env_cfg import walk_env_cfg

GENERIC_WALK_TASK = "NIL-Walk"
"""Stands for the walk task of the robot given by ``--robot_config FILE.toml``."""


def walk_task_id(robot: str) -> str:
    return f"NIL-{get_robot_spec(robot).task_name}-Walk"


def register_walk_task(robot: str) -> str:
    """Register the walk task of a known robot; return its id."""
    task_id = walk_task_id(robot)
    gym.register(
        id=task_id,
        entry_point="isaaclab.envs:ManagerBasedRLEnv",
        disable_env_checker=True,
        kwargs={
            "env_cfg_entry_point": export(f"{robot}_walk_env_cfg", walk_env_cfg, robot),
            "bro_cfg_entry_point": export(f"{robot}_walk_bro_cfg", bro_walk_cfg, robot),
            "rsl_rl_cfg_entry_point": export(f"{robot}_walk_ppo_cfg", ppo_walk_cfg, robot),
            "default_agent": "bro",
            "robot": robot,
        },
    )
    return task_id


WALK_TASKS = {register_walk_task(robot): robot for robot in ROBOTS}
