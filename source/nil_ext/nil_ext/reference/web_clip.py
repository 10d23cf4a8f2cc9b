"""A clip like a real image-to-video export, with its truth: the robot walking toward (or away from) the camera.

What a generated clip showed that example_clip.py's did not (issue 43): 720 x 720 px at 24 fps, H1 walking
diagonally toward a camera that stands still and turns to keep it in view (front-left, a little above), mid-stride
in the first frame, growing 1.6x over the clip; a light grey grid floor, a soft shadow, a watermark; and the
compression of a web video (low-bitrate h264). `render_approach` renders it with the simulator; `web_video`
compresses any clip as such an export is.

    python -m nil_ext.reference.web_clip clip.mp4 [--away] [--seconds 2]
"""

from __future__ import annotations

import argparse
import math
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


def render_approach(robot: str = "h1", seconds: float = 2.0, away: bool = False, size: int = SIZE,
                    fps: float = FPS):
    """(frames (T, H, W, 3) uint8, truth masks (T, H, W) bool, fps): the scripted walk from a camera standing still
    ahead-left of the path (`away`: behind-left), turning to keep the robot's base in the middle of its view."""
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
    frames, masks = [], []
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
    return np.stack(frames), np.stack(masks), fps


def style(frames: np.ndarray, masks: np.ndarray, seed: int = 0) -> np.ndarray:
    """A dark robot over a light grey grid floor with a soft shadow and a watermark (the ground slides a little as the
    camera turns)."""
    return composite(frames, masks, "grid_floor", camera_shift_px_per_frame=(-1.5, 0.0), seed=seed, shadow=0.45,
                     watermark="AI video", robot_tone="dark")


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
    frames, masks, fps = render_approach(args.robot, args.seconds, args.away)
    path = web_video(style(frames, masks), args.out, fps)
    if args.truth:
        np.save(args.truth, masks)
    grow = masks[-1].any(1).sum() / max(masks[0].any(1).sum(), 1)
    print(f"wrote {path}: {len(frames)} frames at {fps:g} fps, {frames.shape[2]}x{frames.shape[1]} px, the robot "
          f"{grow:.2f}x its first height at the end", flush=True)


if __name__ == "__main__":
    main()
