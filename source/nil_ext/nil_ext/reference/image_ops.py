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
