"""Task ids of the walk tasks. Per-robot tuning (gains, start pose, feet) lives in ``nil_ext.assets.robots``,
so adding a robot is one line here and one ``RobotSpec`` there."""

from __future__ import annotations

import functools

import gymnasium as gym

from .agents import bro_walk_cfg, ppo_walk_cfg
from .walk_env_cfg import walk_env_cfg

WALK_TASKS = {"NIL-H1-Walk": "h1", "NIL-G1-Walk": "g1", "NIL-Talos-Walk": "talos", "NIL-A1-Walk": "a1"}

for task_id, robot in WALK_TASKS.items():
    gym.register(
        id=task_id,
        entry_point="isaaclab.envs:ManagerBasedRLEnv",
        disable_env_checker=True,
        kwargs={
            "env_cfg_entry_point": functools.partial(walk_env_cfg, robot),
            "bro_cfg_entry_point": functools.partial(bro_walk_cfg, robot),
            "rsl_rl_cfg_entry_point": functools.partial(ppo_walk_cfg, robot),
            "default_agent": "bro",
        },
    )
