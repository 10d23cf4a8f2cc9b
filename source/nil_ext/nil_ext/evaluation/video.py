"""Side-by-side videos for people: reference | agent | masks (reference red, agent blue, overlap white) + IoU."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def mask_overlay(ref_mask: np.ndarray, agent_mask: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8: reference-only pixels red, agent-only blue, both white."""
    out = np.zeros((*ref_mask.shape, 3), np.uint8)
    out[ref_mask & ~agent_mask] = (220, 60, 60)
    out[agent_mask & ~ref_mask] = (60, 110, 230)
    out[ref_mask & agent_mask] = (255, 255, 255)
    return out


def mask_as_image(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool -> (H, W, 3) uint8: the robot dark on a light ground, for a camera that renders masks only."""
    return np.where(mask[..., None], 40, 235).astype(np.uint8).repeat(3, axis=-1)


def side_by_side_frame(ref_rgb, agent_rgb, ref_mask, agent_mask, iou: float, label: str = "") -> np.ndarray:
    """One frame: reference | agent | mask overlay, with the IoU written on the overlay."""
    h, w = agent_rgb.shape[:2]
    if ref_rgb.shape[:2] != (h, w):
        ref_rgb = cv2.resize(ref_rgb, (w, h), interpolation=cv2.INTER_AREA)
        ref_mask = cv2.resize(ref_mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
    panel = np.concatenate([ref_rgb, agent_rgb, mask_overlay(ref_mask, agent_mask)], axis=1)
    scale = max(1, 256 // h)  # small renders are upscaled so that the text stays readable
    panel = cv2.resize(panel, (panel.shape[1] * scale, h * scale), interpolation=cv2.INTER_NEAREST)
    text = f"IoU {iou:.2f}" + (f"  {label}" if label else "")
    cv2.putText(panel, text, (2 * w * scale + 4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 0), 1, cv2.LINE_AA)
    for i, name in enumerate(("reference", "agent", "masks")):
        cv2.putText(panel, name, (i * w * scale + 4, h * scale - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 0), 1)
    return panel


def write_video(frames: list[np.ndarray], path: str | Path, fps: float) -> Path:
    """Write frames (H, W, 3) uint8 to an mp4 (imageio's bundled ffmpeg)."""
    import imageio.v2 as imageio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with imageio.get_writer(path, fps=fps, codec="libx264", quality=7, macro_block_size=1) as writer:
        for frame in frames:
            writer.append_data(frame)
    return path


def write_strip(frames: list[np.ndarray], path: str | Path, count: int = 4) -> Path:
    """``count`` of the frames, first to last, stacked top to bottom: the video at a glance."""
    import imageio.v3 as iio

    picks = np.linspace(0, len(frames) - 1, count).round().astype(int)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, np.concatenate([frames[i] for i in picks], axis=0))
    return path
