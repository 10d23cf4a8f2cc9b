"""The config factories the gym registry names, as ``"nil_ext.tasks.entry_points:<name>"`` strings.

Isaac Lab's own tasks name a config class per robot (``"...rough_env_cfg:H1RoughEnvCfg"``) and its loader
(``isaaclab_tasks.utils.parse_cfg.load_cfg_from_registry``, used by its stock train / play scripts) imports the
string and calls what it finds with no arguments. NIL's robots are data (``assets/robots/*.toml``), so their
tasks are made at import: each is a module-level function here, the task's factory with the robot (and skill)
fixed. NIL's scripts pass the factory's other keywords (``preset``, ``num_envs``, ...), which each function keeps
in its signature; called bare, as Isaac Lab's loader does, a function gives the preset of the ``NIL_PRESET``
setting (default ``gpu``), so that ``NIL_PRESET=cpu-smoke isaaclab train --rl_library rsl_rl ...`` runs on a CPU.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable

PRESET_ENV = "NIL_PRESET"


def export(name: str, factory: Callable, *args, **kwargs) -> str:
    """Publish ``factory`` with its leading ``args`` (and ``kwargs``) fixed as ``name`` in this module; return the
    entry-point string that names it."""

    params = list(inspect.signature(factory).parameters.values())[len(args):]

    def cfg(**more):
        if "preset" in (p.name for p in params) and more.get("preset") is None:
            more["preset"] = os.environ.get(PRESET_ENV, "gpu")
        return factory(*args, **kwargs, **more)

    cfg.__signature__ = inspect.Signature([p for p in params if p.name not in kwargs])
    cfg.__name__ = cfg.__qualname__ = name
    cfg.__module__ = __name__
    cfg.__doc__ = factory.__doc__
    setattr(sys.modules[__name__], name, cfg)
    return f"{__name__}:{name}"
