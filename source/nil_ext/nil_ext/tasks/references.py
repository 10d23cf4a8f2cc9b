"""Where a task finds its reference bundle: the one the user gives, or the robot's scripted demo."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..cache_dir import cache_root
from ..child_process import run_tool

CAMERA_GEOMETRY = ("distance", "height_offset", "yaw_deg", "focal_length", "horizontal_aperture")


def aligned_camera(path: str | Path) -> dict | None:
    """The camera geometry a bundle's video was aligned to (generate_reference.py's render-and-compare search), or
    None when the bundle was made with the task's own camera (or is no bundle: loading it says why, later)."""
    from ..reference.bundle import JSON_NAME

    try:
        doc = json.loads((Path(path) / JSON_NAME).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if doc.get("meta", {}).get("camera_source") != "aligned":
        return None
    return {k: doc["camera"][k] for k in CAMERA_GEOMETRY if k in doc["camera"]}


def scripted_reference_path(robot: str, camera: dict) -> Path:
    """Cache folder of the scripted walk of ``robot`` seen by ``camera`` (one per camera and gait)."""
    from ..reference import scripted

    key = json.dumps(camera, sort_keys=True) + repr(scripted.gait_of(robot)) + f"{scripted.SOURCE_FPS}/{scripted.VERSION}"
    key = hashlib.sha256(key.encode())
    key = key.hexdigest()[:12]
    return cache_root() / "references" / f"{robot}-walk-scripted-{key}"


def ensure_scripted_reference(robot: str, camera: dict) -> Path:
    """The scripted demo bundle, rendered in a separate process on first use (the caller may hold a simulation)."""
    path = scripted_reference_path(robot, camera)
    if (path / "bundle.json").is_file():
        return path
    print(
        f"[nil_ext] No reference given: rendering the SYNTHETIC scripted walk of '{robot}' to {path} (once).\n"
        "          For a real one: scripts/generate_reference.py --robot ROBOT --skill walking --out DIR, "
        "then --reference DIR.",
        flush=True,
    )
    return _rendered("render-scripted", [robot, json.dumps(camera)], path)


def wholebody_reference_path(robot: str, skill: str, camera: dict) -> Path:
    """Cache folder of the scripted whole-body ``skill`` of ``robot`` seen by ``camera`` (its dict, with "mode")."""
    from ..reference import scripted_wholebody as swb
    from ..scene.props import skill_prop

    key = (json.dumps(camera, sort_keys=True) + repr(skill_prop(skill, robot)) + repr(swb.ARMS_UP.get(robot))
           + f"{swb.SOURCE_FPS}/{swb.NUM_FRAMES}/{swb.VERSION}")
    return cache_root() / "references" / f"{robot}-{skill}-scripted-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def ensure_wholebody_reference(robot: str, skill: str, camera: dict) -> Path:
    """The scripted whole-body demo bundle, rendered with its prop in a separate process on first use."""
    path = wholebody_reference_path(robot, skill, camera)
    if (path / "bundle.json").is_file():
        return path
    print(f"[nil_ext] No reference given: rendering the SYNTHETIC scripted '{skill}' of '{robot}' to {path} (once).",
          flush=True)
    return _rendered("render-wholebody", [robot, skill, json.dumps(camera)], path)


def _rendered(command: str, args: list[str], path: Path) -> Path:
    """Render in a child process (``python -m nil_ext.tools``), since the caller may already hold a simulation."""
    run_tool(command, *args, str(path), what="Rendering the scripted reference")
    if not (path / "bundle.json").is_file():
        raise RuntimeError(f"Rendering the scripted reference wrote no {path / 'bundle.json'}")
    return path
