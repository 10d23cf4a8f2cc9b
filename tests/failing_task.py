"""NIL-A1-Walk-Failing: A1's walk task (cpu-smoke) whose ``alive`` reward term raises after a few calls.

Imported by ``train.py --task failing_task:NIL-A1-Walk-Failing``. Settings, from the environment:
NIL_TEST_FAIL_AFTER (calls before the failure, default 5), NIL_TEST_FAIL_KIND ("oom": torch.OutOfMemoryError as the
CUDA allocator raises it, else RuntimeError) and NIL_TEST_FAIL_STAMP (a file the term writes time.time() to just
before it raises, so that a test can time the exit).
"""

import os
import time

import gymnasium as gym
import torch

from nil_ext.tasks.mdp import nil_alive
from nil_ext.tasks.walk.agents import bro_walk_cfg
from nil_ext.tasks.walk.walk_env_cfg import walk_env_cfg

TASK = "NIL-A1-Walk-Failing"
_calls = {"n": 0}


def failing_alive(env):
    _calls["n"] += 1
    if _calls["n"] > int(os.environ.get("NIL_TEST_FAIL_AFTER", "5")):
        if stamp := os.environ.get("NIL_TEST_FAIL_STAMP"):
            with open(stamp, "w") as f:
                f.write(repr(time.time()))
        if os.environ.get("NIL_TEST_FAIL_KIND") == "oom":
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.23 GiB (injected by the test)")
        raise RuntimeError("injected failure in the alive term")
    return nil_alive(env)


def failing_env_cfg(preset: str = "cpu-smoke"):
    cfg = walk_env_cfg("a1", preset)
    cfg.rewards.alive.func = failing_alive
    return cfg


def failing_bro_cfg(preset: str = "cpu-smoke"):
    return bro_walk_cfg("a1", preset)


if TASK not in gym.registry:
    gym.register(id=TASK, entry_point="isaaclab.envs:ManagerBasedRLEnv", disable_env_checker=True,
                 kwargs={"env_cfg_entry_point": failing_env_cfg, "bro_cfg_entry_point": failing_bro_cfg})
