"""Agent configs of the whole-body tasks: the walk tasks' own, under the skill's experiment name."""

from __future__ import annotations

from isaaclab_rl.rsl_rl import RslRlOnPolicyRunnerCfg

from ...agents.bro.config import BroRunnerCfg
from ..walk.agents import bro_walk_cfg, ppo_walk_cfg


def bro_wholebody_cfg(robot: str, skill: str, preset: str = "gpu") -> BroRunnerCfg:
    cfg = bro_walk_cfg(robot, preset)
    cfg.experiment_name = f"nil_{robot}_{skill}"
    return cfg


def ppo_wholebody_cfg(robot: str, skill: str, preset: str = "gpu") -> RslRlOnPolicyRunnerCfg:
    cfg = ppo_walk_cfg(robot, preset)
    cfg.experiment_name = f"nil_{robot}_{skill}"
    return cfg
