"""Stage 1's first frame e0: the robot in its start pose, seen by the task's camera, background blanked.

The task camera is given as FollowCameraCfg fields over its defaults (``--camera``); e0 is rendered by the simulator
with it, or read from PNG files, or exported larger for a web generator (Kling, Sora) that wants 720p.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ReferenceInputError

BACKGROUND_COLOR = (255, 255, 255)
EXPORT_SHORT_SIDE = 720  # web generators take 720p first frames; a 224 px one comes back blurred


@dataclass(frozen=True)
class FirstFrame:
    """e0 (H, W, 3) uint8 with the background blanked, the robot's mask (H, W) bool, and the camera that saw it as a
    bundle records it (a dict with at least width and height)."""

    image: np.ndarray
    mask: np.ndarray
    camera: dict[str, Any]

    @classmethod
    def from_files(cls, image: str | Path, mask: str | Path, task_camera: dict[str, Any]) -> FirstFrame:
        """e0 and its mask (non-zero = robot) from PNG files; the camera is ``task_camera`` at the image's size."""
        e0 = read_png(image, rgb=True)
        return cls(e0, read_png(mask, rgb=False) > 0, {"width": e0.shape[1], "height": e0.shape[0], **task_camera})

    @classmethod
    def rendered(cls, robot: str, task_camera: dict[str, Any]) -> FirstFrame:
        """e0 rendered by the simulator with the task camera."""
        return cls(*render_first_frame(robot, follow_camera(task_camera)))


def blank_background(rgb: np.ndarray, mask: np.ndarray, color=BACKGROUND_COLOR) -> np.ndarray:
    """The image with every pixel outside the robot mask set to one plain colour (as the paper does)."""
    out = np.empty_like(rgb)
    out[...] = np.asarray(color, dtype=rgb.dtype)
    out[mask] = rgb[mask]
    return out


def render_first_frame(robot: str, camera_cfg, device: str = "cpu") -> tuple[np.ndarray, np.ndarray, dict]:
    """rgb (H, W, 3) uint8 with a plain background, the simulator's robot mask (H, W) bool, the camera dict."""
    from ..assets.robot_cfg import robot_model_info
    from ..scene.robot_scene import open_robot_scene

    with open_robot_scene(robot, num_envs=1, camera=camera_cfg, device=device) as scene:
        rgb, mask = scene.render()
        rgb, mask = rgb[0].cpu().numpy(), mask[0].cpu().numpy()
    if not mask.any():
        raise RuntimeError(f"The robot '{robot}' is not in view of the camera {camera_cfg}: its mask is empty.")
    return blank_background(rgb, mask), mask, camera_cfg.to_dict(robot_model_info(robot).base_pos[2])


def follow_camera(task_camera: dict[str, Any]):
    """The FollowCameraCfg of these fields (a wrong field is the user's mistake, said as ``--camera``)."""
    from ..scene.camera import FollowCameraCfg  # imports the simulator

    try:
        return FollowCameraCfg(**task_camera)
    except TypeError as err:
        raise ReferenceInputError(f"--camera: {err}") from err


def parse_camera_overrides(text: str | None) -> dict[str, Any]:
    """``--camera``: a JSON object of FollowCameraCfg fields, or a .json file holding one."""
    if not text:
        return {}
    src = Path(text).read_text() if text.endswith(".json") else text
    try:
        cfg = json.loads(src)
    except json.JSONDecodeError as err:
        raise ReferenceInputError(f"--camera is not a JSON object: {err}") from err
    if not isinstance(cfg, dict):
        raise ReferenceInputError("--camera must be a JSON object")
    return cfg


def read_png(path: str | Path, rgb: bool) -> np.ndarray:
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR if rgb else cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise ReferenceInputError(f"cannot read image {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB) if rgb else img


def export_first_frame(robot: str, out: str | Path, task_camera: dict[str, Any], prompt: str,
                       first_frame: FirstFrame | None = None, short_side: int = EXPORT_SHORT_SIDE) -> FirstFrame:
    """Write e0.png, e0_mask.png, camera.json and prompt.txt to ``out`` for a web generator; return what was written
    (its camera: the task camera, which the video is imported with). Without ``first_frame``, e0 is rendered larger
    than the task camera, with the same field of view, so that its short side is ``short_side`` px."""
    import cv2

    if first_frame is None:
        camera = follow_camera(task_camera)
        from ..assets.robot_cfg import robot_model_info  # needs the simulator's packages

        task = camera.to_dict(robot_model_info(robot).base_pos[2])
        scale = max(1.0, short_side / min(task["width"], task["height"]))
        size = {k: round(task[k] * scale) for k in ("width", "height")}
        large = FirstFrame.rendered(robot, {**task_camera, **size})
        first_frame = FirstFrame(large.image, large.mask, task)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out / "e0.png"), cv2.cvtColor(first_frame.image, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(out / "e0_mask.png"), first_frame.mask.astype(np.uint8) * 255)
    (out / "camera.json").write_text(json.dumps(first_frame.camera, indent=2) + "\n")
    (out / "prompt.txt").write_text(prompt + "\n")
    return first_frame
