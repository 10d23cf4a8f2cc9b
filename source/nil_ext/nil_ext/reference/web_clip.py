"""A clip like a real image-to-video export, with its truth: the robot walking toward (or away from) the camera.

What a generated clip showed that example_clip.py's did not (issue 43): 720 x 720 px at 24 fps, H1 walking
diagonally toward a camera that stands still and turns to keep it in view (front-left, a little above), mid-stride
in the first frame, growing 1.6x over the clip; a light grey grid floor seen in perspective by that turning camera,
a soft shadow, a watermark; and the compression of a web video (low-bitrate h264). `render_approach` renders the
robot with the simulator and keeps the camera's poses, `style` puts it on a floor drawn with those poses, `web_video`
compresses any clip as such an export is.

    python -m nil_ext.reference.web_clip clip.mp4 [--away] [--seconds 2]
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .example_clip import START_S
from .synthetic_videos import composite

SIZE = 720
FPS = 24.0
YAW_DEG = 35.0  # the camera stands ahead-left of the robot's path (yaw 0: straight ahead of it)
START_DISTANCE = 5.4  # m: the robot grows ~1.6x as it walks 2.5 m toward the camera (2 s at 1.25 m/s)
EYE_ABOVE_BASE = 0.8  # m: a camera at head height looks down at the robot
BITRATE = "600k"  # a web export of 720 x 720 px: block artefacts at edges, the thin grid lines smeared
GRID_M, LINE_M = 0.5, 0.02  # floor tiles and their joints, m
FLOOR_GREY, SKY = 185.0, (228.0, 232.0, 238.0)
SHADOW = 0.45  # how much the shadow darkens the floor at its centre


@dataclass(frozen=True)
class Approach:
    """A rendered approach and its truth: what the camera saw, and where it stood and looked."""

    frames: np.ndarray  # (T, H, W, 3) uint8, the simulator's render
    masks: np.ndarray  # (T, H, W) bool, the robot
    fps: float
    eyes: np.ndarray  # (T, 3) the camera's eye in the world, m (it stands still)
    targets: np.ndarray  # (T, 3) the point it looks at: the robot's base
    focal_px: float  # the pinhole's focal length in pixels


def render_approach(robot: str = "h1", seconds: float = 2.0, away: bool = False, size: int = SIZE,
                    fps: float = FPS) -> Approach:
    """The scripted walk from a camera standing still ahead-left of the path (`away`: behind-left), turning to keep
    the robot's base in the middle of its view."""
    import torch

    from ..scene.camera import FollowCameraCfg, aim_camera
    from ..scene.robot_scene import open_robot_scene
    from .scripted import gait_of, scripted_motion

    yaw = math.radians(180.0 - YAW_DEG if away else YAW_DEG)
    # walking away, the robot starts near the camera and leaves it; toward, far and comes to it
    distance = START_DISTANCE / 1.6 if away else START_DISTANCE
    times = torch.as_tensor(START_S + np.arange(round(seconds * fps)) / fps).float()
    camera = FollowCameraCfg(width=size, height=size, mode="fixed", distance=distance, yaw_deg=math.degrees(yaw),
                             height_offset=EYE_ABOVE_BASE)
    frames, masks, targets = [], [], []
    with open_robot_scene(robot, 1, camera, "cpu") as scene:
        data = scene.robot.data
        start = data.root_pose_w.torch[0].clone()
        roots, joints = scripted_motion(gait_of(robot), scene.robot.joint_names, start,
                                        data.default_joint_pos.torch[0].clone(), data.joint_pos_limits.torch[0], times)
        eye = start[:3] + torch.tensor([distance * math.cos(yaw), distance * math.sin(yaw), EYE_ABOVE_BASE])
        # the robot walks from where the clip starts (mid-stride): the eye is placed from there
        eye[:2] += roots[0, :2] - start[:2]
        for t in range(len(times)):
            scene.robot.write_root_pose_to_sim_index(root_pose=roots[t : t + 1])
            scene.robot.write_joint_position_to_sim_index(position=joints[t : t + 1])
            scene.sim.forward()
            scene.scene.update(0.0)
            base = roots[t : t + 1, :3].to(scene.device)
            aim_camera(scene.camera, base, (eye.to(scene.device) - base))
            rgb, mask = scene.render()
            frames.append(rgb[0].cpu().numpy().copy())
            masks.append(mask[0].cpu().numpy().copy())
            targets.append(base[0].cpu().numpy().astype(np.float64))
    focal_px = size * camera.focal_length / camera.horizontal_aperture
    return Approach(np.stack(frames), np.stack(masks), fps, np.repeat(eye.numpy()[None].astype(np.float64),
                    len(times), 0), np.stack(targets), focal_px)


def camera_rays(eye: np.ndarray, target: np.ndarray, focal_px: float, size: int) -> np.ndarray:
    """(H, W, 3) world directions through each pixel's centre of a pinhole at `eye` looking at `target`, level
    (no roll), principal point at the image centre: the simulator's camera as aim_camera sets it."""
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    offsets = np.arange(size) + 0.5 - size / 2
    u, v = np.meshgrid(offsets, offsets)
    return focal_px * forward + u[..., None] * right - v[..., None] * up


def perspective_floor(eye: np.ndarray, target: np.ndarray, focal_px: float, size: int,
                      shadow_at: np.ndarray | None = None) -> np.ndarray:
    """(H, W, 3) float: a light grey floor at z = 0 with dark joints every GRID_M m, fixed in the world, seen by the
    camera (`camera_rays`); a pale sky above the horizon; a soft shadow on the floor around `shadow_at` (x, y).
    Each joint covers its share of a pixel's footprint, so far lines thin and blend into the floor as filmed ones do."""
    rays = camera_rays(eye, target, focal_px, size)
    down = rays[..., 2] < -1e-9
    hit = -eye[2] / np.where(down, rays[..., 2], -1.0)
    ground = eye[:2] + hit[..., None] * rays[..., :2]  # (H, W, 2) where each pixel's ray meets the floor
    lines = np.zeros((size, size))
    for axis in range(2):
        x = ground[..., axis]
        footprint = np.abs(np.gradient(x, axis=0)) + np.abs(np.gradient(x, axis=1)) + 1e-9  # metres one pixel spans
        nearest = GRID_M * np.round(x / GRID_M)
        overlap = np.minimum(x + footprint / 2, nearest + LINE_M / 2) - np.maximum(x - footprint / 2, nearest - LINE_M / 2)
        lines = np.maximum(lines, np.clip(overlap / footprint, 0.0, 1.0))
    floor = FLOOR_GREY * (1.0 - 0.45 * lines)
    if shadow_at is not None:
        d = ground - (np.asarray(shadow_at) + [0.15, 0.1])  # the light is not overhead: cast a little aside
        floor *= 1.0 - SHADOW * np.exp(-0.5 * ((d[..., 0] / 0.3) ** 2 + (d[..., 1] / 0.2) ** 2))
    distance = np.linalg.norm(ground - eye[:2], axis=-1)
    haze = 0.85 * np.clip(distance / 30.0, 0.0, 1.0)[..., None]  # far floor fades toward the sky, a horizon stays
    sky = np.broadcast_to(np.asarray(SKY), (size, size, 3))
    out = (floor[..., None] + [0.0, 0.0, 3.0]) * (1 - haze) + sky * haze
    return np.where(down[..., None], out, sky).astype(np.float32)


def style(approach: Approach, seed: int = 0) -> np.ndarray:
    """A dark robot over the perspective grid floor with its soft shadow, and a watermark."""
    size = approach.frames.shape[1]
    floors = np.stack([perspective_floor(eye, target, approach.focal_px, size, shadow_at=target[:2])
                       for eye, target in zip(approach.eyes, approach.targets, strict=True)])
    return composite(approach.frames, approach.masks, floors, seed=seed, watermark="AI video", robot_tone="dark")


def web_video(video: np.ndarray, path: str | Path, fps: float = FPS, bitrate: str = BITRATE) -> Path:
    """Write (T, H, W, 3) uint8 as a web export is: h264 at a low bitrate (imageio's bundled ffmpeg)."""
    import imageio.v2 as imageio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with imageio.get_writer(path, fps=fps, codec="libx264", bitrate=bitrate, macro_block_size=16) as writer:
        for frame in video:
            writer.append_data(frame)
    return path


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", help="the mp4 to write")
    p.add_argument("--away", action="store_true", help="walking away from the camera instead of toward it")
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--robot", default="h1")
    p.add_argument("--truth", help="also save the truth masks (.npy)")
    args = p.parse_args(argv)
    clip = render_approach(args.robot, args.seconds, args.away)
    path = web_video(style(clip), args.out, clip.fps)
    if args.truth:
        np.save(args.truth, clip.masks)
    masks, frames = clip.masks, clip.frames
    grow = masks[-1].any(1).sum() / max(masks[0].any(1).sum(), 1)
    print(f"wrote {path}: {len(frames)} frames at {clip.fps:g} fps, {frames.shape[2]}x{frames.shape[1]} px, the robot "
          f"{grow:.2f}x its first height at the end", flush=True)


if __name__ == "__main__":
    main()
