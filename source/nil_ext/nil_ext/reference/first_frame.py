"""Stage 1's first frame e0: the robot in its start pose, seen by the task's camera, background blanked."""

from __future__ import annotations

import numpy as np

BACKGROUND_COLOR = (255, 255, 255)


def blank_background(rgb: np.ndarray, mask: np.ndarray, color=BACKGROUND_COLOR) -> np.ndarray:
    """The image with every pixel outside the robot mask set to one plain colour (as the paper does)."""
    out = np.empty_like(rgb)
    out[...] = np.asarray(color, dtype=rgb.dtype)
    out[mask] = rgb[mask]
    return out


def render_first_frame(robot: str, camera_cfg, device: str = "cpu") -> tuple[np.ndarray, np.ndarray, dict]:
    """rgb (H, W, 3) uint8 with a plain background, the simulator's robot mask (H, W) bool, the camera dict."""
    from ..assets.robot_cfg import robot_model_info
    from ..scene.robot_scene import open_robot_scene

    with open_robot_scene(robot, num_envs=1, camera=camera_cfg, device=device) as scene:
        rgb, mask = scene.render()
        rgb, mask = rgb[0].cpu().numpy(), mask[0].cpu().numpy()
    if not mask.any():
        raise RuntimeError(f"The robot '{robot}' is not in view of the camera {camera_cfg}: its mask is empty.")
    return blank_background(rgb, mask), mask, camera_cfg.to_dict(robot_model_info(robot).base_pos[2])
