"""A clip "from elsewhere" with its truth: what a user's Kling or Sora export looks like, made by the simulator.

The robot walks its scripted gait, already mid-stride in the first frame, seen from the front-left (not the task
camera's side view), over a new background: a dark robot on a light grey grid floor with a soft shadow under its
feet and a watermark in a corner, or a light robot on a light floor. The truth masks measure the import
(tests/test_reference_your_own_video.py, docs/your_own_video.md). Rendering needs the simulator; the styling
does not.
"""

from __future__ import annotations

import numpy as np

from .errors import ReferenceInputError
from .synthetic_videos import composite

# front-left, a little above the base, a wider lens than the task camera's (24 mm): the robot near the centre
CAMERA = dict(width=256, height=144, yaw_deg=130.0, height_offset=0.5, focal_length=14.0, mode="follow_agent")
START_S = 0.62  # s into the scripted walk: past its 0.5 s ramp, the legs apart (mid-stride)
STYLES = {
    "dark_grid": dict(background="grid_floor", shadow=0.55, watermark="AI video", robot_tone="dark"),
    "light_floor": dict(background="light_floor", shadow=0.35, watermark="AI video", robot_tone="light"),
}
ASPECTS = {"16:9": (256, 144), "4:3": (192, 144)}
PAN_PX = (-2.0, 0.0)  # the ground slides under a camera that follows the robot


def render_walk(robot: str = "h1", seconds: float = 2.0, fps: float = 25.0, start_s: float = START_S,
                camera: dict | None = None):
    """The scripted walk from CAMERA, starting mid-stride: frames (T, H, W, 3), truth masks (T, H, W), fps."""
    from ..scene.camera import FollowCameraCfg
    from .scripted import render_scripted_reference

    times = start_s + np.arange(round(seconds * fps)) / fps
    frames, masks, fps, *_ = render_scripted_reference(robot, FollowCameraCfg(**(camera or CAMERA)), times=times)
    return frames, masks, fps


def style_clip(frames: np.ndarray, masks: np.ndarray, style: str, aspect: str = "16:9", seed: int = 0):
    """(video (T, H, W, 3) uint8, truth (T, H, W) bool): the render restyled and centre-cropped to `aspect`."""
    if style not in STYLES:
        raise ReferenceInputError(f"unknown clip style {style!r}; known: {', '.join(STYLES)}")
    if aspect not in ASPECTS:
        raise ReferenceInputError(f"unknown aspect {aspect!r}; known: {', '.join(ASPECTS)}")
    video = composite(frames, masks, camera_shift_px_per_frame=PAN_PX, seed=seed, **STYLES[style])
    w = ASPECTS[aspect][0]
    x0 = (video.shape[2] - w) // 2
    return np.ascontiguousarray(video[:, :, x0 : x0 + w]), np.ascontiguousarray(masks[:, :, x0 : x0 + w])
