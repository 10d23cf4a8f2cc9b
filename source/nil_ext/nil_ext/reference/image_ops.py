"""Small image helpers shared by the first-frame prompts and the segmenters."""

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
