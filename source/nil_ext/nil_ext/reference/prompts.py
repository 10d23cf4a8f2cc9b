"""Find the robot in a video's first frame without the simulator: a box, a few clicks, or nothing.

A video made elsewhere (Kling, Sora, a phone clip) has no simulator mask to prompt a segmenter with.
`first_frame_mask` makes one from what the user gives:

- a box (x0, y0, x1, y1): GrabCut initialised with the rectangle;
- point(s) on the robot: GrabCut in a box around the clicks that grows until the mask stops touching
  its sides (the clicks are sure foreground);
- nothing: the largest object that stands out from the colours along the image border (plain or simple
  backgrounds: a studio wall, a floor and sky), refined by GrabCut.

Coordinates are pixels of the frame passed in (x to the right, y down, x1/y1 exclusive). The pipeline
fits videos to the camera (`video_io.fit_to_camera`: centre crop, then resize): `prompt_to_camera`
maps a prompt given on the original video to those frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .errors import ReferenceInputError
from .image_ops import colour_centres, disk, nearest_colour_distance

MAX_AREA = 0.6  # a "robot" covering more of the frame than this is the background (or a wrong prompt)
MIN_AREA = 0.001  # fewer pixels than this share of the frame: nothing was found
MIN_STAND_OUT = 0.1  # box share that must differ from the colours around the box for them to seed the background
GIVE_A_PROMPT = "give --robot_box x0,y0,x1,y1 or --robot_point x,y on the robot"


@dataclass
class RobotPrompt:
    """Where the robot is in the first frame: a box (x0, y0, x1, y1; x1, y1 exclusive) and/or foreground clicks."""

    box: tuple[int, int, int, int] | None = None
    points: list[tuple[int, int]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.box is None and not self.points

    def check_inside(self, height: int, width: int) -> None:
        """Raise ReferenceInputError when the box or a point lies outside a (height, width) frame."""
        if self.box is not None:
            x0, y0, x1, y1 = self.box
            if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
                raise ReferenceInputError(
                    f"robot box {self.box} is outside the {width}x{height} frame (x0,y0,x1,y1 in pixels of the "
                    "frames as fitted to the camera)"
                )
            if x1 - x0 < 2 or y1 - y0 < 2:
                raise ReferenceInputError(f"robot box {self.box} is smaller than 2x2 pixels: draw it around the robot")
        for x, y in self.points:
            if not (0 <= x < width and 0 <= y < height):
                raise ReferenceInputError(f"robot point ({x},{y}) is outside the {width}x{height} frame")


def parse_box(text: str) -> tuple[int, int, int, int]:
    """"x0,y0,x1,y1" -> (x0, y0, x1, y1), refusing a wrong count, non-numbers and empty or inverted boxes."""
    x0, y0, x1, y1 = _ints(text, 4, "--robot_box", "x0,y0,x1,y1")
    if x1 <= x0 or y1 <= y0:
        raise ReferenceInputError(
            f"--robot_box {text!r} is empty or inverted: give x0,y0,x1,y1 with x1 > x0 and y1 > y0 (top-left, "
            "bottom-right)"
        )
    return x0, y0, x1, y1


def parse_point(text: str) -> tuple[int, int]:
    """"x,y" -> (x, y), refusing a wrong count and non-numbers."""
    x, y = _ints(text, 2, "--robot_point", "x,y")
    return x, y


def _ints(text: str, count: int, flag: str, form: str) -> list[int]:
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != count:
        raise ReferenceInputError(f"{flag} {text!r} has {len(parts)} numbers; give {count} as {form} (pixels)")
    try:
        values = [round(float(p)) for p in parts]
    except ValueError:
        raise ReferenceInputError(f"{flag} {text!r} is not {count} numbers; give {form} (pixels)") from None
    return values


def prompt_to_camera(prompt: RobotPrompt, src_height: int, src_width: int, width: int, height: int) -> RobotPrompt:
    """The prompt given on a (src_height, src_width) video, in the frames `fit_to_camera(frames, width, height)` makes."""
    h, w = src_height, src_width
    x_off = y_off = 0.0
    if w * height > h * width:  # the same centre crop as fit_to_camera
        cw = round(h * width / height)
        x_off, w = (src_width - cw) // 2, cw
    elif w * height < h * width:
        ch = round(w * height / width)
        y_off, h = (src_height - ch) // 2, ch
    sx, sy = width / w, height / h

    def fx(x):
        return int(np.clip(round((x - x_off) * sx), 0, width))

    def fy(y):
        return int(np.clip(round((y - y_off) * sy), 0, height))

    box = None
    if prompt.box is not None:
        x0, y0, x1, y1 = prompt.box
        box = (fx(x0), fy(y0), fx(x1), fy(y1))
    points = [(min(fx(x), width - 1), min(fy(y), height - 1)) for x, y in prompt.points]
    return RobotPrompt(box=box, points=points)


def first_frame_mask(frame: np.ndarray, prompt: RobotPrompt | None = None) -> np.ndarray:
    """(H, W) bool mask of the robot in `frame` ((H, W, 3) uint8 RGB), from a box, clicks, or nothing (automatic).

    Raises ReferenceInputError when nothing plausible is found (an empty mask, or one covering more
    than MAX_AREA of the frame).
    """
    frame = np.ascontiguousarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ReferenceInputError(f"first frame must be (H, W, 3) uint8 RGB, got {frame.shape} {frame.dtype}")
    h, w = frame.shape[:2]
    if prompt is None or prompt.empty:
        mask, how = _auto_mask(frame), "automatically (no prompt)"
    else:
        prompt.check_inside(h, w)
        if prompt.box is not None:
            mask, how = _box_mask(frame, prompt.box, prompt.points), f"in the box {prompt.box}"
        else:
            mask, how = _points_mask(frame, prompt.points), f"at the points {prompt.points}"
    area = mask.mean()
    if area < MIN_AREA:
        raise ReferenceInputError(f"no robot found in the first frame {how}; {GIVE_A_PROMPT}")
    if area > MAX_AREA:
        raise ReferenceInputError(
            f"the robot found in the first frame {how} covers {area:.0%} of it: that is the background; {GIVE_A_PROMPT}"
        )
    return mask


# --- box ---------------------------------------------------------------------------------------------------------


def _box_mask(frame: np.ndarray, box: tuple[int, int, int, int], points=(), iterations: int = 5) -> np.ndarray:
    """GrabCut inside the box (outside is background); clicks inside are sure foreground."""
    h, w = frame.shape[:2]
    x0, y0, x1, y1 = box
    seed = np.full((h, w), cv2.GC_BGD, np.uint8)
    seed[y0:y1, x0:x1] = cv2.GC_PR_FGD
    if x0 <= 0 and y0 <= 0 and x1 >= w and y1 >= h:
        raise ReferenceInputError(f"the robot box {box} is the whole frame: nothing left to learn the background from")
    # inside the box, what looks like the background just outside it starts as background: else the background
    # between a robot's legs and arms (a large share of its box) enters GrabCut's robot colours and stays in the mask
    # (measured on H1 at 192-256 px, over a gradient and over a grid floor, from an mp4: IoU 0.70-0.74 -> 0.97)
    ring = np.zeros((h, w), bool)
    r = max(2, round(0.03 * min(h, w)))
    ring[max(0, y0 - r) : y1 + r, max(0, x0 - r) : x1 + r] = True
    ring[y0:y1, x0:x1] = False
    inside = seed == cv2.GC_PR_FGD
    stands_out = _stand_out(frame, ring)
    if (inside & stands_out).sum() >= MIN_STAND_OUT * inside.sum():  # else the background has the robot's colours
        seed[inside & ~stands_out] = cv2.GC_PR_BGD
    for x, y in points:
        cv2.circle(seed, (int(x), int(y)), _click_radius(h, w), cv2.GC_FGD, -1)
    mask = _grabcut(frame, seed, iterations)
    return _keep_main(mask, points)


# --- points ------------------------------------------------------------------------------------------------------


def _points_mask(frame: np.ndarray, points) -> np.ndarray:
    """The object under the clicks that stands out from the border's colours, boxed and cut by GrabCut; where the
    clicks fall on nothing that stands out (a cluttered background), GrabCut in a box grown around them."""
    h, w = frame.shape[:2]
    candidate = _stand_out(frame)
    groups = _groups(candidate)
    keep = {int(groups[y, x]) for x, y in points} - {0}
    if keep:
        region = np.isin(groups, list(keep)) & candidate
        if region.mean() <= MAX_AREA:
            ys, xs = np.nonzero(region)
            pad = max(2, round(0.05 * max(np.ptp(xs), np.ptp(ys))))
            box = (max(0, xs.min() - pad), max(0, ys.min() - pad), min(w, xs.max() + 1 + pad),
                   min(h, ys.max() + 1 + pad))
            if box != (0, 0, w, h):
                return _box_mask(frame, box, points)
    return _grown_box_mask(frame, points)


def _grown_box_mask(frame: np.ndarray, points, grow: float = 1.5, max_rounds: int = 6) -> np.ndarray:
    """GrabCut in a box around the clicks, grown on every side the mask still touches."""
    h, w = frame.shape[:2]
    pts = np.asarray(points, float)
    half = 0.1 * min(h, w)
    box = np.array([pts[:, 0].min() - half, pts[:, 1].min() - half, pts[:, 0].max() + half + 1,
                    pts[:, 1].max() + half + 1])
    mask = np.zeros((h, w), bool)
    for _ in range(max_rounds):
        box = np.clip(box, 0, [w, h, w, h])
        b = tuple(int(round(v)) for v in box)
        if b[0] <= 0 and b[1] <= 0 and b[2] >= w and b[3] >= h:
            break  # the whole frame: the last box's mask is the answer
        mask = _box_mask(frame, b, points)
        touches = _touching_sides(mask, b)
        if not any(touches):
            break
        size = np.array([b[2] - b[0], b[3] - b[1]], float)
        step = (grow - 1.0) * size
        box = box + np.array([-step[0], -step[1], step[0], step[1]]) * np.asarray(touches, float)
    return mask


def _touching_sides(mask: np.ndarray, box, margin: int = 2) -> list[bool]:
    """Whether the mask reaches the box's left, top, right, bottom sides (sides on the image border do not count)."""
    h, w = mask.shape
    x0, y0, x1, y1 = box
    if not mask.any():
        return [False] * 4
    ys, xs = np.nonzero(mask)
    return [
        x0 > 0 and xs.min() <= x0 + margin,
        y0 > 0 and ys.min() <= y0 + margin,
        x1 < w and xs.max() >= x1 - 1 - margin,
        y1 < h and ys.max() >= y1 - 1 - margin,
    ]


# --- automatic ---------------------------------------------------------------------------------------------------


def _auto_mask(frame: np.ndarray) -> np.ndarray:
    """The largest object that differs from the border's colours and does not run along the border, cut by GrabCut."""
    h, w = frame.shape[:2]
    candidate = _stand_out(frame)
    groups = _groups(candidate)
    border = np.ones((h, w), bool)
    b = _border_px(h, w)
    border[b:-b, b:-b] = False
    best, best_area = 0, 0
    for k in range(1, groups.max() + 1):
        part = (groups == k) & candidate
        area = int(part.sum())
        # a group along much of the border is background the border's colours missed (a floor, a wall)
        if area > best_area and (part & border).sum() <= 0.25 * border.sum():
            best, best_area = k, area
    if best == 0:
        return np.zeros((h, w), bool)
    candidate = (groups == best) & candidate
    if candidate.mean() > MAX_AREA:
        return candidate  # refused by the caller
    seed = _seed_around(candidate, radius=max(3, round(0.04 * min(h, w))))
    return _keep_main(_grabcut(frame, seed, 4), ())


def _stand_out(frame: np.ndarray, reference: np.ndarray | None = None, clusters: int = 6,
               min_contrast: float = 12.0) -> np.ndarray:
    """Pixels whose colour is far from every colour of the `reference` pixels (default: along the image border)
    (Lab; Otsu's threshold, at least `min_contrast`, so that noise and codec ringing on a plain background stay
    background)."""
    h, w = frame.shape[:2]
    lab = cv2.cvtColor(frame.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    if reference is None:
        b = _border_px(h, w)
        reference = np.ones((h, w), bool)
        reference[b:-b, b:-b] = False
    if not reference.any():
        return np.ones((h, w), bool)
    centres = colour_centres(lab[reference], clusters)
    dist = nearest_colour_distance(lab, centres)
    top = max(float(dist.max()), 1e-6)
    otsu, _ = cv2.threshold((dist * (255.0 / top)).astype(np.uint8), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return _clean(dist > max(min_contrast, otsu * top / 255.0))


def _groups(mask: np.ndarray) -> np.ndarray:
    """Labels of groups of nearby components (a robot's dark legs and light body are one group); 0 off the mask."""
    h, w = mask.shape
    reach = max(1, round(0.02 * np.hypot(h, w)))
    _, labels = cv2.connectedComponents(cv2.dilate(mask.astype(np.uint8), disk(reach)), connectivity=8)
    return labels * mask


def _border_px(h: int, w: int) -> int:
    return max(2, round(0.03 * min(h, w)))


# --- shared ------------------------------------------------------------------------------------------------------


def _grabcut(frame: np.ndarray, seed: np.ndarray, iterations: int) -> np.ndarray:
    """GrabCut from a GC_* seed mask; (H, W) bool foreground. Returns the seed's foreground when GrabCut cannot run."""
    if not ((seed == cv2.GC_BGD) | (seed == cv2.GC_PR_BGD)).any() or not (
        (seed == cv2.GC_FGD) | (seed == cv2.GC_PR_FGD)
    ).any():
        return (seed == cv2.GC_FGD) | (seed == cv2.GC_PR_FGD)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    mask = seed.copy()
    cv2.setRNGSeed(0)
    bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
    cv2.grabCut(bgr, mask, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)


def _seed_around(mask: np.ndarray, radius: int) -> np.ndarray:
    """GrabCut seed: the mask's core sure foreground, the mask probable, a band around it probable background."""
    m = mask.astype(np.uint8)
    seed = np.full(mask.shape, cv2.GC_BGD, np.uint8)
    seed[cv2.dilate(m, disk(radius)).astype(bool)] = cv2.GC_PR_BGD
    seed[mask] = cv2.GC_PR_FGD
    seed[cv2.erode(m, disk(2)).astype(bool)] = cv2.GC_FGD
    return seed


def _keep_main(mask: np.ndarray, points) -> np.ndarray:
    """The components holding the clicks, or else the largest group of nearby components; small holes filled."""
    mask = _clean(mask)
    if not mask.any():
        return mask
    h, w = mask.shape
    reach = max(1, round(0.02 * np.hypot(h, w)))
    n, labels = cv2.connectedComponents(cv2.dilate(mask.astype(np.uint8), disk(reach)), connectivity=8)
    keep = {int(labels[int(y), int(x)]) for x, y in points} - {0}
    if not keep:
        keep = {int(np.argmax(np.bincount(labels[mask].ravel(), minlength=n)[1:]) + 1)}
    return np.isin(labels, list(keep)) & mask


def _clean(mask: np.ndarray) -> np.ndarray:
    """Fill pinholes and drop specks of 1-2 pixels; no opening: it would erase limbs 1-2 px wide."""
    m = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, disk(1))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    return np.isin(labels, np.nonzero(stats[:, cv2.CC_STAT_AREA] > 2)[0]) & (m > 0)



def _click_radius(h: int, w: int) -> int:
    return max(1, round(0.01 * min(h, w)))
