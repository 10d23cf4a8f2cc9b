"""What the scripts share: their simulator flags, finding tasks, loading their configs, finding and reading
checkpoints, and a run's settings (recorded by train.py, replayed by play.py and evaluate.py)."""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import json
import os
import re

import gymnasium as gym

from .errors import CheckpointError, ConfigError, TaskError
from .overrides import OverrideError, apply_overrides

RUN_SETTINGS_FILE = "overrides.json"
"""Beside env.json in a run's params/: the task, its config factory's arguments and the overrides, in order."""
REPLAY_SKIPS = ("env.scene.num_envs", "env.sim.device", "env.seed")
"""Recorded overrides a replaying script sets for itself (its own --num_envs, --device, seeds)."""


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
        own = register_robot_file(robot_config)
        if task_id == GENERIC_WALK_TASK:
            return own
    elif task_id == GENERIC_WALK_TASK:
        raise TaskError(f"{GENERIC_WALK_TASK} is the walk task of the robot file given with --robot_config FILE.toml "
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
    from .assets import MjcfError, RobotConfigError

    accepted = inspect.signature(entry).parameters
    try:
        return entry(**{k: v for k, v in kwargs.items() if v is not None and k in accepted})
    except (RobotConfigError, MjcfError):
        raise  # the robot's file or model: its message names it already
    except ValueError as err:  # the factory's refusal of an argument: an unknown preset or profile, a bad rate
        raise ConfigError(f"{task_id}: {err}") from err


def factory_parameters(task_id: str, key: str = "env_cfg_entry_point") -> list[str]:
    """The keyword arguments the config factory a task names under ``key`` takes (none for a config object)."""
    entry = task_spec(task_id).kwargs.get(key)
    if isinstance(entry, str):
        module, attr = entry.split(":")
        entry = getattr(importlib.import_module(module), attr)
    return list(inspect.signature(entry).parameters) if callable(entry) else []


def task_spec(task_id: str):
    try:
        return gym.spec(task_id)
    except gym.error.Error:
        known = sorted(t for t in gym.registry if t.startswith("NIL-"))
        raise TaskError(f"Unknown task '{task_id}'. NIL tasks: {', '.join(known)} (list all: scripts/list_envs.py).") \
            from None


def latest_checkpoint(experiment_dir: str) -> str:
    """The highest-numbered model_*.pt of the latest run that has one."""
    runs = sorted(d.path for d in os.scandir(experiment_dir) if d.is_dir()) if os.path.isdir(experiment_dir) else []
    for run in reversed(runs):
        models = [f for f in os.listdir(run) if re.fullmatch(r"model_\d+\.pt", f)]
        if models:
            return os.path.join(run, max(models, key=lambda f: int(f[6:-3])))
    raise FileNotFoundError(f"No checkpoint to resume from in '{experiment_dir}': train without --resume, or pass "
                            "--checkpoint PATH/model_N.pt.")


def read_checkpoint(path: str, task: str | None = None, agent: str | None = None) -> dict:
    """The checkpoint at ``path``, read on the CPU, or a :class:`~nil_ext.errors.CheckpointError` naming it when it is
    missing or unreadable; with ``agent`` (and ``task``), one written by another agent (or for another task) is
    refused too. Scripts call this before the simulator starts."""
    import torch

    from .agents.bro.runner import check_checkpoint

    hint = "pass the model_N.pt of a train.py run (logs/<agent>/<experiment>/<run>/model_N.pt)"
    if not os.path.isfile(path):
        raise CheckpointError(f"No checkpoint at {path}: {hint}.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # torch.load fails in many ways on a file that is no checkpoint
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:160]
        raise CheckpointError(f"Cannot read the checkpoint {path} ({reason}): the file is truncated or no "
                              f"checkpoint; {hint}.") from err
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} holds a {type(state).__name__}, not a checkpoint: {hint}.")
    if agent is not None:
        check_checkpoint(state, path, task or "", agent)
    return state


def imitation_settings(env: dict) -> dict:
    """The imitation command's settings in a run's params/env.json: ``commands.imitation`` (runs before 2026-11-27
    kept them at the top level, ``imitation``)."""
    command = env.get("commands", {}).get("imitation") or {}
    return command if "reference" in command else env.get("imitation", {})


def run_settings(checkpoint: str) -> dict:
    """What rebuilds the env a checkpoint's run trained in (its params/overrides.json, written by train.py):
    ``{"task", "factory": {the task config factory's arguments}, "overrides": [...], "reference", "robot_config"}``;
    {} when the checkpoint has no params beside it.

    Runs from before overrides were recorded have only params/env.json: their preset, profile, camera mode, control
    rate and action scale are read from it, as the factory arguments and the override they amount to."""
    params = os.path.join(os.path.dirname(checkpoint), "params")
    try:
        with open(os.path.join(params, RUN_SETTINGS_FILE)) as f:
            return json.load(f)
    except (OSError, ValueError):
        pass
    try:
        with open(os.path.join(params, "env.json")) as f:
            env = json.load(f)
    except (OSError, ValueError):
        return {}
    control_dt = env.get("decimation", 0) * env.get("sim", {}).get("dt", 0.0)
    imitation = imitation_settings(env)
    scale = env.get("actions", {}).get("joint", {}).get("scale")  # torque actions: one per joint, from the robot
    factory = {"preset": env.get("preset"),
               "profile": env.get("profile", "paper"),  # runs from before profiles trained with the paper's reward
               "camera_mode": imitation.get("camera", {}).get("mode"),
               "control_hz": round(1.0 / control_dt, 6) if control_dt > 0 else None}
    return {"factory": {k: v for k, v in factory.items() if v is not None},
            "overrides": [f"env.actions.joint.scale={scale}"] if isinstance(scale, (int, float)) else [],
            "reference": imitation.get("reference"), "robot_config": env.get("robot_config")}


def recorded_factory_args(task_id: str, env_cfg, given: dict) -> dict:
    """The factory arguments to record for a run: those ``given`` (not None), and for the rest the value the config
    resolved to (preset, profile, camera mode, control rate), so that a replay does not depend on defaults that a
    later release may change. The machine's own (num_envs, device) are left to the replaying script."""
    resolved = {
        "preset": lambda: env_cfg.preset,
        "profile": lambda: env_cfg.profile,
        "camera_mode": lambda: env_cfg.imitation.camera.mode,
        "control_hz": lambda: control_rate_hz(env_cfg),
    }
    out = {}
    for name in factory_parameters(task_id):
        if name in ("num_envs", "device"):
            continue
        if given.get(name) is not None:
            out[name] = given[name]
        elif name in resolved:
            try:
                out[name] = resolved[name]()
            except AttributeError:
                pass
    return out


def save_run_settings(params_dir: str, task_id: str, factory: dict, overrides: list[str], env_cfg) -> str:
    """Write a run's params/overrides.json (see :func:`run_settings`); returns its path."""
    imitation = getattr(env_cfg, "imitation", None)
    doc = {"task": task_id, "factory": factory, "overrides": list(overrides),
           "reference": getattr(imitation, "reference", None), "robot_config": getattr(env_cfg, "robot_config", None)}
    os.makedirs(params_dir, exist_ok=True)
    path = os.path.join(params_dir, RUN_SETTINGS_FILE)
    with open(path, "w") as f:
        json.dump(doc, f, indent=2, default=str)
    return path


def run_env_cfg(task_id: str, run: dict, overrides: list[str] = (), play: bool = True, **given):
    """The env config of a checkpoint's run (``run``: :func:`run_settings`): the task's factory called with the
    run's recorded arguments (the script's own ``given`` ones win where not None, e.g. ``num_envs``), the run's
    overrides replayed (but for :data:`REPLAY_SKIPS`), then Isaac Lab's ``play_mode()`` (``play``), then the
    script's own ``overrides``."""
    factory = {**run.get("factory", {}), **{k: v for k, v in given.items() if v is not None}}
    env_cfg = load_cfg(task_id, "env_cfg_entry_point", **factory)
    recorded = [o for o in run.get("overrides", []) if o.split("=", 1)[0] not in REPLAY_SKIPS
                and o.startswith("env.")]
    try:
        apply_overrides({"env": env_cfg}, recorded)
    except OverrideError as err:
        raise OverrideError(f"The run's params/{RUN_SETTINGS_FILE} no longer applies to {task_id}: {err}") from err
    if play and hasattr(env_cfg, "play_mode"):
        env_cfg.play_mode()
    apply_overrides({"env": env_cfg, "agent": None}, overrides)
    return env_cfg


def trained_reference(run: dict, preset: str) -> str | None:
    """The reference bundle a run trained on (``run``: its :func:`run_settings`), to play it back against the same
    one; None (the task's default) when another preset is asked for (the bundle fits the run's camera only) or the
    folder is gone, which is said."""
    reference = run.get("reference")
    if not reference or preset != run.get("factory", {}).get("preset"):
        return None
    if not os.path.isdir(reference):
        print(f"[WARN] The run's reference bundle {reference} is gone: using the task's default reference; "
              "pass --reference to choose one.")
        return None
    return reference


def check_reference(env_cfg) -> None:
    """Refuse, before the simulator starts, a reference (``--reference``) that is no bundle or was made for another
    robot. A bundle whose camera does not fit is refused when the env loads it (one line as well)."""
    from .reference.bundle import JSON_NAME
    from .reference.errors import BundleError

    path = getattr(getattr(env_cfg, "imitation", None), "reference", None)
    if not path:
        return
    how = "make one with scripts/generate_reference.py, or leave --reference out (the robot's scripted demo)"
    if not os.path.isfile(os.path.join(path, JSON_NAME)):
        raise BundleError(f"The reference {path} is not a reference bundle (no {JSON_NAME}): {how}.")
    try:
        with open(os.path.join(path, JSON_NAME)) as f:
            robot = json.load(f).get("robot")
    except (OSError, ValueError, AttributeError):
        return  # loading it says what is wrong
    own = getattr(env_cfg, "robot_name", None)
    if robot and own and robot != own:
        raise BundleError(f"The reference {path} was made for robot '{robot}', not '{own}': make one for '{own}' "
                          f"with scripts/generate_reference.py --robot {own}, or leave --reference out.")


def resolve_device(requested: str | None, default: str) -> str:
    """The device to run on: the requested one (else ``default``), or the CPU with a warning when CUDA is missing."""
    import torch

    device = requested or default
    if torch.device(device).type == "cuda" and not torch.cuda.is_available():
        print(f"[WARN] No CUDA device: running on the CPU instead of '{device}'.")
        device = "cpu"
    return device


def set_reward_weights(env_cfg, weights: list[str] | None) -> None:
    """Apply ``NAME=WEIGHT`` items (the ``--reward`` flag of earlier releases) to the env config's reward terms, as
    the overrides ``env.rewards.NAME.weight=WEIGHT``."""
    apply_overrides({"env": env_cfg}, [f"env.rewards.{n.strip()}.weight={w.strip()}"
                                       for n, _, w in (item.partition("=") for item in weights or ())])
