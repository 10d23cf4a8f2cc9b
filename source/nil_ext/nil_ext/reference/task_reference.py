"""A reference bundle made ready for one task run: loaded, gated, checked against the task's robot and camera geometry,
resampled to the camera's size and retimed to its control rate. Called once when the env starts; the bundle on disk is
never changed."""

from __future__ import annotations

import math
from typing import Any

from .bundle import ReferenceBundle
from .quality import gate_warning


def load_task_reference(path: str, robot: str, camera: dict[str, Any], control_fps: float) -> ReferenceBundle:
    """The bundle at ``path`` for ``robot`` seen by ``camera`` (``FollowCameraCfg.to_dict``) at ``control_fps``.

    Reference frame t is compared with control step t: a bundle made for another rate would play too fast or too
    slow, so it is retimed in memory (with a progress bar; embeddings cached for the old rate are dropped). Its mask
    t is compared pixel by pixel with the camera's: a bundle made at another resolution of the same camera geometry
    (a 224 px bundle, a 64 px preset) is resampled in memory as well.
    Raises :class:`~nil_ext.reference.errors.BundleError` (one line) for a bundle made for another robot or another
    camera geometry (distance, height, yaw, focal length, aspect)."""
    bundle = ReferenceBundle.load(path)
    warning = gate_warning(bundle.quality, path)
    if warning:
        print(warning, flush=True)
    bundle.check_compatible(robot, camera, where=f"the reference {path}")
    size = (camera.get("height"), camera.get("width"))
    if None not in size and bundle.size != size:
        print(f"[INFO] The reference {path} is {bundle.size[1]}x{bundle.size[0]} px and this task's camera "
              f"{size[1]}x{size[0]} px: resampling its frames and masks for this run.", flush=True)
        bundle = bundle.resized(size[1], size[0])
    if not math.isclose(bundle.fps, control_fps, rel_tol=1e-6):
        print(f"[INFO] The reference {path} is at {bundle.fps:g} fps and this task controls at {control_fps:g} Hz: "
              f"retiming it to {control_fps:g} fps for this run.", flush=True)
        bundle = bundle.retimed(control_fps, progress=True)
    return bundle
