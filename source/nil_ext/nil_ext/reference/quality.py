"""Quality report of a reference's masks, and one score to rank candidate videos by.

What spoils a reference for imitation is a mask that vanishes, jumps (the segmenter lost the
robot or grabbed something else), flickers in size, or starts away from the simulator's own
mask of e0. Motion itself must not cost score (a robot standing still is no better reference),
so shape changes are measured after aligning centroids and sizes are compared, not overlaps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .camera_path import MIN_CONFIDENCE, camera_speed
from .errors import ReferenceInputError

JUMP_SHAPE_IOU = 0.5  # centroid-aligned consecutive masks overlapping less than this: a jump
JUMP_SHIFT = 0.1  # centroid moving more than this fraction of the image diagonal in one frame: a jump
VANISH_AREA = 0.2  # a mask smaller than this fraction of the first one: vanished
# what a frame's mask may be against the robot's expected silhouette at that frame (the first frame's robot scaled
# to the frame's size, see expected_scale): its area, the height and width of its box. A walking robot's box widens
# and narrows with its stride (H1 from the side: about 2x), its height barely changes; a sliver or a blob is outside
SHAPE_RANGES = {"area": (0.6, 1.6), "height": (0.6, 1.5), "width": (0.3, 3.0)}
# the robot's size may change by perspective (walking toward or away from the camera: a real clip's robot grew 1.6x)
# but smoothly: its scale is the running median of the masks' heights over SCALE_WINDOW of the clip, within SCALE_RANGE
SCALE_WINDOW = 0.15
SCALE_RANGE = (0.33, 3.0)
MIN_ROBOT_IOU = 0.5  # the first mask against the robot found in the video: below, it was made on another robot


def robot_extent(mask: np.ndarray) -> dict[str, float]:
    """A mask's area and its box's height and width, as fractions of the frame's."""
    mask = np.asarray(mask, dtype=bool)
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return {"area": 0.0, "height": 0.0, "width": 0.0}
    return {"area": float(mask.mean()), "height": float(np.ptp(ys) + 1) / h, "width": float(np.ptp(xs) + 1) / w}


def expected_scale(masks: np.ndarray, first_height: float) -> np.ndarray:
    """(T,) the robot's size in each frame relative to the first frame's robot (box height `first_height`, a fraction
    of the frame): the running median of the masks' heights, so that perspective (a robot walking toward the camera
    grows) changes the expected silhouette, and a few frames of a broken mask do not."""
    heights = np.array([robot_extent(m)["height"] for m in masks])
    n = max(3, round(SCALE_WINDOW * len(heights)) | 1)
    padded = np.pad(heights, n // 2, mode="edge")
    trend = np.median(np.lib.stride_tricks.sliding_window_view(padded, n), axis=-1)
    return trend / max(first_height, 1e-9)


def off_shape(masks: np.ndarray, expected: dict[str, float]) -> tuple[list[int], list[str]]:
    """Frames whose mask is not the robot's shape against its expected silhouette at that frame (`expected`:
    robot_extent of the robot as the video's first frame shows it, scaled by expected_scale: area by its square,
    height and width by it), and for each why (e.g. "area 0.06x, width 0.18x")."""
    frames, why = [], []
    masks = np.asarray(masks, dtype=bool)
    scales = expected_scale(masks, expected.get("height", 0.0)) if expected.get("height", 0) > 0 else np.ones(len(masks))
    for k, m in enumerate(masks):
        got = robot_extent(m)
        s = float(np.clip(scales[k], *SCALE_RANGE))
        want = {"area": expected.get("area", 0) * s * s, "height": expected.get("height", 0) * s,
                "width": expected.get("width", 0) * s}
        out = [f"{key} {got[key] / want[key]:.2f}x" for key, (lo, hi) in SHAPE_RANGES.items()
               if want[key] > 0 and not lo <= got[key] / want[key] <= hi]
        if not SCALE_RANGE[0] <= scales[k] <= SCALE_RANGE[1]:
            out.append(f"size {scales[k]:.2f}x the first frame's")
        if out:
            frames.append(k)
            why.append(", ".join(out))
    return frames, why


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def quality_report(masks: np.ndarray, first_mask: np.ndarray | None = None,
                   robot: np.ndarray | None = None) -> dict[str, Any]:
    """Per-frame statistics, flagged frames and `score` in [0, 1] (higher is better).

    score = first-frame IoU * mean size agreement of consecutive masks * fraction of frames
    neither jumping nor vanished (nor, given `robot`, off the robot's shape).
    robot: (H, W) bool, the robot as the video shows it on its first frame (found on the video itself): a frame whose
    mask is far from its area, height or width (a sliver, a blob) is off-shape, a bad frame; `robot_iou` says how
    well the first mask covers it.
    """
    masks = np.asarray(masks, dtype=bool)
    t, h, w = masks.shape
    area = masks.reshape(t, -1).sum(1)
    centres = [_centroid(m) for m in masks]
    cons = np.array([iou(masks[i - 1], masks[i]) for i in range(1, t)])
    shape = np.array([_aligned_iou(masks[i - 1], masks[i], centres[i - 1], centres[i]) for i in range(1, t)])
    shift = np.array([_distance(centres[i - 1], centres[i]) for i in range(1, t)]) / np.hypot(h, w)
    size = np.minimum(area[1:], area[:-1]) / np.maximum(np.maximum(area[1:], area[:-1]), 1)

    ref_area = area[0] if first_mask is None else int(np.asarray(first_mask).sum())
    vanished = np.flatnonzero(area < VANISH_AREA * max(ref_area, 1))
    jumps = np.flatnonzero((shape < JUMP_SHAPE_IOU) | (shift > JUMP_SHIFT)) + 1
    first_iou = 1.0 if first_mask is None else iou(masks[0], np.asarray(first_mask, dtype=bool))
    extent = None if robot is None else robot_extent(robot)
    shape_frames, shape_why = off_shape(masks, extent) if extent else ([], [])
    bad = np.union1d(np.union1d(vanished, jumps), shape_frames)
    size_agreement = float(size.mean()) if t > 1 else 1.0
    score = first_iou * size_agreement * (1.0 - len(bad) / t)
    return {
        "num_frames": t,
        "area_fraction": (area / (h * w)).round(5).tolist(),
        "consecutive_iou": cons.round(4).tolist(),
        "mean_consecutive_iou": round(float(cons.mean()), 4) if t > 1 else 1.0,
        "mean_aligned_iou": round(float(shape.mean()), 4) if t > 1 else 1.0,
        "mean_size_agreement": round(size_agreement, 4),
        "first_frame_iou": round(first_iou, 4),
        "jump_frames": jumps.tolist(),
        "vanished_frames": vanished.tolist(),
        "score": round(float(score), 4),
        **({"robot_extent": {k: round(v, 4) for k, v in extent.items()}, "off_shape_frames": shape_frames,
            "off_shape_first": shape_why[0] if shape_why else "",
            "robot_iou": round(iou(masks[0], np.asarray(robot, dtype=bool)), 4)} if extent else {}),
    }


def summary(report: dict[str, Any]) -> str:
    """One line for logs."""
    return (
        f"score {report['score']:.3f}, first-frame IoU {report['first_frame_iou']:.3f}, "
        f"mean consecutive IoU {report['mean_consecutive_iou']:.3f}, "
        f"{len(report['jump_frames'])} jumps, {len(report['vanished_frames'])} vanished of {report['num_frames']} frames"
    )


def camera_path_report(path: np.ndarray, confidence: np.ndarray, fps: float, source: str | None) -> dict[str, Any]:
    """The camera's speed over time (m/s, per frame), its travel and how sure the path is."""
    speed = camera_speed(path, fps)
    confidence = np.asarray(confidence, dtype=float)
    return {
        "source": source,
        "distance": round(float(np.hypot(*(path[-1, :2] - path[0, :2]))), 4),
        "mean_speed": round(float(speed.mean()), 4),
        "speed": speed.round(4).tolist(),
        "mean_confidence": round(float(confidence.mean()), 4),
        "low_confidence_frames": int((confidence < MIN_CONFIDENCE).sum()),
    }


def camera_path_summary(report: dict[str, Any] | None, meta: dict[str, Any]) -> str:
    """One line for logs."""
    if report is None:
        return f"none ({meta.get('camera_path_note', 'not given')})"
    return (
        f"{report['source']}, {report['distance']:.2f} m at {report['mean_speed']:.2f} m/s on average, "
        f"mean confidence {report['mean_confidence']:.2f}, {report['low_confidence_frames']} low-confidence frames"
    )


def _centroid(mask: np.ndarray) -> tuple[float, float] | None:
    ys, xs = np.nonzero(mask)
    return (float(ys.mean()), float(xs.mean())) if len(ys) else None


def _distance(a, b) -> float:
    return 0.0 if a is None or b is None else float(np.hypot(a[0] - b[0], a[1] - b[1]))


def _aligned_iou(a, b, ca, cb) -> float:
    """IoU of b and a moved so that their centroids meet: shape change without motion."""
    if ca is None or cb is None:
        return 1.0 if ca is cb else 0.0
    dy, dx = round(cb[0] - ca[0]), round(cb[1] - ca[1])
    return iou(np.roll(a, (dy, dx), axis=(0, 1)), b)


GATE_MAX_BAD_SHARE = 0.2  # masks vanished or jumping in more than this share of frames: the segmenter lost the robot


class QualityGateError(ReferenceInputError):
    """The masks are too broken to imitate (the bundle is saved beside the output for inspection)."""


def quality_gate(report: dict[str, Any], max_bad_share: float = GATE_MAX_BAD_SHARE, forced: bool = False) -> dict:
    """Whether a quality report passes the gate: {"passed", "bad_share", "max_bad_share", "reason", "forced"}."""
    shape = report.get("off_shape_frames", [])
    bad = len(set(report["vanished_frames"]) | set(report["jump_frames"]) | set(shape))
    share = bad / max(report["num_frames"], 1)
    robot_iou = report.get("robot_iou", 1.0)
    passed = share <= max_bad_share and robot_iou >= MIN_ROBOT_IOU
    reason = "" if share <= max_bad_share else (
        f"the masks vanish or jump in {share:.0%} of the frames ({len(report['vanished_frames'])} vanished, "
        f"{len(report['jump_frames'])} jumps, {len(shape)} off-shape (not the robot's area, height or width) of "
        f"{report['num_frames']}; the gate allows {max_bad_share:.0%})"
    )
    if share > max_bad_share and shape:
        reason += (f"; off-shape: frame {shape[0]}'s mask is {report['off_shape_first']} the robot's expected "
                   "silhouette there (its first-frame shape at that frame's size: a sliver or a blob, the segmenter "
                   "follows something else)")
    if robot_iou < MIN_ROBOT_IOU:
        reason = "; ".join(filter(None, [reason, (
            f"the first mask is not the robot the video shows (IoU {robot_iou:.2f} with the robot found on its first "
            f"frame, below {MIN_ROBOT_IOU}): it was made on another view of the robot (the simulator's?)")]))
    return {"passed": passed, "bad_share": round(share, 4), "max_bad_share": max_bad_share, "reason": reason,
            "forced": bool(forced and not passed)}


def gate_of(quality: dict[str, Any]) -> dict:
    """A bundle's recorded gate, or (bundles made before the gate) the gate of its report at the source rate."""
    if "gate" in quality:
        return quality["gate"]
    return quality_gate(quality.get("source") or quality)


def gate_warning(quality: dict[str, Any], where: str) -> str | None:
    """A loud multi-line warning for training on a bundle below the gate; None when it passes."""
    gate = gate_of(quality)
    if gate["passed"]:
        return None
    how = "kept with --force" if gate.get("forced") else "below the quality gate"
    return (
        f"\n{'!' * 100}\n! WARNING: the reference {where} is {how}: {gate['reason']}.\n"
        "! The imitation reward will chase broken masks. Remake it (a --robot_box / --robot_point prompt, another "
        "--segmenter)\n! and look at its strip.png before a long run.\n" + "!" * 100
    )
