"""The camera's travel in a reference video, estimated from how the ground moves behind the robot.

Why: the walk tasks' `reference_path` camera replays the reference camera's motion, so that forward progress
shows against the ground as it does in the video. A scripted reference knows its camera path exactly; a
generated or imported video does not, so it is read from the video itself:

    dense optical flow of the background (robot mask dilated away), on pixels below the horizon
    -> each pixel's ray meets the ground z = 0 (known intrinsics, eye height, pitch): metres, not pixels
    -> a ground point is fixed, so where it was seen and where it is seen next differ by the camera's motion on the
       ground: a step and a turn about the vertical (a rigid fit over the textured ground pixels per frame pair)
    -> smoothed over time, integrated into a path with a heading per frame
    (a grid or tiled floor, plain between thin lines: the frames are aligned directly instead, see align_ground)

It assumes the camera keeps its height (the task's follow camera travels without turning; a generated clip's camera
may also stand and turn to keep the robot in view), and its pitch unless told how it tilts frame by frame (a floor's
horizon tells it: floor_lines.tilt_changes), with the intrinsics and start pose of the task's camera or of the
camera aligned to the video. Frames that show too little textured ground (a plain floor, the
ground hidden) get confidence 0 and are filled from their neighbours; when most frames are like that the result
says "not estimable" instead of guessing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import ReferenceInputError
from .retiming import output_times, retime_path

SOURCES = ("scripted", "estimated", "feet", "speed", "file")
PLOT_NAME = "camera_speed.png"

GRADIENT_MIN = 3.0  # grey levels per pixel: below this a pixel is untextured, its flow meaningless
MAX_RANGE = 3.0  # use ground out to this many camera-to-robot distances (farther: metres per pixel explode)
FB_TOLERANCE = 0.5  # pixels: forward and backward flow must undo each other (occlusions, flow failures fail)
MIN_GROUND_PIXELS = 0.01  # fraction of the image: fewer usable ground pixels and a frame pair is not measured
FULL_COVERAGE = 0.3  # fraction of the visible ground usable for full confidence
MIN_CONFIDENCE = 0.2  # frame pairs below this are filled from their neighbours
MIN_MEASURED = 0.5  # fraction of frame pairs that must be measured, or the path is not estimable
ALIGN_GRADIENT = 2.0  # grey levels per pixel (blurred): a faint line counts, video noise and coding artefacts do not
ALIGN_MIN_PIXELS = 0.002  # fraction of the image on lines for direct alignment to be tried
ALIGN_HUBER = 4.0  # grey levels: residuals beyond this are down-weighted (robot edges, shadows)
ALIGN_MIN_CONDITION = 0.02  # smallest / largest Hessian eigenvalue: both ground directions must be seen
ALIGN_SIGMAS = (4.0, 2.0, 1.0)  # pixels: blur of the coarse-to-fine alignment (the first reaches ~4 px steps)
ALIGN_MAX_SAMPLES = 60_000  # ground pixels voting in align_ground: a 720 px floor has ~400k, 60k fix 2 unknowns
REMAP_COLUMNS, REMAP_ROWS = 1024, 16_384  # cv2.remap's maps must stay under 32,767 (SHRT_MAX) each way
FLOW_SPAN_S = 1 / 30  # flow between frames about this far apart: sub-pixel motion at 100 fps is mostly noise


class CameraPathError(ReferenceInputError):
    """No camera path can be had: the video does not show it, or a path given by the user is malformed."""


@dataclass(frozen=True)
class GroundCamera:
    """A pinhole camera at `eye_height` above the ground z = 0, looking along `heading` (rad, world), tilted down
    by `pitch` (rad); square pixels, principal point at the image centre (as the simulator's camera)."""

    width: int
    height: int
    focal_px: float
    eye_height: float
    pitch: float
    heading: float
    distance: float  # eye to the robot's base, horizontally (m)

    @classmethod
    def from_camera(cls, camera: dict[str, Any], base_height: float | None) -> GroundCamera:
        """From a bundle's camera dict (FollowCameraCfg.to_dict: the camera sits at the base + (distance along
        yaw_deg, height_offset) looking at the base; a "fov" key is the horizontal field of view in degrees)
        and the robot's start base height. Raises CameraPathError naming what is missing."""
        missing = [k for k in ("width", "height", "distance") if camera.get(k) is None]
        if "fov" not in camera and not ("focal_length" in camera and "horizontal_aperture" in camera):
            missing.append("fov (or focal_length and horizontal_aperture)")
        if base_height is None:
            missing.append("the robot's base height")
        if missing:
            raise CameraPathError(f"the camera's geometry is unknown: the camera config lacks {', '.join(missing)}")
        width, distance = int(camera["width"]), float(camera["distance"])
        if "fov" in camera:
            half = math.radians(float(camera["fov"])) / 2
        else:
            half = math.atan(float(camera["horizontal_aperture"]) / (2 * float(camera["focal_length"])))
        rise = float(camera.get("height_offset", 0.0))
        return cls(
            width=width,
            height=int(camera["height"]),
            focal_px=width / 2 / math.tan(half),
            eye_height=float(base_height) + rise,
            pitch=math.atan2(rise, distance),  # looking at the base from above it: tilted down
            heading=math.radians(float(camera.get("yaw_deg", -90.0))) + math.pi,  # looking back at the robot
            distance=distance,
        )

    def tilted(self, tilt: np.ndarray | None, num_frames: int, turn: np.ndarray | None = None) -> list[GroundCamera]:
        """This camera at each of ``num_frames`` frames, looking ``tilt`` (T,) rad further down than at the first
        and turned ``turn`` (T,) rad counter-clockwise from it (None: the same pitch, the same heading)."""
        tilt = np.zeros(num_frames) if tilt is None else np.asarray(tilt, dtype=np.float64)
        turn = np.zeros(num_frames) if turn is None else np.asarray(turn, dtype=np.float64)
        return [replace(self, pitch=self.pitch + float(a), heading=self.heading + float(b))
                for a, b in zip(tilt, turn, strict=True)]

    def start(self) -> np.ndarray:
        """(x, y, z, heading) of the eye at the first frame, the robot's start base at (0, 0) on the ground."""
        back = self.heading - math.pi
        return np.array([self.distance * math.cos(back), self.distance * math.sin(back), self.eye_height, self.heading])

    def _axes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ch, sh, cp, sp = math.cos(self.heading), math.sin(self.heading), math.cos(self.pitch), math.sin(self.pitch)
        forward = np.array([ch * cp, sh * cp, -sp])
        right = np.array([sh, -ch, 0.0])
        return forward, right, np.cross(right, forward)

    def to_ground(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Pixel coordinates (column, row; pixel centres at +0.5) -> (..., 2) ground point relative to the point
        below the eye, metres, world axes; NaN for rays that miss the ground or meet it beyond MAX_RANGE."""
        forward, right, up = self._axes()
        a, b = (np.asarray(x) - self.width / 2) / self.focal_px, (np.asarray(y) - self.height / 2) / self.focal_px
        ray = forward + a[..., None] * right - b[..., None] * up
        with np.errstate(divide="ignore", invalid="ignore"):
            t = self.eye_height / -ray[..., 2]
            ground = ray[..., :2] * t[..., None]
            far = ~(t > 0) | (np.hypot(ground[..., 0], ground[..., 1]) > MAX_RANGE * self.distance)
        ground[far] = np.nan
        return ground

    def ray_heading(self, x: float, y: float) -> float:
        """The world heading (rad) of the ray through pixel (column, row), seen from above."""
        forward, right, up = self._axes()
        ray = forward + (x - self.width / 2) / self.focal_px * right - (y - self.height / 2) / self.focal_px * up
        return math.atan2(ray[1], ray[0])

    def to_pixels(self, ground: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(..., 2) ground points relative to the point below the eye -> pixel coordinates (column, row)."""
        forward, right, up = self._axes()
        ground = np.asarray(ground, dtype=np.float64)
        p = np.concatenate([ground, np.full((*ground.shape[:-1], 1), -self.eye_height)], axis=-1)
        depth = p @ forward
        return self.width / 2 + self.focal_px * (p @ right) / depth, self.height / 2 - self.focal_px * (p @ up) / depth


@dataclass
class CameraPathEstimate:
    """path (T, 4) x, y, z, heading per frame (None when not estimable), confidence (T,) in [0, 1], tilt (T,) rad
    further down than at the first frame (zeros: not known, taken as fixed)."""

    path: np.ndarray | None
    confidence: np.ndarray
    fps: float
    reason: str = ""  # why there is no path
    tilt: np.ndarray | None = None

    @property
    def ok(self) -> bool:
        return self.path is not None


def estimate_camera_path(frames: np.ndarray, masks: np.ndarray, fps: float, camera: GroundCamera,
                         tilt: np.ndarray | None = None, turn: np.ndarray | None = None) -> CameraPathEstimate:
    """Estimate the camera's path from (T, H, W, 3) uint8 frames and (T, H, W) bool robot masks at `fps`; ``tilt``
    (T,) rad: how much further down than at the first frame the camera looks in each (None: it keeps its pitch);
    ``turn`` (T,) rad: how far it has turned since the first frame, counter-clockwise (None: read from the ground's
    motion, summed frame pair by frame pair; given, each frame's ground is read in its turned camera, in the world's
    axes, and the path's heading is the told turn)."""
    frames, masks = np.asarray(frames), np.asarray(masks, dtype=bool)
    t, h, w = masks.shape
    if (h, w) != (camera.height, camera.width):
        raise CameraPathError(f"frames are {w}x{h}, the camera {camera.width}x{camera.height}")
    span = max(1, round(fps * FLOW_SPAN_S))
    if t <= span:
        return CameraPathEstimate(None, np.zeros(t), fps, f"{t} frames are too few to measure motion")
    grey = [cv2.GaussianBlur(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (3, 3), 0) for f in frames]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    cameras = camera.tilted(tilt, t, turn)
    fixed = camera.to_ground(xs, ys) if tilt is None and turn is None else None

    def ground(k: int) -> np.ndarray:  # (H, W, 2) each pixel's ground point in frame k (NaN: not on the ground)
        return fixed if fixed is not None else cameras[k].to_ground(xs, ys)

    radius = max(2, round(0.03 * max(h, w)))  # the robot's own pixels (and its soft edge) move with it
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    free = [np.isfinite(ground(k)[..., 0]) & ~cv2.dilate(m.astype(np.uint8), kernel).astype(bool)
            for k, m in enumerate(masks)]
    dis = _flow_engine(h, w)

    steps, conf = np.full((t - span, 3), np.nan), np.zeros(t - span)  # (dx, dy, turn) per frame, camera's axes
    for k in range(t - span):
        # ground points are read in frame k's camera and found again through frame k + span's (its tilt may differ)
        seen = ground(k)
        step, confidence = _flow_step(dis, grey[k], grey[k + span], free[k], free[k + span], seen, cameras[k + span],
                                      xs, ys, fit_turn=turn is None)
        if confidence < MIN_CONFIDENCE:
            # too little textured ground for dense flow (a plain floor, or thin grid lines): align the frames directly
            guess = steps[k - 1] * span if k and conf[k - 1] >= MIN_CONFIDENCE else np.zeros(3)
            direct = align_ground(grey[k], grey[k + span], free[k], free[k + span], seen, cameras[k + span], guess,
                                  fit_turn=turn is None)
            if direct is not None and direct[1] > confidence:
                step, confidence = direct
        if step is not None:
            steps[k], conf[k] = step / span, confidence

    measured = conf >= MIN_CONFIDENCE
    frame_conf = _frame_confidence(np.where(measured, conf, 0.0), span, t)
    if measured.mean() < MIN_MEASURED:
        return CameraPathEstimate(
            None,
            frame_conf,
            fps,
            f"only {measured.sum()} of {len(measured)} frame pairs show enough textured ground to measure the "
            "camera's motion (a plain or hidden ground, or floor lines of one direction only)",
        )
    velocity = _smooth(_fill(steps, measured))  # metres (and radians) per frame, at times k + span / 2
    mid, sampled = np.arange(t - 1) + 0.5, np.arange(len(velocity)) + span / 2
    per_frame = np.stack([np.interp(mid, sampled, v) for v in velocity.T], axis=1)
    tilt = np.zeros(t) if tilt is None else np.asarray(tilt, dtype=np.float64)
    if turn is None:
        return CameraPathEstimate(integrate_steps(camera.start(), per_frame), frame_conf, fps, tilt=tilt)
    # steps read in turned cameras are in the world's axes already; what turn the flow still sees is the told
    # turn's error, left out (the floor's lines do not drift, summed pair turns do)
    path = integrate_steps(camera.start(), np.column_stack([per_frame[:, :2], np.zeros(t - 1)]))
    path[:, 3] += np.asarray(turn, dtype=np.float64)
    return CameraPathEstimate(path, frame_conf, fps, tilt=tilt)


def integrate_steps(start: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """(T, 4) x, y, z, heading from the start (4,) and (T - 1, 3) steps (dx, dy in the axes of the camera at its
    start heading, as each frame's ground is read; turn in rad): each step is rotated by the turn made so far."""
    turned = np.concatenate([[0.0], np.cumsum(steps[:, 2])])
    world = rotate(steps[:, :2], turned[:-1])
    path = np.tile(np.asarray(start, dtype=np.float64), (len(steps) + 1, 1))
    path[1:, :2] += np.cumsum(world, axis=0)
    path[:, 3] += turned
    return path


def moved(ground: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Where fixed ground points (..., 2), read in a frame's camera axes, are read in the next frame's after the
    camera stepped by step[:2] and turned by step[2] (rad, counter-clockwise seen from above)."""
    return rotate(ground - step[:2], -step[2])


def rotate(points: np.ndarray, angle) -> np.ndarray:
    """(..., 2) ground points turned counter-clockwise (seen from above) by ``angle`` rad (a scalar or one per point)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * points[..., 0] - s * points[..., 1], s * points[..., 0] + c * points[..., 1]], axis=-1)


def rigid_step(seen: np.ndarray, seen_next: np.ndarray, weight: np.ndarray, fit_turn: bool = True) -> np.ndarray:
    """(dx, dy, turn) with moved(seen, step) ~ seen_next in the weighted least-squares sense (2-D Procrustes;
    ``fit_turn=False``: the turn held at 0, the frames' cameras already turned as told)."""
    w = weight / weight.sum()
    mu_a, mu_b = w @ seen, w @ seen_next
    if not fit_turn:
        return np.array([*(mu_a - mu_b), 0.0])
    a, b = seen - mu_a, seen_next - mu_b
    h = (a * w[:, None]).T @ b
    turn = -math.atan2(h[0, 1] - h[1, 0], h[0, 0] + h[1, 1])  # the points turn the other way
    # moved(g) = R(-turn) (g - d): mu_b = R(-turn) (mu_a - d)  ->  d = mu_a - R(turn) mu_b
    d = mu_a - rotate(mu_b, turn)
    return np.array([d[0], d[1], turn])


def _flow_step(dis, grey0, grey1, free0, free1, ground, camera, xs, ys,
               fit_turn: bool = True) -> tuple[np.ndarray | None, float]:
    """The camera's ground step between two frames from dense optical flow on textured ground, and its confidence
    (0 with step None when too little textured ground is seen). ``ground``: the first frame's ground point per
    pixel; ``camera``: the second frame's (how the first frame's points are found again)."""
    h, w = grey0.shape
    fwd, bwd = dis.calc(grey0, grey1, None), dis.calc(grey1, grey0, None)
    x1, y1 = xs + fwd[..., 0], ys + fwd[..., 1]
    gx = cv2.Sobel(grey0, cv2.CV_32F, 1, 0, scale=1 / 8)
    gy = cv2.Sobel(grey0, cv2.CV_32F, 0, 1, scale=1 / 8)
    back = cv2.remap(bwd, x1 - 0.5, y1 - 0.5, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    round_trip = np.hypot(*(fwd + back).transpose(2, 0, 1))
    usable = free0 & (np.hypot(gx, gy) > GRADIENT_MIN) & (round_trip < FB_TOLERANCE)
    usable &= (x1 > 0) & (x1 < w) & (y1 > 0) & (y1 < h)
    usable &= free1[np.clip(y1, 0, h - 1).astype(int), np.clip(x1, 0, w - 1).astype(int)]
    seen, seen_next = ground[usable], camera.to_ground(x1[usable], y1[usable])
    keep = np.isfinite(seen_next).all(1)
    if keep.sum() < MIN_GROUND_PIXELS * h * w:
        return None, 0.0
    # far ground is metres per pixel: weigh each point by the inverse square of its distance; two rounds, the
    # second without the points the first fit leaves far off (the robot's soft edge, flow failures)
    a, b = seen[keep], seen_next[keep]
    weight = 1.0 / np.maximum(np.hypot(*a.T), 0.1) ** 2
    step = rigid_step(a, b, weight, fit_turn)
    error = np.hypot(*(moved(a, step) - b).T)
    inlier = error <= 3.0 * np.median(error) + 1e-6
    step = rigid_step(a[inlier], b[inlier], weight[inlier], fit_turn)
    # consistency: the fraction of pixels whose observed flow the one motion explains
    px, py = camera.to_pixels(moved(seen, step))
    residual = np.hypot(px - x1[usable], py - y1[usable])
    inliers = (residual < np.maximum(0.5, 0.25 * np.hypot(*fwd[usable].T))).mean()
    coverage = usable.sum() / max(free0.sum(), 1)
    return step, float(inliers * min(1.0, coverage / FULL_COVERAGE))


def align_ground(
    grey0: np.ndarray,
    grey1: np.ndarray,
    free0: np.ndarray,
    free1: np.ndarray,
    ground: np.ndarray,
    camera: GroundCamera,
    guess: np.ndarray,
    fit_turn: bool = True,
) -> tuple[np.ndarray, float] | None:
    """The camera's ground step and turn between two frames by direct alignment, or None when the ground cannot
    tell them.

    Why: a grid or tiled floor is plain between thin lines, so dense flow has too few textured pixels, and each
    line alone only says how the camera moved across it (the aperture problem). Lines of two directions do fix
    the unknowns: find the step d and turn a minimising sum (I1(project(moved(g, d, a))) - I0(p))^2 over the free
    ground pixels p (Gauss-Newton on 3 parameters, coarse to fine), and accept it when the Hessian is well
    conditioned (the turn counted as the arc it sweeps at the ground's median distance, so that a turn and a side
    step the near and far ground cannot tell apart are refused, not guessed).
    ``ground``: the first frame's ground point per pixel; ``camera``: the second frame's. ``fit_turn=False``: the
    turn held at 0 (the frames' cameras already turned as told), the step alone fitted.
    Returns ((dx, dy, turn) metres and radians, confidence in [0, 1]).
    """
    h, w = grey0.shape
    # only pixels whose blur footprint is all free ground: else the robot's edges (which move with the camera) and
    # the horizon leak in through the blur and pull the step to zero
    margin = round(2 * ALIGN_SIGMAS[0])
    core = cv2.erode((free0 & np.isfinite(ground[..., 0])).astype(np.uint8), np.ones((2 * margin + 1,) * 2, np.uint8))
    core = core.astype(bool)
    textured = core & (np.hypot(*np.gradient(cv2.GaussianBlur(grey0.astype(np.float32), (0, 0), 1.0))) > ALIGN_GRADIENT)
    if textured.sum() < ALIGN_MIN_PIXELS * h * w:
        return None
    # every core pixel votes (plain ones weigh nothing, but the blur spreads the lines over them); a large frame's
    # votes are thinned to an even lattice: as many equations are plenty for 2 unknowns, and they stay fast
    rows, cols = np.nonzero(core)
    if len(rows) > ALIGN_MAX_SAMPLES:
        keep = np.linspace(0, len(rows) - 1, ALIGN_MAX_SAMPLES).astype(int)
        rows, cols = rows[keep], cols[keep]
    g = ground[rows, cols]
    reach = float(np.median(np.hypot(*g.T)))  # metres: a turn's parameter is the arc it sweeps at this distance
    n = 3 if fit_turn else 2  # parameters fitted: the step, and the turn unless told
    arcs = np.array([1.0, 1.0, 1.0 / reach])  # per parameter: metres of step, or of arc for the turn
    scale = arcs[:n]
    eps = 1e-3  # metres (of step or arc): the projection's derivatives by finite differences
    d = np.zeros(3)
    d[: min(n, len(guess))] = guess[:n]
    for sigma in ALIGN_SIGMAS:
        a = cv2.GaussianBlur(grey0.astype(np.float32), (0, 0), sigma)
        b = cv2.GaussianBlur(grey1.astype(np.float32), (0, 0), sigma)
        bx, by = cv2.Sobel(b, cv2.CV_32F, 1, 0, scale=1 / 8), cv2.Sobel(b, cv2.CV_32F, 0, 1, scale=1 / 8)
        a_p = a[rows, cols]
        for _ in range(10):
            qx, qy = camera.to_pixels(moved(g, d))
            jac = np.stack([np.stack(camera.to_pixels(moved(g, d + eps * arcs * e)), -1) - np.stack([qx, qy], -1)
                            for e in np.eye(3)[:n]], -1) / eps  # (N, 2 pixel, n parameters)
            inside = np.isfinite(qx) & (qx > 1) & (qx < w - 1) & (qy > 1) & (qy < h - 1)
            sample = [_sample(img, qx - 0.5, qy - 0.5) for img in (b, bx, by)]
            ok = inside & free1[np.clip(qy, 0, h - 1).astype(int), np.clip(qx, 0, w - 1).astype(int)]
            r = (sample[0] - a_p)[ok]
            grad = np.stack([sample[1], sample[2]], -1)[ok]  # image gradient at the warped pixel
            j = np.einsum("ni,nij->nj", grad, jac[ok])  # d residual / d parameters
            weight = 1.0 / np.maximum(1.0, np.abs(r) / ALIGN_HUBER)  # Huber: the robot's edges, other movers
            hess = (j * weight[:, None]).T @ j
            if np.linalg.cond(hess) > 1e8:
                return None
            delta = -np.linalg.solve(hess, (j * weight[:, None]).T @ r) * scale
            d[:n] += delta
            if np.linalg.norm(delta / scale) < 1e-4:
                break
    eig = np.linalg.eigvalsh(hess)
    if eig[0] <= 0 or eig[0] / eig[1] < ALIGN_MIN_CONDITION:
        return None  # lines of one direction only (or none): the step along them is unknown
    fit = (np.abs(r) < ALIGN_HUBER)[np.abs(np.hypot(*grad.T)) > ALIGN_GRADIENT]
    return d, float(fit.mean()) if fit.size else 0.0


def _sample(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear samples of `img` at N points (x, y in pixel-index coordinates). cv2.remap refuses maps with 32,767
    rows or columns or more (SHRT_MAX), so the points are laid out as rows of REMAP_COLUMNS, not as one column."""
    n = len(x)
    rows = max(1, -(-n // REMAP_COLUMNS))
    pad = rows * REMAP_COLUMNS - n
    mx = np.pad(np.asarray(x, np.float32), (0, pad)).reshape(rows, REMAP_COLUMNS)
    my = np.pad(np.asarray(y, np.float32), (0, pad)).reshape(rows, REMAP_COLUMNS)
    out = [cv2.remap(img, mx[k : k + REMAP_ROWS], my[k : k + REMAP_ROWS], cv2.INTER_LINEAR)
           for k in range(0, rows, REMAP_ROWS)]
    return np.concatenate(out).reshape(-1)[:n]


def speed_path(num_frames: int, fps: float, speed: float, camera: GroundCamera | None = None) -> np.ndarray:
    """(T, 4) a camera moving at `speed` m/s along +x (the robot's start heading), from the camera's start."""
    start = camera.start() if camera is not None else np.array([0.0, 0.0, 0.0, math.pi / 2])
    path = np.tile(start, (num_frames, 1))
    path[:, 0] += speed * np.arange(num_frames) / fps
    return path


def load_camera_path_file(file: str | Path, num_frames: int, camera: GroundCamera | None = None) -> np.ndarray:
    """(T, 4) from a .npy or .csv of (N, 3) camera positions x, y, z in metres (a 4th column: heading, rad),
    the N rows spread evenly over the clip, resampled to `num_frames`. Only motion relative to row 0 is used."""
    file = Path(file)
    if not file.is_file():
        raise CameraPathError(f"camera path file not found: {file}")
    try:
        rows = np.load(file) if file.suffix == ".npy" else np.loadtxt(file, delimiter=",", ndmin=2)
    except ValueError as err:
        raise CameraPathError(f"cannot read {file} as numbers ({err}); give (N, 3) x, y, z per row") from err
    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] not in (3, 4) or len(rows) < 2 or not np.isfinite(rows).all():
        raise CameraPathError(
            f"{file} holds an array of shape {rows.shape}; give (N, 3) finite x, y, z per row, N >= 2"
        )
    if rows.shape[1] == 3:
        heading = camera.heading if camera is not None else math.pi / 2
        rows = np.concatenate([rows, np.full((len(rows), 1), heading)], axis=1)
    if len(rows) == num_frames:
        return rows
    # N samples over the clip's duration -> num_frames samples: "fps" N - 1 to num_frames - 1 intervals
    return retime_path(rows, len(rows) - 1, num_frames - 1)[:num_frames]


def resample_confidence(confidence: np.ndarray, src_fps: float, dst_fps: float) -> np.ndarray:
    """Per-frame confidence at the retimed frames (linear, as the path)."""
    times = output_times(len(confidence), src_fps, dst_fps)
    return np.interp(times, np.arange(len(confidence)), confidence)


def camera_speed(path: np.ndarray, fps: float) -> np.ndarray:
    """(T,) horizontal speed of the camera, m/s."""
    if len(path) < 2:
        return np.zeros(len(path))
    return np.hypot(*np.gradient(np.asarray(path)[:, :2], axis=0).T) * fps


def plot_camera_speed(file: str | Path, path: np.ndarray, confidence: np.ndarray, fps: float, title: str = "") -> Path:
    """PNG of the camera's speed (top) and the path's confidence (bottom) over time (matplotlib's Agg canvas)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    time = np.arange(len(path)) / fps
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True)
    speed = camera_speed(path, fps)
    top.plot(time, speed, color="tab:blue", label=f"mean {speed.mean():.3g} m/s")
    top.set_ylim(0, max(1.2 * speed.max(), 0.1))  # from 0: a steady walk must not look like a jittery one
    top.set_ylabel("camera speed (m/s)")
    top.legend(loc="upper right", fontsize=8)
    top.grid(alpha=0.3)
    bottom.fill_between(time, confidence, color="tab:green", alpha=0.4, step="mid")
    bottom.set_ylim(0, 1.05)
    bottom.set_ylabel("confidence")
    bottom.set_xlabel("time (s)")
    bottom.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    file = Path(file)
    fig.savefig(file, dpi=90)
    return file


def _flow_engine(h: int, w: int):
    """DIS optical flow down to full resolution. The medium preset stops at half resolution, which at 64-128 px
    loses most of a walk's sub-pixel ground motion (distances came out 10-20 % short); small patches keep enough
    of them on a small image."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    patch = 4 if max(h, w) <= 160 else 8
    dis.setFinestScale(0)
    dis.setPatchSize(patch)
    dis.setPatchStride(patch // 2)
    return dis


def _frame_confidence(pair_conf: np.ndarray, span: int, t: int) -> np.ndarray:
    """Pair k covers frames k..k+span: a frame's confidence is that of the pairs around it (linear)."""
    return np.clip(np.interp(np.arange(t), np.arange(len(pair_conf)) + span / 2, pair_conf), 0.0, 1.0)


def _fill(values: np.ndarray, good: np.ndarray) -> np.ndarray:
    """Unmeasured rows linearly from the measured ones around them (held at the ends)."""
    idx = np.arange(len(values))
    return np.stack([np.interp(idx, idx[good], v[good]) for v in values.T], axis=1)


def _smooth(values: np.ndarray, median: int = 5, mean: int = 3) -> np.ndarray:
    """A running median (drops single-frame outliers) then a moving average (flow jitter), per column."""
    def running(v, n, reduce):
        if len(v) < n:
            return v
        padded = np.pad(v, (n // 2, n - 1 - n // 2), mode="edge")
        return reduce(np.lib.stride_tricks.sliding_window_view(padded, n), axis=-1)

    return np.stack([running(running(v, median, np.median), mean, np.mean) for v in values.T], axis=1)
