"""Find the task camera that sees the robot's start pose as a video's first frame shows it (render-and-compare).

A user's video need not be filmed from our task camera. This searches the camera's azimuth (yaw), elevation,
distance and field of view for the best IoU between the robot's rendered start-pose mask and the video's
first-frame mask. No simulator here: the caller passes a render function (reference/camera_search.py gives the
simulator's; tests give synthetic silhouettes).

- Intrinsics are shared by all rendered envs, so each pose is rendered once at the widest FOV (at a higher
  resolution) and narrower FOVs are centre crops resized to the compare size (a pinhole with a centred principal
  point: exact up to the crop's whole-pixel size, and the reported FOV is the one of the crop actually used).
- The video camera need not look at the base: each rendered mask is shifted so that its centroid meets the
  video mask's; that shift is returned, so the video frames can be moved to where the task camera sees the robot.
- A silhouette from yaw t and from 180 - t (front/back) is the same for a left-right symmetric robot: the best
  pose more than 90 deg of yaw away is reported as the runner-up; when its IoU is within a small margin, the RGB
  layout inside the masks (grey level and edges, after the shift) decides, and the result says so.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .errors import ReferenceInputError

DEFAULT_APERTURE = 20.955  # mm, FollowCameraCfg's horizontal_aperture (kept; the FOV sets the focal length)
MIN_CAMERA_HEIGHT = 0.15  # m above the ground: lower poses would look through the ground box
RenderFn = Callable[[torch.Tensor], tuple[torch.Tensor | None, torch.Tensor]]
"""poses (P, 3) [yaw_deg, elevation_deg, range_m] -> rgb (P, H, W, 3) uint8 (or None), masks (P, H, W) bool,
rendered at the widest FOV and the render size of :func:`render_geometry`, looking at the robot's base."""


class AlignmentError(ReferenceInputError):
    """The video's first-frame mask matches the robot's start pose from no camera well enough."""


class AmbiguousAlignmentError(AlignmentError):
    """Two cameras fit the first frame about as well, below the bar: the user picks one (--camera_yaw)."""


@dataclass
class CameraSearchCfg:
    yaw_step_deg: float = 15.0
    """Coarse yaw grid over the full circle."""
    elevation_deg: tuple[float, float] = (-10.0, 65.0)
    """From a little below the base to well above (a real clip filmed from head height looks down at 35 deg)."""
    elevation_step_deg: float = 15.0
    distance_scales: tuple[float, ...] = (0.8, 1.25)
    """Coarse camera ranges, relative to the default camera distance (the FOV crops cover apparent size; the
    range adds perspective)."""
    fov_deg: tuple[float, float] = (30.0, 90.0)
    """Horizontal field of view searched (one render at the widest, crops for the others)."""
    fov_step_deg: float = 2.0
    compare_width: int = 64
    """Width (px) at which masks are compared; the render is wider so that the narrowest crop still has it."""
    blur_px: float = 1.0
    """Gaussian sigma (compare px) on both masks before the IoU: a thin robot's 1-px limbs otherwise make the IoU
    of two rasterisations of the same pose depend on sub-pixel alignment more than on the pose."""
    refine_rounds: int = 2
    """Coarse-to-fine: each round searches a 3x3x3 grid (yaw, elevation, range) of half the last steps around
    the best pose and the runner-up."""
    batch_envs: int = 128
    """Poses rendered at once (the simulator's env count)."""
    min_iou: float = 0.75
    """Refuse below this. Measured on H1 (128 px mask, compare width 48): its start pose from an unseen camera
    0.83-0.90 (blur 0-1 px); another robot (A1) 0.41-0.47; filled circles and a box 0.60-0.67 (a top view of the
    robot is a blob): the threshold sits between."""
    tie_margin: float = 0.02
    """Runner-up IoU within this of the best: front/back ambiguous, the RGB decides."""
    floor_iou: float = 0.6
    """Below min_iou, a camera is still taken when its IoU is at least this and clear of the runner-up by
    decide_margin: a real clip's robot is never exactly our robot in one of our poses (a generated H1 mid-stride,
    front-left from above: 0.70, its mirror 0.67). Another robot scores 0.41-0.47; a circle or a box, which fit from
    every yaw alike, has no margin."""
    decide_margin: float = 0.02
    """How far the best IoU must lead the runner-up (the best camera more than 90 deg of yaw away) below min_iou."""
    yaw_deg: float | None = None
    """The user's choice between candidates (--camera_yaw): only yaws within yaw_window_deg of it are searched."""
    yaw_window_deg: float = 20.0
    gait_poses: int = 4
    """A video's first frame may be mid-stride: when the start pose scores below gait_search_below, the search is
    repeated with the robot held in this many poses of its scripted gait (a quarter stride apart, full swing) and the
    best pose wins. 0: the start pose only."""
    gait_search_below: float = 0.85
    """A start pose above min_iou can still be the wrong one: issue 43's clip, mid-stride at the true FOV, fitted the
    start pose at 0.76 from yaw 120 (truth 35), a quarter stride at 0.85 from yaw 56."""

    def __post_init__(self):
        lo, hi = self.fov_deg
        if not 0.0 < lo <= hi < 170.0:
            raise ReferenceInputError(f"fov_deg {self.fov_deg} must be increasing within (0, 170) degrees")
        if self.compare_width < 8 or self.batch_envs < 1:
            raise ReferenceInputError("compare_width must be >= 8 and batch_envs >= 1")


@dataclass
class RenderGeometry:
    """Sizes of one search: the render (widest FOV) and the comparison, both of the video's aspect."""

    render_width: int
    render_height: int
    fov_deg: float
    compare_width: int
    compare_height: int
    crops: list[tuple[int, int, float]] = field(default_factory=list)
    """(crop width, crop height, its exact FOV in degrees) in render pixels, widest first."""

    def focal_length(self, fov_deg: float | None = None, aperture: float = DEFAULT_APERTURE) -> float:
        return aperture / (2.0 * math.tan(math.radians(fov_deg or self.fov_deg) / 2.0))


def render_geometry(cfg: CameraSearchCfg, video_shape: tuple[int, int]) -> RenderGeometry:
    h, w = video_shape
    lo, hi = cfg.fov_deg
    t_hi, t_lo = math.tan(math.radians(hi) / 2), math.tan(math.radians(lo) / 2)
    cw = cfg.compare_width
    ch = max(1, round(cw * h / w))
    rw = math.ceil(cw * t_hi / t_lo)
    rh = max(1, round(rw * h / w))
    crops = []
    for fov in np.arange(hi, lo - 1e-6, -cfg.fov_step_deg):
        crop_w = min(rw, round(rw * math.tan(math.radians(fov) / 2) / t_hi))
        crop_h = min(rh, max(1, round(crop_w * rh / rw)))
        exact = math.degrees(2 * math.atan(crop_w / rw * t_hi))
        if not crops or crops[-1][0] != crop_w:
            crops.append((crop_w, crop_h, exact))
    return RenderGeometry(rw, rh, hi, cw, ch, crops)


def pose_offsets(poses: torch.Tensor) -> torch.Tensor:
    """(P, 3) [yaw_deg, elevation_deg, range_m] -> camera offsets from the base (P, 3) metres (yaw 0 looks from +x,
    as FollowCameraCfg)."""
    yaw, elev = torch.deg2rad(poses[:, 0]), torch.deg2rad(poses[:, 1])
    r = poses[:, 2]
    return torch.stack([r * torch.cos(elev) * torch.cos(yaw), r * torch.cos(elev) * torch.sin(yaw), r * torch.sin(elev)], 1)


def coarse_poses(cfg: CameraSearchCfg, base_range: float) -> torch.Tensor:
    yaws = torch.arange(-180.0, 180.0 - 1e-6, cfg.yaw_step_deg)
    if cfg.yaw_deg is not None:  # the user chose: a finer grid around it
        yaws = _wrap_deg(cfg.yaw_deg + torch.arange(-cfg.yaw_window_deg, cfg.yaw_window_deg + 1e-6, cfg.yaw_step_deg / 3))
    lo, hi = cfg.elevation_deg
    elevs = torch.arange(lo, hi + 1e-6, cfg.elevation_step_deg)
    if hi - lo < cfg.elevation_step_deg:  # a narrow range (the floor's horizon told it): start from its middle
        elevs = torch.tensor([(lo + hi) / 2])
    ranges = torch.tensor(cfg.distance_scales) * base_range
    return torch.cartesian_prod(yaws, elevs, ranges).float()


def refine_poses(seeds: torch.Tensor, steps: tuple[float, float, float], cfg: CameraSearchCfg) -> torch.Tensor:
    """A 3x3x3 grid around each seed pose (K, 3): yaw and elevation +-step, range times/divided by step[2]."""
    d = torch.tensor([-1.0, 0.0, 1.0])
    grid = torch.cartesian_prod(d * steps[0], d * steps[1], steps[2] ** d)
    poses = seeds[:, None, :].repeat(1, len(grid), 1)
    poses[..., 0] = _wrap_deg(poses[..., 0] + grid[:, 0])
    poses[..., 1] = (poses[..., 1] + grid[:, 1]).clamp(*cfg.elevation_deg)
    poses[..., 2] = poses[..., 2] * grid[:, 2]
    return poses.reshape(-1, 3)


def fit_mask(mask: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(..., H, W) bool/float -> (..., height, width) float coverage in [0, 1] (area resampling)."""
    m = mask.float()
    lead = m.shape[:-2]
    m = F.interpolate(m.reshape(-1, 1, *m.shape[-2:]), size=(height, width), mode="area")
    return m.reshape(*lead, height, width)


def centre_crop(images: torch.Tensor, crop_w: int, crop_h: int) -> torch.Tensor:
    """Centre crop of (..., H, W): what a narrower pinhole with the same centred principal point sees."""
    h, w = images.shape[-2:]
    y0, x0 = (h - crop_h) // 2, (w - crop_w) // 2
    return images[..., y0 : y0 + crop_h, x0 : x0 + crop_w]


def centroids(masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(P, H, W) coverage -> centroid (P, 2) [x, y] in pixels (pixel centres at i + 0.5) and area (P,)."""
    h, w = masks.shape[-2:]
    area = masks.sum((-1, -2))
    xs = torch.arange(w, dtype=masks.dtype) + 0.5
    ys = torch.arange(h, dtype=masks.dtype) + 0.5
    safe = area.clamp_min(1e-6)
    return torch.stack([(masks.sum(-2) * xs).sum(-1) / safe, (masks.sum(-1) * ys).sum(-1) / safe], -1), area


def translate(images: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Move (P, C, H, W) by shift (P, 2) [dx, dy] pixels (zeros enter); exact for whole pixels (bilinear)."""
    p, _, h, w = images.shape
    theta = torch.zeros(p, 2, 3, dtype=images.dtype)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = -2.0 * shift[:, 0] / w
    theta[:, 1, 2] = -2.0 * shift[:, 1] / h
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def blur(masks: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (P, H, W) (zero padding: nothing leaks in from outside the image)."""
    if sigma <= 0:
        return masks
    radius = max(1, math.ceil(2.5 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=masks.dtype)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    k = k / k.sum()
    out = F.conv2d(masks[:, None], k.view(1, 1, 1, -1), padding=(0, radius))
    return F.conv2d(out, k.view(1, 1, -1, 1), padding=(radius, 0))[:, 0]


def score_renders(
    masks: torch.Tensor, video: torch.Tensor, geometry: RenderGeometry, blur_px: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """IoU of every (pose, FOV crop) with the video mask after centring, batched over poses.

    masks: (P, Hr, Wr) rendered at the widest FOV; video: (h, w) coverage at the compare size; blur_px: see
    CameraSearchCfg.
    Returns iou (P, C) and the shift (P, C, 2) [dx, dy] compare px that moved each rendered mask onto the video's.
    """
    video_c, _ = centroids(video[None])
    video = blur(video[None], blur_px)[0]
    ious, shifts = [], []
    for crop_w, crop_h, _ in geometry.crops:  # a few crops; every pose at once in each
        m = fit_mask(centre_crop(masks, crop_w, crop_h), geometry.compare_height, geometry.compare_width)
        c, area = centroids(m)
        shift = video_c - c
        moved = blur(translate(m[:, None], shift)[:, 0], blur_px)
        inter = torch.minimum(moved, video).sum((-1, -2))
        union = torch.maximum(moved, video).sum((-1, -2))
        ious.append(torch.where(area > 0.5, inter / union.clamp_min(1e-6), torch.zeros_like(inter)))
        shifts.append(shift)
    return torch.stack(ious, 1), torch.stack(shifts, 1)


def rgb_agreement(rgb: torch.Tensor, mask: torch.Tensor, video_rgb: torch.Tensor, video_mask: torch.Tensor) -> float:
    """How alike two (H, W, 3) images are inside both masks: the mean of the normalised cross-correlations of grey
    level, edge strength and colour (each channel minus grey). Correlations, not differences: robust to a video's
    other lighting and white balance."""
    inside = (mask > 0.5) & (video_mask > 0.5)
    if inside.sum() < 4:
        return -1.0
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])[None, None] / 8.0

    def features(img):
        img = img.float() / 255.0
        g = img.mean(-1)
        gx, gy = F.conv2d(g[None, None], kx, padding=1), F.conv2d(g[None, None], kx.transpose(-1, -2), padding=1)
        return g, (gx**2 + gy**2).sqrt()[0, 0], img - g[..., None]

    def ncc(a, b):
        a, b = a[inside], b[inside]
        a, b = a - a.mean(0), b - b.mean(0)
        return float((a * b).sum() / ((a.norm() * b.norm()).clamp_min(1e-6)))

    return sum(ncc(a, b) for a, b in zip(features(rgb), features(video_rgb), strict=True)) / 3.0


@dataclass
class CameraAlignment:
    """The camera found, how well it fits, and what else nearly fit."""

    camera: dict
    """FollowCameraCfg fields: width, height (the video mask's), distance (horizontal, m), height_offset, yaw_deg,
    focal_length, horizontal_aperture. What a bundle records as its camera."""
    iou: float
    shift_px: tuple[float, float]
    """(dx, dy) video pixels: move the video frames by this and the robot sits where the task camera sees it."""
    elevation_deg: float
    fov_deg: float
    range_m: float
    runner_up: dict | None
    """The best pose more than 90 deg of yaw away: yaw_deg, elevation_deg, fov_deg, range_m, iou."""
    tie_break: str | None
    """Set when the runner-up was within the tie margin and the RGB layout chose between them."""
    candidates: int
    """(pose, FOV) pairs scored."""
    seconds: float
    robot: str = "robot"
    pose: str = "start pose"
    """The robot's pose the camera was found with: its start pose, or one of its scripted gait's."""
    poses_searched: list[dict] = field(default_factory=list)
    """Each pose searched, with the best IoU from any camera: {"pose", "iou"}."""
    candidate_masks: list[str] = field(default_factory=list)
    """The best camera's and the runner-up's renders, moved onto the video mask (its size), as pack_mask strings:
    what a user looks at to choose between them."""
    decided_by: str = ""
    """How the camera was taken: "" (above the bar), or the margin over the runner-up below it."""

    def check(self, min_iou: float, floor_iou: float | None = None, margin: float = 0.02) -> CameraAlignment:
        """Refuse a camera below ``min_iou``; given ``floor_iou``, take one at least that good and ``margin`` clear of
        the runner-up instead, and say that two cameras tie (AmbiguousAlignmentError) when it is not."""
        if self.iou < min_iou and floor_iou is not None and self.iou >= floor_iou:
            lead = self.iou - self.runner_up["iou"] if self.runner_up else 1.0
            if lead >= margin:
                self.decided_by = (f"IoU {self.iou:.2f} below the {min_iou} bar, {lead:.2f} clear of the runner-up "
                                   f"(at least {margin})")
                return self
            r = self.runner_up
            raise AmbiguousAlignmentError(
                f"cannot decide the camera: the best, yaw {self.camera['yaw_deg']:.1f} deg (elevation "
                f"{self.elevation_deg:.0f}) at IoU {self.iou:.2f}, leads yaw {r['yaw_deg']:.1f} deg (elevation "
                f"{r['elevation_deg']:.0f}) at {r['iou']:.2f} by less than {margin}, below the {min_iou} bar at which "
                f"the best is taken anyway. candidates.png shows both over the first frame: choose with --camera_yaw "
                f"{self.camera['yaw_deg']:.0f} or --camera_yaw {r['yaw_deg']:.0f}"
            )
        if not self.iou >= min_iou:
            searched = ", ".join(f"{p['pose']} {p['iou']:.2f}" for p in self.poses_searched) or self.pose
            raise AlignmentError(
                f"best IoU {self.iou:.2f} < {min_iou}: the mask of the video's first frame does not look like "
                f"{self.robot} from any camera in the poses searched ({searched}). If the mask is wrong (see "
                "first_frame_mask.png), prompt the robot with --robot_box/--robot_point; if it is right, the first "
                "frame's pose differs from those: go on with this camera with --min_alignment_iou "
                f"{math.floor(self.iou * 100) / 100:.2f}"
            )
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def gait_phase(self) -> float:
        """The stride fraction of a "scripted gait at P stride" pose (0 for the start pose)."""
        from fractions import Fraction

        if not self.pose.startswith("scripted gait at "):
            return 0.0
        return float(Fraction(self.pose.removeprefix("scripted gait at ").split(" ")[0]))

    def candidate_arrays(self) -> list[np.ndarray]:
        """The candidate renders as (H, W) bool arrays (best first)."""
        return [unpack_mask(m) for m in self.candidate_masks]

    @classmethod
    def from_dict(cls, data: dict) -> CameraAlignment:
        data = dict(data)
        data["shift_px"] = tuple(data["shift_px"])
        return cls(**data)

    def summary(self) -> str:
        c = self.camera
        text = (f"camera aligned to the video ({self.robot} in its {self.pose}): IoU {self.iou:.3f} at yaw "
                f"{c['yaw_deg']:.1f} deg, elevation "
                f"{self.elevation_deg:.1f} deg, range {self.range_m:.2f} m, FOV {self.fov_deg:.1f} deg, video shift "
                f"({self.shift_px[0]:.1f}, {self.shift_px[1]:.1f}) px; {self.candidates} candidates, {self.seconds:.1f} s")
        if self.runner_up:
            text += f"; runner-up yaw {self.runner_up['yaw_deg']:.1f} deg IoU {self.runner_up['iou']:.3f}"
        return text + "".join(f"; {x}" for x in (self.tie_break, self.decided_by) if x)


def search_camera(
    render: RenderFn,
    video_mask,
    video_frame=None,
    cfg: CameraSearchCfg | None = None,
    base_height: float = 1.0,
    base_range: float | None = None,
    robot: str = "robot",
    progress: bool = True,
) -> CameraAlignment:
    """The camera pose and FOV whose render of the start pose best matches ``video_mask`` (H, W) bool.

    ``render`` renders poses (see RenderFn) at ``render_geometry(cfg, video_mask.shape)``; ``base_height``: the
    base above the ground (poses below MIN_CAMERA_HEIGHT are skipped); ``base_range``: the default camera
    distance (the distance scales multiply it). ``video_frame`` (H, W, 3) uint8 breaks front/back ties.
    Does not refuse: call ``.check(cfg.min_iou)`` on the result.
    """
    from tqdm import tqdm

    cfg = cfg or CameraSearchCfg()
    start = time.perf_counter()
    video_mask = torch.as_tensor(np.asarray(video_mask)).bool()
    if video_mask.ndim != 2 or video_mask.sum() < 4:
        raise ReferenceInputError(f"the video mask must be (H, W) with the robot in it; got shape "
                                  f"{tuple(video_mask.shape)} with {int(video_mask.sum())} pixels set")
    h, w = video_mask.shape
    geometry = render_geometry(cfg, (h, w))
    video = fit_mask(video_mask, geometry.compare_height, geometry.compare_width)
    base_range = base_range or 2.8 * base_height + 0.3
    crop_fovs = torch.tensor([c[2] for c in geometry.crops])

    all_poses, all_iou, all_shift = [], [], []

    def evaluate(poses: torch.Tensor, bar) -> None:
        cam_z = base_height + poses[:, 2] * torch.sin(torch.deg2rad(poses[:, 1]))
        poses = poses[cam_z >= MIN_CAMERA_HEIGHT]
        for chunk in poses.split(cfg.batch_envs):
            _, masks = render(chunk)
            iou, shift = score_renders(masks.cpu(), video, geometry, cfg.blur_px)
            all_poses.append(chunk)
            all_iou.append(iou)
            all_shift.append(shift)
            bar.update(1)

    def best_and_runner_up():
        poses, iou = torch.cat(all_poses), torch.cat(all_iou)
        per_pose, crop = iou.max(1)
        i = int(per_pose.argmax())
        yaw_gap = _wrap_deg(poses[:, 0] - poses[i, 0]).abs()
        far = torch.where(yaw_gap > 90.0, per_pose, torch.full_like(per_pose, -1.0))
        j = int(far.argmax())
        return (i, int(crop[i])), ((j, int(crop[j])) if far[j] >= 0 else None)

    coarse = coarse_poses(cfg, base_range)
    steps = (cfg.yaw_step_deg, cfg.elevation_step_deg, _scale_step(cfg.distance_scales))
    n_batches = math.ceil(len(coarse) / cfg.batch_envs) + cfg.refine_rounds * math.ceil(54 / cfg.batch_envs)
    with tqdm(total=n_batches, desc="camera search", disable=not progress, leave=False) as bar:
        evaluate(coarse, bar)
        for _ in range(cfg.refine_rounds):
            steps = (steps[0] / 2, steps[1] / 2, math.sqrt(steps[2]))
            best, runner = best_and_runner_up()
            seeds = [best[0]] + ([runner[0]] if runner else [])
            evaluate(refine_poses(torch.cat(all_poses)[seeds], steps, cfg), bar)

    poses, iou, shift = torch.cat(all_poses), torch.cat(all_iou), torch.cat(all_shift)
    best, runner = best_and_runner_up()
    tie_break = None
    if runner is not None and video_frame is not None and iou[best] - iou[runner] <= cfg.tie_margin:
        best, runner, tie_break = _rgb_tie_break(render, poses, shift, geometry, video_frame, video, best, runner)

    def describe(k):
        return {"yaw_deg": float(poses[k[0], 0]), "elevation_deg": float(poses[k[0], 1]),
                "fov_deg": float(crop_fovs[k[1]]), "range_m": float(poses[k[0], 2]), "iou": float(iou[k])}

    b = describe(best)
    elev = math.radians(b["elevation_deg"])
    camera = {
        "width": w,
        "height": h,
        "distance": round(b["range_m"] * math.cos(elev), 4),
        "height_offset": round(b["range_m"] * math.sin(elev), 4),
        "yaw_deg": round(b["yaw_deg"], 3),
        "focal_length": round(geometry.focal_length(b["fov_deg"]), 4),
        "horizontal_aperture": DEFAULT_APERTURE,
    }
    to_video = w / geometry.compare_width  # shift_px moves the video onto the render: minus the render->video shift
    dx, dy = (-shift[best] * to_video).tolist()
    shown = _candidate_masks(render, poses, shift, geometry, [k for k in (best, runner) if k is not None], (h, w))
    return CameraAlignment(
        camera=camera, iou=b["iou"], shift_px=(round(dx, 2), round(dy, 2)), elevation_deg=b["elevation_deg"],
        fov_deg=b["fov_deg"], range_m=b["range_m"], runner_up=describe(runner) if runner else None,
        tie_break=tie_break, candidates=int(iou.numel()), seconds=round(time.perf_counter() - start, 2), robot=robot,
        candidate_masks=[pack_mask(m) for m in shown],
    )


def _candidate_masks(render, poses, shift, geometry, picks, size) -> list[np.ndarray]:
    """The picked (pose, crop) renders as the video would show them: cropped, at the video mask's size, moved by
    their shift (for a user to compare with the first frame)."""
    h, w = size
    _, masks = render(poses[[k for k, _ in picks]])
    out = []
    for n, (k, crop) in enumerate(picks):
        crop_w, crop_h, _ = geometry.crops[crop]
        m = fit_mask(centre_crop(masks[n].cpu().float(), crop_w, crop_h), h, w)
        moved = translate(m[None, None], shift[k, crop][None] * (w / geometry.compare_width))[0, 0]
        out.append((moved >= 0.5).numpy())
    return out


def pack_mask(mask: np.ndarray) -> str:
    """(H, W) bool -> "HxW:" + base64 of its packed bits (small enough for a JSON record)."""
    import base64

    mask = np.asarray(mask, dtype=bool)
    return f"{mask.shape[0]}x{mask.shape[1]}:" + base64.b64encode(np.packbits(mask).tobytes()).decode()


def unpack_mask(text: str) -> np.ndarray:
    import base64

    size, data = text.split(":", 1)
    h, w = (int(v) for v in size.split("x"))
    return np.unpackbits(np.frombuffer(base64.b64decode(data), np.uint8))[: h * w].reshape(h, w).astype(bool)


def _rgb_tie_break(render, poses, shift, geometry, video_frame, video, best, runner):
    """Render the two poses again with RGB and keep the one whose layout inside the mask matches the video's."""
    frame = torch.as_tensor(np.asarray(video_frame))
    frame = F.interpolate(frame.permute(2, 0, 1)[None].float(), size=video.shape, mode="area")[0].permute(1, 2, 0)
    rgb, masks = render(poses[[best[0], runner[0]]])
    if rgb is None:
        return best, runner, None
    scores = []
    for n, (k, crop) in enumerate((best, runner)):
        crop_w, crop_h, _ = geometry.crops[crop]
        img = torch.cat([rgb[n].cpu().float().permute(2, 0, 1), masks[n].cpu().float()[None]])
        img = fit_mask(centre_crop(img, crop_w, crop_h), *video.shape)
        img = translate(img[None], shift[k, crop][None])[0]
        scores.append(rgb_agreement(img[:3].permute(1, 2, 0), img[3], frame, video))
    swap = scores[1] > scores[0]
    chosen, other = (runner, best) if swap else (best, runner)
    note = (f"front/back ambiguous (yaw {float(poses[best[0], 0]):.0f} vs {float(poses[runner[0], 0]):.0f} deg, "
            f"IoU within the tie margin): the RGB layout picked yaw {float(poses[chosen[0], 0]):.0f} deg "
            f"(agreement {max(scores):.2f} vs {min(scores):.2f})")
    return chosen, other, note


def _wrap_deg(a: torch.Tensor) -> torch.Tensor:
    return (a + 180.0) % 360.0 - 180.0


def _scale_step(scales) -> float:
    """The ratio between neighbouring coarse range scales (the refinement's starting range step)."""
    s = sorted(scales)
    return max(b / a for a, b in zip(s, s[1:], strict=False)) if len(s) > 1 else 1.25
