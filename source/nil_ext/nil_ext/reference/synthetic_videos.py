"""Videos with known masks: rendered robot pixels over a new background, as footage made elsewhere looks.

A video imported from Kling, Sora or a phone shows the robot over a background the simulator never
rendered, often with a camera that moves. `composite` builds such a video from simulator frames and
their masks (the truth), so that segmenters and prompts can be measured on it.
"""

from __future__ import annotations

import cv2
import numpy as np

from .errors import ReferenceInputError

BACKGROUNDS = ("plain", "gradient", "texture", "grid_floor", "noise")
NOISE_SIGMA = 2.0  # sensor / codec noise of real footage, in 8-bit levels


def composite(
    frames: np.ndarray,
    masks: np.ndarray,
    background: str,
    camera_shift_px_per_frame: tuple[float, float] = (0.0, 0.0),
    seed: int = 0,
) -> np.ndarray:
    """(T, H, W, 3) uint8: the robot pixels of `frames` (where `masks` is true) over a new `background`.

    The background slides by `camera_shift_px_per_frame` (dx, dy) pixels each frame, as if the camera
    panned; a little per-frame noise is added. The masks stay the truth of the result.
    """
    frames = np.asarray(frames)
    masks = np.asarray(masks).astype(bool)
    if frames.ndim != 4 or frames.shape[:3] != masks.shape:
        raise ReferenceInputError(f"frames {frames.shape} and masks {masks.shape} do not match: (T,H,W,3) and (T,H,W)")
    t, h, w = masks.shape
    dx, dy = camera_shift_px_per_frame
    # a canvas large enough for the whole pan; each frame is a (sub-pixel) window of it
    pad_x, pad_y = int(np.ceil(abs(dx) * t)) + 2, int(np.ceil(abs(dy) * t)) + 2
    canvas = make_background(background, h + pad_y, w + pad_x, seed=seed).astype(np.float32)
    x0 = 1.0 if dx >= 0 else pad_x - 1.0
    y0 = 1.0 if dy >= 0 else pad_y - 1.0
    rng = np.random.default_rng(seed + 1)
    out = np.empty_like(frames, dtype=np.uint8)
    for k in range(t):
        centre = (x0 + k * dx + (w - 1) / 2, y0 + k * dy + (h - 1) / 2)
        bg = cv2.getRectSubPix(canvas, (w, h), centre)
        img = np.where(masks[k][..., None], frames[k].astype(np.float32), bg)
        img += rng.normal(0.0, NOISE_SIGMA, img.shape).astype(np.float32)
        out[k] = np.clip(img, 0, 255).astype(np.uint8)
    return out


def make_background(kind: str, height: int, width: int, seed: int = 0) -> np.ndarray:
    """(height, width, 3) uint8 background of a kind in BACKGROUNDS."""
    makers = {"plain": _plain, "gradient": _gradient, "texture": _texture, "grid_floor": _grid_floor, "noise": _noise}
    if kind not in makers:
        raise ReferenceInputError(f"unknown background {kind!r}; known: {', '.join(BACKGROUNDS)}")
    rng = np.random.default_rng(seed)
    return np.clip(makers[kind](height, width, rng), 0, 255).astype(np.uint8)


def _plain(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    colour = rng.uniform(140, 230, 3)
    return np.broadcast_to(colour, (h, w, 3)).copy()


def _gradient(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Two colours blended along a random direction, plus a soft vignette (a studio backdrop)."""
    a, b = rng.uniform(60, 240, 3), rng.uniform(60, 240, 3)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    s = (xx / w - 0.5) * np.cos(angle) + (yy / h - 0.5) * np.sin(angle)
    s = (s - s.min()) / max(float(s.max() - s.min()), 1e-6)
    img = a * (1 - s[..., None]) + b * s[..., None]
    r2 = ((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2)[..., None]
    return img * (1.0 - 0.35 * r2)


def _texture(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Clutter: many random filled shapes of random colours, slightly blurred (a room, a street)."""
    img = np.empty((h, w, 3), np.float32)
    img[:] = rng.uniform(80, 200, 3)
    scale = max(h, w)
    for _ in range(int(0.004 * h * w / 10) + 40):
        colour = rng.uniform(0, 255, 3).tolist()
        x, y = int(rng.uniform(0, w)), int(rng.uniform(0, h))
        size = int(rng.uniform(0.02, 0.15) * scale)
        kind = rng.integers(3)
        if kind == 0:
            cv2.rectangle(img, (x, y), (x + size, y + int(size * rng.uniform(0.3, 2))), colour, -1)
        elif kind == 1:
            cv2.circle(img, (x, y), max(size // 2, 1), colour, -1)
        else:
            end = (x + int(rng.normal(0, size)), y + int(rng.normal(0, size)))
            cv2.line(img, (x, y), end, colour, max(1, size // 8))
    return cv2.GaussianBlur(img, (0, 0), 1.2)


def _grid_floor(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A light grey floor with dark grid lines in perspective below a horizon, a pale sky above."""
    horizon = int(h * rng.uniform(0.25, 0.4))
    img = np.empty((h, w, 3), np.float32)
    sky = np.linspace(1.0, 0.0, horizon, dtype=np.float32)[:, None, None]
    img[:horizon] = (np.array([235, 238, 242]) * (1 - sky) + np.array([200, 210, 225]) * sky)
    img[horizon:] = rng.uniform(170, 200) + np.array([0, 0, 3])
    fine = np.zeros((h, w), np.float32)
    vx = w * rng.uniform(0.3, 0.7)  # vanishing point on the horizon
    depth = h - horizon
    step = max(w / 10, 4.0)
    for x in np.arange(-6 * w, 7 * w, step):  # lines going away from the camera
        cv2.line(fine, (int(vx), horizon), (int(x), h + depth), 1.0, 1, cv2.LINE_AA)
    z = 1.0
    while True:  # lines across, closer together with distance (y - horizon ~ 1 / z)
        y = horizon + depth * 1.2 / z
        if y - horizon < 3:  # denser than a line every 3 px: the floor far away blends into one tone
            break
        cv2.line(fine, (0, int(y)), (w, int(y)), 1.0, 1, cv2.LINE_AA)
        z += 0.5
    fine[:horizon] = 0
    # lines fade with distance (thinner than a pixel far away), as a rendered or filmed floor does
    fade = np.clip((np.arange(h, dtype=np.float32) - horizon) / (0.5 * depth), 0, 1) ** 0.7
    fine *= fade[:, None]
    img *= 1 - 0.45 * np.clip(fine, 0, 1)[..., None]
    return img


def _noise(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Coloured multi-scale value noise (foliage, gravel, a busy carpet)."""
    img = np.zeros((h, w, 3), np.float32)
    for cells, amp in ((4, 45), (12, 25), (40, 15)):
        small = rng.normal(0, 1, (cells, max(cells * w // h, 1), 3)).astype(np.float32)
        img += amp * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return img + rng.uniform(90, 170, 3)
