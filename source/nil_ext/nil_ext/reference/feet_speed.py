"""The camera's velocity from the robot's feet, for a clip whose ground does not show it (plain, hidden, unreadable).

Why the feet: a foot in stance is a point of the ground. Where the lowest part of the mask meets the ground, seen
through the task camera's geometry (intrinsics, height, pitch), it is a ground point in metres relative to the
camera; while that foot stands, it moves only because the camera does. Perspective is in the projection: a robot
that grows as it walks toward the camera moves its feet down the image, which the ground plane turns into metres.
The swing foot and the switch between feet are outliers of a median. The result is one constant velocity (the
fallback the camera path takes when it cannot be estimated), and it is refused when the frame-to-frame steps do not
agree on it (feet that slide, masks that lose the legs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .camera_path import GroundCamera, rotate

FOOT_BAND = 0.03  # share of the mask's height: its lowest rows, where the stance foot meets the ground
MIN_FEET_FRAMES = 8  # frames with feet on the ground in view, or no estimate
AGREEMENT = 0.5  # share of frame steps within the tolerance of their median, or the feet do not say it
TOLERANCE_M = 0.01  # metres per frame (1.0 m/s at 100 fps, 0.24 m/s at 24 fps) besides 50 % of the median step


@dataclass
class FeetVelocity:
    velocity: np.ndarray | None
    """(2,) metres per second, world axes (the camera path's x, y); None when the feet do not tell it."""
    agreement: float
    reason: str = ""

    @property
    def speed(self) -> float:
        return float(np.hypot(*self.velocity)) if self.velocity is not None else float("nan")


def feet_points(masks: np.ndarray, camera: GroundCamera, tilt: np.ndarray | None = None) -> np.ndarray:
    """(T, 2) ground points under the lowest rows of each mask (metres, relative to the point below the eye; NaN where
    the mask is empty or its feet are not on the ground in view); ``tilt`` (T,) rad: the camera's pitch beyond its
    first frame's in each."""
    out = np.full((len(masks), 2), np.nan)
    cameras = camera.tilted(tilt, len(masks))
    for k, m in enumerate(np.asarray(masks, dtype=bool)):
        camera = cameras[k]
        ys, xs = np.nonzero(m)
        if len(ys) == 0:
            continue
        low = ys >= ys.max() - max(1, FOOT_BAND * (ys.max() - ys.min() + 1))
        out[k] = camera.to_ground(np.array(xs[low].mean() + 0.5), np.array(ys.max() + 1.0))
    return out


def feet_velocity(masks: np.ndarray, fps: float, camera: GroundCamera,
                  tilt: np.ndarray | None = None) -> FeetVelocity:
    """The camera's constant velocity over the clip from the robot's stance feet (see the module's docstring)."""
    points = feet_points(masks, camera, tilt)
    steps = points[:-1] - points[1:]  # a standing foot seen to move back: the camera moved forward by as much
    steps = steps[np.isfinite(steps).all(1)]
    if len(steps) < MIN_FEET_FRAMES:
        return FeetVelocity(None, 0.0, f"the robot's feet are on the ground in view in {len(steps)} frame pairs")
    median = np.median(steps, axis=0)
    tolerance = TOLERANCE_M + 0.5 * np.hypot(*median)
    agreement = float((np.hypot(*(steps - median).T) <= tolerance).mean())
    if agreement < AGREEMENT:
        return FeetVelocity(None, agreement, f"the feet's steps agree in {agreement:.0%} of the frame pairs (feet that "
                            "slide, or masks that lose the legs)")
    return FeetVelocity(median * fps, agreement)


def robot_travel_in_view(masks: np.ndarray, fps: float, camera: GroundCamera, turned: np.ndarray | None = None,
                         tilt: np.ndarray | None = None) -> np.ndarray | None:
    """(T, 2) the robot's own travel relative to the camera since the first frame (metres, world axes): a straight
    line fitted to where its feet meet the ground. Why: the camera path stands for the reference robot's travel (the
    task's camera follows the robot), but a generated clip's camera often stands still while the robot walks toward
    or across it; what the ground shows is then only the camera's motion (a pan reads as sideways travel at the
    ground's distance), and the approach is in the feet. Zero for a camera that follows the robot. A line, not the
    feet themselves: the stance foot stands still and then jumps a step ahead, the line is the body's pace. None
    when too few frames show the feet on the ground. ``turned`` (T,) rad: how far the camera has turned since the
    first frame (a camera that stands and turns to keep the robot in view); each frame's feet are read in its axes
    (and through its ``tilt``, as feet_points)."""
    points = feet_points(masks, camera, tilt)
    if turned is not None:
        points = rotate(points, turned)
    seen = np.isfinite(points).all(1)
    if seen.sum() < MIN_FEET_FRAMES:
        return None
    times = np.arange(len(points)) / fps
    slope = np.polyfit(times[seen], points[seen], 1)[0]  # (2,) metres per second, each axis
    return times[:, None] * slope[None]


def velocity_path(num_frames: int, fps: float, velocity: np.ndarray, camera: GroundCamera) -> np.ndarray:
    """(T, 4) the camera moving at a constant `velocity` (2,) m/s from its start (x, y, z, heading)."""
    path = np.tile(camera.start(), (num_frames, 1))
    path[:, :2] += np.arange(num_frames)[:, None] / fps * np.asarray(velocity)[None]
    return path
