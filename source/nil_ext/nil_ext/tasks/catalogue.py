"""The README's tables of tasks and robots, made from the gym registry and the robot files (``scripts/list_envs.py
--readme README.md`` rewrites them; a test checks that the README shows what the registry holds)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import gymnasium as gym

from ..assets.robots import ROBOTS, ROBOTS_DIR, RobotSpec, load_robot_file

BLOCK = "<!-- {name}: made by scripts/list_envs.py --readme README.md -->"


def checkout_robots() -> list[RobotSpec]:
    """The robots of the checkout's own files (not those of NIL_ROBOTS_DIR or --robot_config)."""
    return sorted((s for s in ROBOTS.values() if s.source and s.source.startswith(f"{ROBOTS_DIR}/")), key=lambda s: s.name)


def task_table() -> str:
    rows = ["| task | robot | agents |", "| --- | --- | --- |"]
    robots = {spec.name for spec in checkout_robots()}
    for task_id in sorted(t for t in gym.registry if t.startswith("NIL-")):
        kwargs = gym.registry[task_id].kwargs
        if kwargs["robot"] not in robots:
            continue
        agents = [k.removesuffix("_cfg_entry_point") for k in kwargs if k.endswith("_cfg_entry_point")]
        rows.append(f"| `{task_id}` | `{kwargs['robot']}` | {', '.join(a for a in agents if a != 'env')} |")
    return "\n".join(rows)


def example_robots() -> list[RobotSpec]:
    """The example robot files (``assets/robots/examples/``): robots outside the four, trained with --robot_config."""
    return [load_robot_file(path) for path in sorted((ROBOTS_DIR / "examples").glob("*.toml"))]


def robot_table() -> str:
    rows = ["| robot | model | start pose | PD (implicit) | base / feet | actions: joints, scale |",
            "| --- | --- | --- | --- | --- | --- |"]
    for spec in checkout_robots() + example_robots():
        name = f"`{spec.name}` ({spec.display_name})"
        if spec.source and not spec.source.startswith(f"{ROBOTS_DIR}/{spec.name}.toml"):
            name += f": `--robot_config assets/robots/examples/{spec.name}.toml`"
        kp = f"kp of `{spec.gains_file}`" if spec.gains_file else f"kp = {spec.kp_per_effort:g} x torque limit"
        kp += "".join(f" (`{k}` {v:g} x)" for k, v in spec.kp_per_effort_overrides.items())
        rows.append(f"| {name} | {_model(spec)} | {_start_pose(spec)} | {kp}, kd = {spec.kd_per_kp:g} kp | "
                    f"`{spec.base_body}` / `{spec.foot_bodies}` | {_policy_joints(spec)}, {spec.action_scale:g} |")
    return "\n".join(rows)


def _model(spec: RobotSpec) -> str:
    """The model as its robot file names it (a loaded spec holds resolved, machine-specific paths)."""
    raw = tomllib.loads(Path(spec.source).read_text()) if spec.source else {}
    kind = next(k for k in ("usd", "urdf", "mjcf") if getattr(spec, k))
    path = raw.get(kind, getattr(spec, kind))
    if spec.menagerie:
        return f"{kind.upper()}, Menagerie `{spec.menagerie}/{path}`"
    return f"{kind.upper()}, " + (f"package `{spec.package}`: " if spec.package else "") + f"`{path}`"


def _policy_joints(spec: RobotSpec) -> str:
    if spec.policy_joints == ".*":
        return "all"
    return "`" + spec.policy_joints.replace("|", "\\|") + "` (the rest hold)"  # a table cell escapes its pipes


def _start_pose(spec: RobotSpec) -> str:
    if spec.keyframe is None and not spec.pose_overrides:
        return "found (feet on the ground, settled under PD)" if spec.usd or spec.urdf else "qpos0"
    if spec.keyframe is None:
        pose = "qpos0"
    else:
        pose = f"keyframe `{spec.keyframe}`" + (f" of `{spec.keyframe_file}`" if spec.keyframe_file else "")
    if spec.pose_overrides:
        pose += ", then " + ", ".join(f"`{k}` {v:g}" for k, v in spec.pose_overrides.items())
    if spec.base_pitch:
        pose += f", leaning {spec.base_pitch:g} rad forward"
    return pose


def with_tables(readme: str) -> str:
    """``readme`` with the text after each table's marker line, up to the next blank line, replaced."""
    for name, table in (("tasks", task_table()), ("robots", robot_table())):
        marker = BLOCK.format(name=name)
        if marker not in readme:
            raise ValueError(f"The README has no line '{marker}' to put the {name} table after.")
        block = f"{marker}\n{table}\n"
        readme = re.sub(re.escape(marker) + r"\n(?:\|.*\n)*", lambda _, block=block: block, readme)
    return readme
