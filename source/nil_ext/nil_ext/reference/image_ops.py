"""Small image helpers shared by the first-frame prompts, the segmenters and the bundle's resampling."""

from __future__ import annotations

import cv2
import numpy as np


def disk(r: int) -> np.ndarray:
    """A filled disk of radius r, for morphology."""
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def colour_centres(pixels: np.ndarray, k: int) -> np.ndarray:
    """k-means centres of (N, 3) pixels (subsampled: a few thousand describe a colour set; fewer centres when the
    pixels have fewer distinct colours). Seeded: the same pixels give the same centres."""
    pixels = pixels.reshape(-1, 3).astype(np.float32)
    if len(pixels) > 20000:
        pixels = pixels[np.random.default_rng(0).choice(len(pixels), 20000, replace=False)]
    k = max(1, min(k, len(np.unique(pixels.round(1), axis=0))))
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(0)
    _, _, centres = cv2.kmeans(pixels, k, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    return centres


def nearest_colour_distance(image: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """(H, W) distance of each pixel of an (H, W, 3) image to its nearest of (K, 3) colour centres."""
    dist = np.full(image.shape[:2], np.inf, np.float32)
    for c in centres:  # one colour at a time: no (H, W, K, 3) temporary
        dist = np.minimum(dist, np.linalg.norm(image - c, axis=-1))
    return dist


def resize_frames(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """(T, H, W, C) uint8 images at (height, width): area averaging where they shrink (antialiased), bilinear where
    they grow."""
    if frames.shape[1:3] == (height, width):
        return frames
    interp = _interpolation(frames.shape[1:3], (height, width))
    return np.stack([cv2.resize(f, (width, height), interpolation=interp) for f in frames]).reshape(
        len(frames), height, width, *frames.shape[3:]
    )


def resize_masks(masks: np.ndarray, width: int, height: int) -> np.ndarray:
    """(T, H, W) bool masks at (height, width), resampled as masks: each new pixel's coverage (area averaging when
    shrinking, bilinear when growing) thresholded at one half, so that the area is kept and thin limbs are not
    widened or dropped more than half a pixel."""
    if masks.shape[1:3] == (height, width):
        return masks.astype(bool, copy=False)
    interp = _interpolation(masks.shape[1:3], (height, width))
    out = np.empty((len(masks), height, width), bool)
    for k, m in enumerate(masks):
        out[k] = cv2.resize(m.astype(np.float32), (width, height), interpolation=interp) >= 0.5
    return out


def _interpolation(src: tuple[int, int], dst: tuple[int, int]) -> int:
    return cv2.INTER_AREA if dst[0] * dst[1] < src[0] * src[1] else cv2.INTER_LINEAR
