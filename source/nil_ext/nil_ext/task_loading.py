"""What the scripts share: their simulator flags, finding tasks, loading their configs, finding checkpoints."""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import json
import os
import re

import gymnasium as gym


def add_sim_args(parser) -> None:
    """Isaac Lab's launcher flags (``--device``, ``--viz``, ...) and ``--headless``, which users type by habit from
    Isaac Lab's own scripts (kit-less runs are headless unless ``--viz``)."""
    from isaaclab.app import add_launcher_args

    parser.add_argument("--headless", action="store_true", help="accepted for habit: runs are headless unless --viz")
    add_launcher_args(parser)


def control_rate_hz(env_cfg) -> float:
    """The policy and reward rate of an env config, in Hz."""
    return round(1.0 / (env_cfg.decimation * env_cfg.sim.dt), 6)


def import_tasks(task: str, robot_config: str | None = None, checkpoint: str | None = None) -> str:
    """Register the tasks of every ``isaaclab.tasks`` entry point (and of ``module`` in ``module:Gym-Id``);
    return the task id.

    ``robot_config``: a robot file whose walk task to register too (``NIL-Walk`` then stands for it). Without one,
    a task that is still unknown is looked for in the robot file ``checkpoint``'s run trained with."""
    from .tasks import GENERIC_WALK_TASK, register_robot_file

    module, _, task_id = task.rpartition(":")
    if module:
        importlib.import_module(module)
    for entry_point in importlib.metadata.entry_points(group="isaaclab.tasks"):
        entry_point.load()
    if robot_config is None and checkpoint and task_id not in gym.registry:
        robot_config = run_settings(checkpoint).get("robot_config")
    if robot_config:
        own = _user_error(register_robot_file, robot_config)
        if task_id == GENERIC_WALK_TASK:
            return own
    elif task_id == GENERIC_WALK_TASK:
        raise SystemExit(f"{GENERIC_WALK_TASK} is the walk task of the robot file given with --robot_config FILE.toml "
                         "(see assets/robots/h1.toml); give one, or a robot's own task id (scripts/list_envs.py).")
    return task_id


def load_cfg(task_id: str, key: str, **kwargs):
    """The config a task names under ``key``: "module:attr" or an object; classes and factories are called
    (with those of ``kwargs`` they accept, e.g. ``preset``)."""
    spec = task_spec(task_id)
    entry = spec.kwargs.get(key)
    if entry is None:
        offered = [k for k in spec.kwargs if k.endswith("_entry_point")]
        raise ValueError(f"Task '{task_id}' has no '{key}'; it names {offered}.")
    if isinstance(entry, str):
        module, attr = entry.split(":")
        entry = getattr(importlib.import_module(module), attr)
    if not callable(entry):
        return entry
    accepted = inspect.signature(entry).parameters
    return _user_error(entry, **{k: v for k, v in kwargs.items() if v is not None and k in accepted})


def _user_error(call, *args, **kwargs):
    """``call``, with a robot that cannot be used (its file, its MJCF, its download) said in one message instead of a
    traceback."""
    from .assets import MenagerieNotFoundError, MjcfError, RobotConfigError, UnknownRobotError

    try:
        return call(*args, **kwargs)
    except (RobotConfigError, MjcfError, MenagerieNotFoundError, UnknownRobotError) as err:
        raise SystemExit(f"[ERROR] {err}") from err


def task_spec(task_id: str):
    try:
        return gym.spec(task_id)
    except gym.error.Error:
        known = sorted(t for t in gym.registry if t.startswith("NIL-"))
        raise SystemExit(f"Unknown task '{task_id}'. NIL tasks: {', '.join(known)} (list all: scripts/list_envs.py).") from None


def latest_checkpoint(experiment_dir: str) -> str:
    """The highest-numbered model_*.pt of the latest run that has one."""
    runs = sorted(d.path for d in os.scandir(experiment_dir) if d.is_dir()) if os.path.isdir(experiment_dir) else []
    for run in reversed(runs):
        models = [f for f in os.listdir(run) if re.fullmatch(r"model_\d+\.pt", f)]
        if models:
            return os.path.join(run, max(models, key=lambda f: int(f[6:-3])))
    raise FileNotFoundError(f"No checkpoint to resume from in '{experiment_dir}'.")


def run_settings(checkpoint: str) -> dict:
    """Preset, profile, camera mode, control rate, action scale and reference bundle the checkpoint's run was trained
    with (its params/env.json), where known, so that playing or evaluating it sets the task up the same way."""
    try:
        with open(os.path.join(os.path.dirname(checkpoint), "params", "env.json")) as f:
            env = json.load(f)
    except (OSError, ValueError):
        return {}
    control_dt = env.get("decimation", 0) * env.get("sim", {}).get("dt", 0.0)
    imitation = env.get("imitation", {})
    scale = env.get("actions", {}).get("joint", {}).get("scale")  # torque actions: one per joint, from the robot
    # runs from before profiles were trained with the paper's reward
    return {"preset": env.get("preset"), "profile": env.get("profile", "paper"), "camera_mode": imitation.get("camera", {}).get("mode"),
            "control_hz": round(1.0 / control_dt, 6) if control_dt > 0 else None,
            "reference": imitation.get("reference"), "robot_config": env.get("robot_config"),
            "action_scale": scale if isinstance(scale, (int, float)) else None}


def trained_reference(run: dict, preset: str) -> str | None:
    """The reference bundle a run trained on (``run``: its :func:`run_settings`), to play it back against the same
    one; None (the task's default) when another preset is asked for (the bundle fits the run's camera only) or the
    folder is gone, which is said."""
    reference = run.get("reference")
    if not reference or preset != run.get("preset"):
        return None
    if not os.path.isdir(reference):
        print(f"[WARN] The run's reference bundle {reference} is gone: using the task's default reference; "
              "pass --reference to choose one.")
        return None
    return reference


def resolve_device(requested: str | None, default: str) -> str:
    """The device to run on: the requested one (else ``default``), or the CPU with a warning when CUDA is missing."""
    import torch

    device = requested or default
    if torch.device(device).type == "cuda" and not torch.cuda.is_available():
        print(f"[WARN] No CUDA device: running on the CPU instead of '{device}'.")
        device = "cpu"
    return device


def set_reward_weights(env_cfg, weights: list[str] | None) -> None:
    """Apply ``NAME=WEIGHT`` items (train.py's ``--reward``) to the env config's reward terms, e.g. ``alive=0.5``
    (0 switches a term off); an unknown name or a weight that is not a number stops with the choices."""
    rewards = getattr(env_cfg, "rewards", None)
    for item in weights or ():
        name, _, value = item.partition("=")
        term = getattr(rewards, name.strip(), None)
        if not hasattr(term, "weight"):
            known = sorted(k for k, v in vars(rewards).items() if hasattr(v, "weight")) if rewards is not None else []
            raise SystemExit(f"[ERROR] --reward {item}: no reward term '{name}'; this task's terms: {', '.join(known)}.")
        try:
            term.weight = float(value)
        except ValueError:
            raise SystemExit(f"[ERROR] --reward {item}: the weight must be a number, as in --reward {name}=0.5.") from None
