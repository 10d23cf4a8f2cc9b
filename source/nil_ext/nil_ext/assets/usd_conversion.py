"""MJCF -> USD for Isaac Lab's Newton backend, done once per robot and cached by content hash.

The conversion uses the ``mujoco-usd-converter`` package (``python -m mujoco_usd_converter``), run in a
subprocess so a converter crash cannot take the simulation down with it. Before converting, the MJCF is
normalised: the root body moves to the origin (Isaac Lab's ``init_state.pos`` then is the base position, not an
offset added to the MJCF's own), geometry of the world body goes (a floor in a model that brings its own, such as
gymnasium's Ant, would hide the robot from the camera and double the scene's ground), and meshes mirrored with a negative ``scale`` (TALOS' right limbs) are baked
into mirrored mesh files, since Newton rejects negative scales.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import mujoco
import numpy as np

from ..cache_dir import cache_root
from .mjcf import MjcfError, load_mjcf

_CONVERSION_VERSION = "3"  # bump when the baking below changes, to invalidate old caches


def mjcf_to_usd(mjcf_path: Path) -> Path:
    """The USD file of an MJCF robot, converting it on first use."""
    mjcf_path = Path(mjcf_path).resolve()
    load_mjcf(mjcf_path)  # a broken file is reported with its path before anything is written
    key = _content_hash(mjcf_path.parent)
    out_dir = cache_root() / "usd" / f"{mjcf_path.stem}-{key}"
    usd_path = out_dir / f"{mjcf_path.stem}.usda"
    if usd_path.is_file():
        return usd_path

    print(f"[INFO] Converting {mjcf_path.name} to USD (once; cached in {out_dir})", file=sys.stderr, flush=True)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        source = _normalised_mjcf(mjcf_path, work / "mjcf")
        result = subprocess.run(
            [sys.executable, "-m", "mujoco_usd_converter", str(source), str(work / "usd"), "--no-physics-scene"],
            capture_output=True,
            text=True,
        )
        produced = list((work / "usd").glob("*.usda"))  # named after the model, not the file
        if result.returncode != 0 or len(produced) != 1:
            raise MjcfError(f"Converting {mjcf_path} to USD failed:\n{result.stdout}\n{result.stderr}")
        produced[0].rename(work / "usd" / usd_path.name)
        try:
            os.replace(work / "usd", out_dir)  # atomic: other processes see all of it or nothing
        except OSError:
            if not usd_path.is_file():  # lost a race to another process: theirs is as good
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return usd_path


def _content_hash(robot_dir: Path) -> str:
    digest = hashlib.sha256(_CONVERSION_VERSION.encode())
    digest.update(metadata.version("mujoco-usd-converter").encode())
    for path in sorted(p for p in robot_dir.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(robot_dir)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _normalised_mjcf(mjcf_path: Path, out_dir: Path) -> Path:
    """A copy of the MJCF with its root body at the origin, no world geometry and negatively scaled meshes baked."""
    spec = mujoco.MjSpec.from_file(str(mjcf_path))
    mesh_dir = (mjcf_path.parent / (spec.meshdir or "")).resolve()
    spec.meshdir = str(mesh_dir)
    root = spec.worldbody.first_body()
    root.pos = [0.0, 0.0, 0.0]
    root.quat = [1.0, 0.0, 0.0, 0.0]
    for geom in list(spec.worldbody.geoms):  # the robot only: the scene has its own ground
        spec.delete(geom)
    for mesh in spec.meshes:
        if np.all(np.asarray(mesh.scale) > 0):
            continue
        if not mesh.file.lower().endswith(".stl"):
            raise MjcfError(f"{mjcf_path}: mirrored mesh '{mesh.file}' is not an STL file; cannot bake it")
        target = out_dir / "mirrored" / f"{mesh.name or Path(mesh.file).stem}.stl"
        _write_scaled_stl(mesh_dir / mesh.file, target, np.asarray(mesh.scale, dtype=np.float64))
        mesh.file = str(target)
        mesh.scale = [1.0, 1.0, 1.0]
    spec.compile()
    out_dir.mkdir(parents=True, exist_ok=True)
    normalised = out_dir / mjcf_path.name
    normalised.write_text(spec.to_xml())
    return normalised


def _write_scaled_stl(source: Path, target: Path, scale: np.ndarray) -> None:
    from stl import mesh as stl_mesh  # numpy-stl

    data = stl_mesh.Mesh.from_file(str(source))
    data.vectors *= scale
    if np.prod(np.sign(scale)) < 0:  # a mirror turns faces inside out: swap two corners to keep normals outward
        data.vectors[:, [1, 2]] = data.vectors[:, [2, 1]]
    data.update_normals()
    target.parent.mkdir(parents=True, exist_ok=True)
    data.save(str(target))
