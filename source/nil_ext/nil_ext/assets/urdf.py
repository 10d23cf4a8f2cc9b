"""URDF -> MJCF through MuJoCo's own URDF reader, cached; the MJCF then takes the MJCF -> USD route.

What a URDF lacks, and what is done about it (each said in the robot's notes):
- a free base: URDF roots are fixed to the world; the root link gets a free joint.
- a floor: none is added (the scene brings the ground).
- collision classes: every collision shape collides with the ground and with other links, MuJoCo's default of
  skipping parent-child pairs applies; visual-only shapes are kept for the camera and do not collide.
- actuators: none; each joint's ``<limit effort>`` becomes its torque limit (MuJoCo's ``actuatorfrcrange``) and
  ``<limit velocity>`` its speed limit; the robot file's ``actuation`` table gives or overrides the rest.
Mesh paths resolve relative to the URDF's folder, ``package://NAME/...`` against the robot file's ``urdf_packages``.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

import mujoco

from ..cache_dir import cache_root
from .robots import RobotConfigError, RobotSpec

_URDF_VERSION = "1"  # bump when the conversion below changes


def urdf_to_mjcf(spec: RobotSpec) -> tuple[Path, list[str]]:
    """The cached MJCF of the robot file's URDF and the notes on what was added to it."""
    urdf = Path(spec.urdf)
    text = _resolved_text(spec, urdf)
    key = hashlib.sha256((_URDF_VERSION + mujoco.__version__ + text).encode()).hexdigest()[:16]
    out = cache_root() / "mjcf" / f"{urdf.stem}-{key}" / f"{urdf.stem}.xml"
    model_spec = _compile(spec, text)
    notes = _add_free_base(model_spec)
    notes.append("URDF: no floor added (the scene brings the ground); collision shapes collide, parent-child pairs "
                 "excluded (MuJoCo's default); joint <limit effort> / <limit velocity> are each joint's torque / speed limits")
    if not out.is_file():
        model_spec.compile()
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".xml")
        with os.fdopen(fd, "w") as f:
            f.write(model_spec.to_xml())
        os.replace(tmp, out)  # atomic: other processes see all of it or nothing
    return out, notes


def _resolved_text(spec: RobotSpec, urdf: Path) -> str:
    """The URDF with absolute mesh paths and MuJoCo's compiler options for a robot (keep every link and its visuals)."""
    text = urdf.read_text()

    def mesh_path(match: re.Match) -> str:
        name = match.group(2)
        if name.startswith("package://"):
            package, _, rest = name.removeprefix("package://").partition("/")
            if package not in spec.urdf_packages:
                raise RobotConfigError(f"{spec.source}: field 'urdf_packages': the URDF's mesh '{name}' needs a root "
                                       f"for package '{package}' (urdf_packages.{package} = \"path/to/{package}\")")
            path = Path(spec.urdf_packages[package]) / rest
        elif name.startswith("file://"):
            path = Path(name.removeprefix("file://"))
        else:
            path = urdf.parent / name
        if not path.is_file():
            raise RobotConfigError(f"{spec.source}: field 'urdf': mesh '{name}' of {urdf} not found at {path}")
        return f'{match.group(1)}"{path.resolve()}"'

    text = re.sub(r'(filename\s*=\s*)["\']([^"\']+)["\']', mesh_path, text)
    options = '<mujoco><compiler fusestatic="false" discardvisual="false" strippath="false"/></mujoco>'
    text = re.sub(r"<mujoco>.*?</mujoco>", "", text, flags=re.S)  # our options replace the file's own
    return re.sub(r"(<robot\b[^>]*>)", r"\1" + options, text, count=1)


def _compile(spec: RobotSpec, text: str) -> mujoco.MjSpec:
    try:
        model_spec = mujoco.MjSpec.from_string(text)
        model_spec.compile()
    except Exception as err:
        raise RobotConfigError(f"{spec.source}: field 'urdf': MuJoCo cannot read {spec.urdf}: {err}") from None
    return model_spec


def _add_free_base(model_spec: mujoco.MjSpec) -> list[str]:
    roots = [b for b in model_spec.worldbody.bodies]
    if len(roots) != 1:
        raise RobotConfigError(f"URDF with {len(roots)} root links; a robot has one")
    root = roots[0]
    if any(j.type == mujoco.mjtJoint.mjJNT_FREE for j in root.joints):
        return []
    if root.joints:
        raise RobotConfigError(f"URDF root link '{root.name}' is jointed to the world; a walking robot has a free base")
    root.add_freejoint()
    return [f"URDF: free joint added to the root link '{root.name}'"]


def urdf_velocity_limits(spec: RobotSpec) -> dict[str, float]:
    """Each joint's ``<limit velocity>`` (MuJoCo's model has no place for it)."""
    import xml.etree.ElementTree as ET

    limits = {}
    for joint in ET.parse(spec.urdf).getroot().iter("joint"):
        limit = joint.find("limit")
        if limit is not None and float(limit.get("velocity", 0) or 0) > 0:
            limits[joint.get("name")] = float(limit.get("velocity"))
    return limits
