"""Task ids of the whole-body tasks (the paper's whole-body experiment), for the humanoids that fit them."""

from __future__ import annotations

import gymnasium as gym

from ..entry_points import export
from .agents import bro_wholebody_cfg, ppo_wholebody_cfg
from .wholebody_env_cfg import wholebody_env_cfg

_SKILL_IDS = {"sit": "SitChair", "hang": "HangBar", "balance": "BalanceBoard"}
_ROBOT_IDS = {"h1": "H1", "g1": "G1"}
WHOLEBODY_TASKS = {f"NIL-{r}-{s}": (robot, skill) for robot, r in _ROBOT_IDS.items() for skill, s in _SKILL_IDS.items()}

for task_id, (robot, skill) in WHOLEBODY_TASKS.items():
    gym.register(
        id=task_id,
        entry_point="isaaclab.envs:ManagerBasedRLEnv",
        disable_env_checker=True,
        kwargs={
            "env_cfg_entry_point": export(f"{robot}_{skill}_env_cfg", wholebody_env_cfg, robot, skill),
            "bro_cfg_entry_point": export(f"{robot}_{skill}_bro_cfg", bro_wholebody_cfg, robot, skill),
            "rsl_rl_cfg_entry_point": export(f"{robot}_{skill}_ppo_cfg", ppo_wholebody_cfg, robot, skill),
            "default_agent": "bro",
            "robot": robot,
        },
    )
