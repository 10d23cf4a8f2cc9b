"""The camera's focal length from a floor's lines: a metric cue that the robot's silhouette lacks.

Why: the camera search fits the robot's first-frame silhouette, and a small silhouette barely tells a near, wide
camera from a far, narrow one (issue 43's clip: FOV 90 at 2.3 m fitted as well as the true 47 at 5.4 m), which
scales every distance the camera path estimator reads off the ground. A grid or tiled floor tells the focal length
directly: its two families of joints are orthogonal on the ground, so in the image they meet at two vanishing
points v1, v2 with (v1 - c) . (v2 - c) = -f^2 (pinhole, square pixels, principal point c at the image centre).

    line segments (LSD) away from the robot -> RANSAC: the vanishing point most segments point at, then a second
    among the rest -> f from the pair; the median over frames spread through the clip.

The same pair tells the camera's tilt: both points lie on the horizon, so the horizon's row at the image centre
gives how far the camera looks below it (measured on the first frames, which the camera search fits: a generated
clip's camera may tilt further as the robot nears). The silhouette tells the elevation poorly too (issue 43's clip:
24 degrees fitted for the true 8). And its turn: each vanishing point is a direction fixed on the floor, so the
heading of its ray moves by exactly the camera's turn, with no drift to sum (turn_changes).

A floor without two visible families of lines (plain, one direction seen head-on, hidden) gives no estimate and the
search keeps its full ranges of FOVs and elevations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from .camera_path import GroundCamera

MIN_SEGMENT = 0.03  # fraction of the image's larger side: shorter segments are texture, text, codec noise
ANGLE_TOL_DEG = 1.0  # a segment points at a vanishing point when its direction is within this of the point's
MIN_FAMILY = 4  # segments a vanishing point needs
ITERATIONS = 400
FOV_RANGE_DEG = (15.0, 120.0)  # outside this a pair of vanishing points is taken for a mistake
MAX_SPREAD = 0.1  # relative spread (interquartile / median) of the per-frame focal lengths to trust their median
FRAMES = 8  # frames spread over the clip
FAR = 50  # image sizes: a vanishing point farther away than this is one at infinity (lines parallel in the image)
PITCH_FRAMES = 4  # the first frames the tilt is read on
TILT_SAMPLES = 16  # frames spread over the clip the tilt's change is read on (a camera's tilt changes smoothly)
TILT_OUTLIER_DEG = 1.5  # a frame's horizon this far off the fitted curve is a wrong pair of vanishing points
TURN_OUTLIER_DEG = 2.0  # a frame's floor heading this far off the fitted curve is a wrong pair of vanishing points
FAMILY_AGREEMENT_DEG = 5.0  # the two families' headings must be this close to a right angle apart


@dataclass(frozen=True)
class FloorFocal:
    """The focal length the floor's lines give (None with a reason when they give none)."""

    focal_px: float | None
    fov_deg: float | None  # horizontal, of the frames measured
    frames_used: int
    reason: str = ""
    pitch_deg: float | None = None
    """How far the camera looked below the horizon in the first frames, degrees (None: the horizon was not seen)."""

    @property
    def ok(self) -> bool:
        return self.focal_px is not None


def floor_focal(frames: np.ndarray, masks: np.ndarray, num_frames: int = FRAMES, seed: int = 0) -> FloorFocal:
    """The focal length (pixels of these frames) from the floor lines of up to ``num_frames`` frames of (T, H, W, 3)
    uint8 ``frames`` spread over the clip, the robot's (T, H, W) ``masks`` left out."""
    t, h, w = np.asarray(masks).shape
    picks = _spread(t, num_frames)
    rng = np.random.default_rng(seed)
    focals = [f for k in picks if (f := frame_focal(frames[k], masks[k], rng)) is not None]
    if len(focals) < max(2, len(picks) // 2):
        return FloorFocal(None, None, len(focals), f"two families of floor lines seen in {len(focals)} of {len(picks)} "
                          "frames (a grid or tiled floor seen at an angle shows them)")
    focal = float(np.median(focals))
    q1, q3 = np.percentile(focals, [25, 75])
    if (q3 - q1) / focal > MAX_SPREAD:
        return FloorFocal(None, None, len(focals), f"the frames disagree: focal lengths {q1:.0f}-{q3:.0f} px")
    pitches = [p for k in range(min(PITCH_FRAMES, t)) if (p := frame_pitch(frames[k], masks[k], focal, rng)) is not None]
    pitch = float(np.median(pitches)) if len(pitches) >= min(2, t) else None
    return FloorFocal(focal, math.degrees(2 * math.atan(w / 2 / focal)), len(focals), pitch_deg=pitch)


def sampled_vanishing_points(frames: np.ndarray, masks: np.ndarray, samples: int = TILT_SAMPLES,
                             seed: int = 0) -> dict[int, tuple | None]:
    """Frame index -> the floor's two vanishing points (None where not seen), on up to ``samples`` frames spread over
    the clip: read once, for both the tilt and the turn."""
    rng = np.random.default_rng(seed)
    return {k: vanishing_points(frames[k], masks[k], rng) for k in _spread(len(masks), samples)}


def tilt_changes(frames: np.ndarray, masks: np.ndarray, focal_px: float, samples: int = TILT_SAMPLES,
                 seed: int = 0, points: dict[int, tuple | None] | None = None) -> np.ndarray | None:
    """(T,) radians: how much further down than in the first frame the camera looks in each frame, from the floor's
    horizon on up to ``samples`` frames spread over the clip, fitted by a quadratic in time (a camera that tilts to
    keep a nearing robot in view does so smoothly; one frame's horizon is within ~1 deg at 224 px). None when fewer
    than half the samples show the horizon. Why: the camera path assumes a fixed tilt, and a tilt read as ground
    motion turns into travel (the web-like clip's standing camera, tilting 6 deg, was read as walking 1.25 m).
    ``points``: :func:`sampled_vanishing_points` when already read."""
    t = len(masks)
    points = sampled_vanishing_points(frames, masks, samples, seed) if points is None else points
    seen = [(k, horizon_pitch(p, masks.shape[1:], focal_px)) for k, p in points.items() if p is not None]
    if len(seen) < max(3, len(points) // 2):
        return None
    times, pitches = np.array(seen, dtype=np.float64).T
    keep = np.ones(len(times), bool)
    for _ in range(2):  # fit, drop the frames far off it, fit again
        curve = np.polyfit(times[keep], pitches[keep], 2 if keep.sum() > 3 else 1)
        keep = np.abs(np.polyval(curve, times) - pitches) <= TILT_OUTLIER_DEG
        if keep.sum() < 3:
            return None
    fitted = np.polyval(curve, np.arange(t, dtype=np.float64))
    return np.radians(fitted - fitted[0])


def turn_changes(frames: np.ndarray, masks: np.ndarray, cameras: Sequence[GroundCamera], samples: int = TILT_SAMPLES,
                 seed: int = 0, points: dict[int, tuple | None] | None = None) -> np.ndarray | None:
    """(T,) radians: how far the camera has turned (counter-clockwise seen from above) since the first frame, from
    the floor's vanishing points on up to ``samples`` frames spread over the clip, fitted by a cubic in time.
    ``cameras``: each frame's camera at the first frame's heading (its tilt told). None when fewer than half the
    samples show both families of lines, or the two disagree. Why: each vanishing point is a fixed direction on the
    floor, so its heading seen from a camera that keeps its first heading moves by the camera's turn, frame by frame
    and without drift; the ground's flow sums small turns and read the web-like clip's 65.6 deg as 62 (short of it
    by ~3 %, which bends the robot's path read through the turning camera). ``points``: as for :func:`tilt_changes`."""
    t = len(masks)
    points = sampled_vanishing_points(frames, masks, samples, seed) if points is None else points
    seen = []
    for k, pair in points.items():
        if pair is None:
            continue
        # the two families are a right angle apart on the floor: each gives the grid's heading modulo 90 deg, as
        # an angle on the circle of 4 x heading
        grid = np.exp(4j * np.array([cameras[k].ray_heading(x, y) for x, y in pair]))
        if abs(grid.mean()) < math.cos(math.radians(2 * FAMILY_AGREEMENT_DEG)):
            continue  # the families are not a right angle apart here: a wrong pair of points
        seen.append((k, np.angle(grid.mean()) / 4))
    if len(seen) < max(4, len(points) // 2):
        return None
    times, grid_heading = np.array(seen, dtype=np.float64).T
    turned = -np.unwrap(4 * grid_heading) / 4  # the grid's heading in the camera's first axes turns against it
    keep = np.ones(len(times), bool)
    for _ in range(2):  # fit, drop the frames far off it, fit again
        curve = np.polyfit(times[keep], turned[keep], min(3, int(keep.sum()) - 2))
        keep = np.abs(np.polyval(curve, times) - turned) <= math.radians(TURN_OUTLIER_DEG)
        if keep.sum() < 4:
            return None
    fitted = np.polyval(curve, np.arange(t, dtype=np.float64))
    return fitted - fitted[0]


def frame_pitch(frame: np.ndarray, mask: np.ndarray, focal: float, rng: np.random.Generator) -> float | None:
    """Degrees the camera looks below the horizon (the line through the two vanishing points, at the image centre's
    column; no roll), or None."""
    points = vanishing_points(frame, mask, rng)
    return None if points is None else horizon_pitch(points, mask.shape, focal)


def horizon_pitch(points: tuple, shape: tuple[int, int], focal: float) -> float:
    """Degrees the camera looks below the horizon through the two vanishing points ``points`` in an image of
    ``shape`` (h, w)."""
    h, w = shape
    (x1, y1), (x2, y2) = points
    horizon = y1 + (y2 - y1) * (w / 2 - x1) / (x2 - x1) if abs(x2 - x1) > 1.0 else (y1 + y2) / 2
    return math.degrees(math.atan2(h / 2 - horizon, focal))


def vanishing_points(frame: np.ndarray, mask: np.ndarray, rng: np.random.Generator):
    """((x1, y1), (x2, y2)): the pixels where the floor's two families of lines meet, or None."""
    h, w = mask.shape
    segments = line_segments(frame, mask)
    if len(segments) < 2 * MIN_FAMILY:
        return None
    first = vanishing_point(segments, rng)
    if first is None:
        return None
    second = vanishing_point(segments[~first[1]], rng)
    if second is None:
        return None
    (x1, y1), (x2, y2) = _finite(first[0], max(h, w)), _finite(second[0], max(h, w))
    if x1 is None or x2 is None:
        return None  # a family seen head-on (parallel in the image): no second constraint
    return (x1, y1), (x2, y2)


def frame_focal(frame: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> float | None:
    """The focal length from one frame's two vanishing points, or None."""
    h, w = mask.shape
    points = vanishing_points(frame, mask, rng)
    if points is None:
        return None
    (x1, y1), (x2, y2) = points
    f2 = -((x1 - w / 2) * (x2 - w / 2) + (y1 - h / 2) * (y2 - h / 2))
    if f2 <= 0:
        return None
    focal = math.sqrt(f2)
    fov = math.degrees(2 * math.atan(w / 2 / focal))
    return focal if FOV_RANGE_DEG[0] <= fov <= FOV_RANGE_DEG[1] else None


def line_segments(frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(N, 4) x1, y1, x2, y2 of the frame's straight edges longer than MIN_SEGMENT, none on or beside the robot."""
    h, w = mask.shape
    grey = cv2.cvtColor(np.asarray(frame, np.uint8), cv2.COLOR_RGB2GRAY)
    found = cv2.createLineSegmentDetector().detect(grey)[0]
    if found is None:
        return np.zeros((0, 4))
    seg = found.reshape(-1, 4).astype(np.float64)
    seg = seg[np.hypot(seg[:, 2] - seg[:, 0], seg[:, 3] - seg[:, 1]) >= MIN_SEGMENT * max(h, w)]
    radius = max(2, round(0.02 * max(h, w)))
    near_robot = cv2.dilate(np.asarray(mask, np.uint8), np.ones((2 * radius + 1,) * 2, np.uint8)).astype(bool)
    keep = np.ones(len(seg), bool)
    for s in np.linspace(0.0, 1.0, 5):  # ends and three points between
        x = np.clip((seg[:, 0] + s * (seg[:, 2] - seg[:, 0])).astype(int), 0, w - 1)
        y = np.clip((seg[:, 1] + s * (seg[:, 3] - seg[:, 1])).astype(int), 0, h - 1)
        keep &= ~near_robot[y, x]
    return seg[keep]


def vanishing_point(segments: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray] | None:
    """(homogeneous point (3,), inlier mask (N,)) that the most segment length points at, or None."""
    if len(segments) < MIN_FAMILY:
        return None
    lines = _lines(segments)
    length = np.hypot(segments[:, 2] - segments[:, 0], segments[:, 3] - segments[:, 1])
    best, best_score = None, 0.0
    p = length / length.sum()
    for _ in range(ITERATIONS):
        a, b = rng.choice(len(segments), 2, replace=False, p=p)
        point = np.cross(lines[a], lines[b])
        if not np.any(point):
            continue
        inliers = _points_at(segments, point)
        score = length[inliers].sum()
        if score > best_score:
            best, best_score = inliers, score
    if best is None or best.sum() < MIN_FAMILY:
        return None
    # least squares over the inliers: the point closest to all their lines (weighted by length)
    _, _, vt = np.linalg.svd(lines[best] * length[best, None])
    point = vt[-1]
    inliers = _points_at(segments, point)
    return (point, inliers) if inliers.sum() >= MIN_FAMILY else None


def _lines(segments: np.ndarray) -> np.ndarray:
    """(N, 3) unit-normal homogeneous lines through the segments."""
    ones = np.ones(len(segments))
    lines = np.cross(np.stack([segments[:, 0], segments[:, 1], ones], 1), np.stack([segments[:, 2], segments[:, 3], ones], 1))
    return lines / np.linalg.norm(lines[:, :2], axis=1, keepdims=True)


def _points_at(segments: np.ndarray, point: np.ndarray) -> np.ndarray:
    """(N,) bool: segments whose direction is within ANGLE_TOL_DEG of the direction from their middle to ``point``
    (homogeneous; a point at infinity is a direction)."""
    direction = segments[:, 2:] - segments[:, :2]
    middle = (segments[:, :2] + segments[:, 2:]) / 2
    to_point = point[None, :2] - middle * point[2]  # the direction toward the point, its sign free
    cross = direction[:, 0] * to_point[:, 1] - direction[:, 1] * to_point[:, 0]
    sine = np.abs(cross) / (np.linalg.norm(direction, axis=1) * np.linalg.norm(to_point, axis=1) + 1e-12)
    return sine < math.sin(math.radians(ANGLE_TOL_DEG))


def _finite(point: np.ndarray, size: int) -> tuple[float | None, float | None]:
    """Pixel coordinates of a homogeneous point, None for a point practically at infinity (FAR images away)."""
    if abs(point[2]) * FAR * size < np.linalg.norm(point[:2]):
        return None, None
    return point[0] / point[2], point[1] / point[2]


def _spread(t: int, n: int) -> np.ndarray:
    """Up to ``n`` frame indices spread evenly over ``t`` frames, first and last included."""
    return np.unique(np.linspace(0, t - 1, min(n, t)).round().astype(int))
