"""Find the robot in a video that did not start from our first frame: no simulator mask, no prompt needed.

A clip from Kling, Sora or a phone starts wherever it starts: the simulator's mask of e0 says nothing about where
its robot is. `find_robot` looks at the first frames:

- motion: the ground slides under a camera that follows the robot (or the robot walks through a still view);
  after undoing the dominant motion of the frame (phase correlation), what still changes is what moves against
  the background: the robot, its shadow, and a watermark fixed to the image;
- a watermark sits in a corner or along the border and is small: such groups are left out;
- the robot's box (the largest group that moves) is cut by GrabCut (`prompts._box_mask`);
- shadows are left out: pixels in the mask's lower part that are a darker copy of the ground around it (the same
  hue, 35-95 % of its brightness);
- without motion (a still image, a textureless view), the most salient object against the border's colours.

`FoundRobot.how` says which cue found it; the pipeline saves a picture of the first frame with the mask found.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .errors import ReferenceInputError
from .image_ops import colour_centres, disk
from .prompts import GIVE_A_PROMPT, MAX_AREA, MIN_AREA, _auto_mask, _box_mask, _clean

MOTION_FRAMES = 12  # frames looked at (half a second at 24 fps): enough ground slides by, the robot stays whole
MIN_MOTION = 18.0  # Lab units a pixel must change by, after the dominant motion is undone, to count as moving
BORDER_BAND = 0.12  # share of the width / height along each side where watermarks and logos sit
SHADOW_RATIO = (0.35, 0.95)  # brightness of a shadowed ground pixel relative to the lit ground
SHADOW_CHROMA = 8.0  # Lab a/b units: a shadow keeps the ground's hue
LOCAL_WINDOW = 0.2  # share of the short side: the window the ground around a pixel is the median of
MIN_CONTRAST = 10.0
ACROSS = 0.4  # rows with more than this share of salient pixels hold a line across the frame  # Lab units from the ground around it for a pixel to stand out
SHADOW_PART = 0.3  # shadows are looked for in the lowest share of the mask's height (under the feet)


@dataclass
class FoundRobot:
    mask: np.ndarray
    """(H, W) bool, the robot in the first frame."""
    how: str
    """"motion" (what moved against the background), or "contrast" (no motion: the most salient object)."""
    box: tuple[int, int, int, int] | None = None
    """The box the motion found (x0, y0, x1, y1), before GrabCut."""
    shadow_px: int = 0
    """Pixels left out as the robot's shadow."""

    def summary(self) -> str:
        where = f" in the box {self.box}" if self.box else ""
        shadow = f", {self.shadow_px} shadow pixels left out" if self.shadow_px else ""
        return f"robot found by {self.how}{where}: {self.mask.mean():.1%} of the first frame{shadow}"


def find_robot(frames: np.ndarray, max_frames: int = MOTION_FRAMES) -> FoundRobot:
    """The robot in frames[0] of a (T, H, W, 3) uint8 video; ReferenceInputError when nothing plausible is found."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ReferenceInputError(f"frames must be (T, H, W, 3) uint8 RGB, got {frames.shape} {frames.dtype}")
    first = np.ascontiguousarray(frames[0])
    move = moving(frames[:max_frames])
    box = robot_box(first, move)
    if box is not None:
        mask, how = _box_mask(first, box), ("motion and contrast" if move is not None else "contrast")
    else:
        mask, how = _auto_mask(first), "contrast against the border"
    mask, shadow = drop_shadow(first, mask)
    area = mask.mean()
    if area < MIN_AREA or area > MAX_AREA:
        raise ReferenceInputError(f"no robot found in the first frame (by {how}: {area:.1%} of it); {GIVE_A_PROMPT}")
    return FoundRobot(mask, how, box, shadow)


def moving(frames: np.ndarray) -> np.ndarray | None:
    """(H, W) bool: pixels of frames[0] that change against the background's dominant motion in later frames;
    None when the video has fewer than 3 frames."""
    if len(frames) < 3:
        return None
    lab0 = _lab(frames[0])
    grey0 = _grey(frames[0])
    window = cv2.createHanningWindow(grey0.shape[::-1], cv2.CV_32F)
    change = np.zeros(grey0.shape, np.float32)
    h, w = grey0.shape
    for k in range(2, len(frames), 2):
        (dx, dy), _ = cv2.phaseCorrelate(grey0, _grey(frames[k]), window)
        # frame k's content moved by (dx, dy): bring it back onto frame 0
        back = cv2.warpAffine(_lab(frames[k]), np.float32([[1, 0, -dx], [0, 1, -dy]]), (w, h),
                              flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        diff = np.linalg.norm(back - lab0, axis=-1)
        change = np.maximum(change, cv2.GaussianBlur(diff, (0, 0), 1.0))
    return change > MIN_MOTION


def salient(frame: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels that differ from the ground around them (a median over a window larger than a limb or a
    torso), leaving out darker copies of it (shadows, grid lines, seams: the same hue, SHADOW_RATIO of its
    brightness)."""
    h, w = frame.shape[:2]
    k = 2 * round(LOCAL_WINDOW * min(h, w) / 2) + 1
    lab, ground = _lab(frame), _lab(cv2.medianBlur(frame, k))
    contrast = np.linalg.norm(lab - ground, axis=-1)
    return (contrast > MIN_CONTRAST) & ~_darker_copy(lab, ground)


def robot_box(frame: np.ndarray, move: np.ndarray | None) -> tuple[int, int, int, int] | None:
    """The box (x0, y0, x1, y1) around the group of salient pixels that moves most (the largest, in a still
    video), leaving out small groups along the border (watermarks, logos); None when nothing plausible stands out."""
    sal = salient(frame)
    h, w = sal.shape
    # thin lines and dashes (a grid floor far away, fine texture) go; a robot's limbs are wider than a pixel or two
    sal = cv2.morphologyEx(sal.astype(np.uint8), cv2.MORPH_OPEN, disk(1)).astype(bool)
    sal[sal.mean(1) > ACROSS] = False  # a horizon, a floor seam far away: lines across the frame, not a robot
    reach = max(1, round(0.02 * np.hypot(h, w)))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(cv2.dilate(sal.astype(np.uint8), disk(reach)), 8)
    bx, by = BORDER_BAND * w, BORDER_BAND * h
    best, best_score = 0, 0.0
    for k in range(1, n):
        x, y, bw, bh, _ = stats[k]
        part = sal & (labels == k)
        area = int(part.sum())
        inner = x + bw > bx and x < w - bx and y + bh > by and y < h - by  # reaches into the frame's inner part
        if not inner or bw >= 0.9 * w or bh >= 0.95 * h or area < MIN_AREA * h * w:
            continue
        near = cv2.dilate(part.astype(np.uint8), disk(reach)).astype(bool)
        score = area * (1.0 if move is None else 0.2 + (move & near).sum() / max(near.sum(), 1))
        if score > best_score:
            best, best_score = k, score
    if best == 0:
        return None
    x, y, bw, bh, _ = stats[best]
    # parts split off by the lines taken out (a head above the horizon): groups above or below it, in its columns
    for k in range(1, n):
        kx, ky, kw, kh, _ = stats[k]
        overlap = min(x + bw, kx + kw) - max(x, kx)
        gap = max(ky - (y + bh), y - (ky + kh))
        if k != best and overlap >= 0.5 * min(bw, kw) and gap <= 3 * reach and kw < 0.9 * w:
            x0, y0 = min(x, kx), min(y, ky)
            x, y, bw, bh = x0, y0, max(x + bw, kx + kw) - x0, max(y + bh, ky + kh) - y0
    pad = max(2, round(0.04 * max(bw, bh)))
    return int(max(0, x - pad)), int(max(0, y - pad)), int(min(w, x + bw + pad)), int(min(h, y + bh + pad))


def _darker_copy(lab: np.ndarray, ground: np.ndarray) -> np.ndarray:
    """Pixels whose colour is the ground's (per pixel, or one of K ground colours (K, 3)) darkened: same hue,
    SHADOW_RATIO of its brightness."""
    if ground.ndim == 2:  # K colours
        ratio = lab[..., None, 0] / np.maximum(ground[:, 0], 1.0)
        chroma = np.linalg.norm(lab[..., None, 1:] - ground[None, None, :, 1:], axis=-1)
        return ((ratio >= SHADOW_RATIO[0]) & (ratio <= SHADOW_RATIO[1]) & (chroma <= SHADOW_CHROMA)).any(-1)
    ratio = lab[..., 0] / np.maximum(ground[..., 0], 1.0)
    chroma = np.linalg.norm(lab[..., 1:] - ground[..., 1:], axis=-1)
    return (ratio >= SHADOW_RATIO[0]) & (ratio <= SHADOW_RATIO[1]) & (chroma <= SHADOW_CHROMA)


def drop_shadow(frame: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, int]:
    """The mask without its shadow: pixels in its lowest part whose colour is the ground's around them, darkened
    (SHADOW_RATIO of its brightness, the same hue). Returns the mask and the pixels left out."""
    if not mask.any():
        return mask, 0
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    y0, y1 = ys.min(), ys.max() + 1
    low = np.zeros((h, w), bool)
    low[max(y0, round(y1 - SHADOW_PART * (y1 - y0))) : y1] = True
    # the lit ground: a ring around the mask's lower part, away from the shadow's core
    r = max(3, round(0.06 * (y1 - y0)))
    grown = cv2.dilate(mask.astype(np.uint8), disk(3 * r)).astype(bool)
    ring = grown & ~cv2.dilate(mask.astype(np.uint8), disk(r)).astype(bool)
    ring[: max(0, y1 - 2 * round(SHADOW_PART * (y1 - y0)))] = False
    if ring.sum() < 8:
        return mask, 0
    lab = _lab(frame)
    ground = colour_centres(lab[ring], 3)
    ground = ground[np.argsort(-ground[:, 0])][: max(1, len(ground) - 1)]  # the lit ground, not the shadow's edge
    shadow = mask & low & _darker_copy(lab, ground)
    if not shadow.any():
        return mask, 0
    kept = _clean(mask & ~shadow)
    return kept, int(mask.sum() - kept.sum())


def drop_shadows(frames: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, int]:
    """Every frame's mask without its shadow, as the first frame's (a segmenter that follows the robot's outline
    takes the soft shadow at its feet along): (masks, the pixels left out in all)."""
    out = np.asarray(masks, dtype=bool).copy()
    dropped = 0
    for k, (frame, mask) in enumerate(zip(frames, out, strict=True)):
        out[k], n = drop_shadow(frame, mask)
        dropped += n
    return out, dropped


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def _grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
