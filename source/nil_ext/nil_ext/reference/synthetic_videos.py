"""Videos with known masks: rendered robot pixels over a new background, as footage made elsewhere looks.

A video imported from Kling, Sora or a phone shows the robot over a background the simulator never
rendered, often with a camera that moves. `composite` builds such a video from simulator frames and
their masks (the truth), so that segmenters and prompts can be measured on it.
"""

from __future__ import annotations

import cv2
import numpy as np

from .errors import ReferenceInputError

BACKGROUNDS = ("plain", "gradient", "texture", "grid_floor", "noise", "light_floor")
NOISE_SIGMA = 2.0  # sensor / codec noise of real footage, in 8-bit levels


def composite(
    frames: np.ndarray,
    masks: np.ndarray,
    background: str | np.ndarray,
    camera_shift_px_per_frame: tuple[float, float] = (0.0, 0.0),
    seed: int = 0,
    shadow: float = 0.0,
    watermark: str | None = None,
    robot_tone: str | None = None,
) -> np.ndarray:
    """(T, H, W, 3) uint8: the robot pixels of `frames` (where `masks` is true) over a new `background`.

    `background` is a kind in BACKGROUNDS, which slides by `camera_shift_px_per_frame` (dx, dy) pixels each frame
    as if the camera panned, or one background per frame (T, H, W, 3) (a floor seen by a moving camera,
    web_clip.perspective_floor). A little per-frame noise is added. The masks stay the truth of the result.
    `shadow`: how much a soft shadow under the robot's feet darkens the ground at its centre (0: none);
    `watermark`: text stamped in the bottom-right corner (as generators mark their clips); `robot_tone`: "dark" or
    "light" repaints the robot's pixels (shaded, brighter inside than at its outline), None keeps the render's.
    """
    frames = np.asarray(frames)
    masks = np.asarray(masks).astype(bool)
    if frames.ndim != 4 or frames.shape[:3] != masks.shape:
        raise ReferenceInputError(f"frames {frames.shape} and masks {masks.shape} do not match: (T,H,W,3) and (T,H,W)")
    t, h, w = masks.shape
    if not isinstance(background, str) and np.shape(background) != frames.shape:
        raise ReferenceInputError(f"backgrounds {np.shape(background)} do not match the frames {frames.shape}")
    dx, dy = camera_shift_px_per_frame
    # a canvas large enough for the whole pan; each frame is a (sub-pixel) window of it
    pad_x, pad_y = int(np.ceil(abs(dx) * t)) + 2, int(np.ceil(abs(dy) * t)) + 2
    if isinstance(background, str):
        canvas = make_background(background, h + pad_y, w + pad_x, seed=seed).astype(np.float32)
    x0 = 1.0 if dx >= 0 else pad_x - 1.0
    y0 = 1.0 if dy >= 0 else pad_y - 1.0
    rng = np.random.default_rng(seed + 1)
    out = np.empty_like(frames, dtype=np.uint8)
    for k in range(t):
        if isinstance(background, str):
            centre = (x0 + k * dx + (w - 1) / 2, y0 + k * dy + (h - 1) / 2)
            bg = cv2.getRectSubPix(canvas, (w, h), centre)
        else:
            bg = np.asarray(background[k], np.float32)
        if shadow > 0:
            bg = bg * (1.0 - shadow * _shadow(masks[k]))[..., None]
        robot = frames[k].astype(np.float32) if robot_tone is None else _tone(masks[k], robot_tone)
        img = np.where(masks[k][..., None], robot, bg)
        if watermark:
            img = _stamp(img, watermark)
        img += rng.normal(0.0, NOISE_SIGMA, img.shape).astype(np.float32)
        out[k] = np.clip(img, 0, 255).astype(np.uint8)
    return out


ROBOT_TONES = {"dark": (30.0, 45.0), "light": (215.0, 250.0)}  # grey level at the outline and deep inside


def _tone(mask: np.ndarray, tone: str) -> np.ndarray:
    """(H, W, 3) float: a robot of one tone shaded by depth inside its outline (a lit, rounded body)."""
    if tone not in ROBOT_TONES:
        raise ReferenceInputError(f"unknown robot tone {tone!r}; known: {', '.join(ROBOT_TONES)}")
    edge, core = ROBOT_TONES[tone]
    inside = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    depth = np.clip(inside / 3.0, 0.0, 1.0)
    grey = edge + (core - edge) * depth
    return np.repeat(grey[..., None], 3, axis=-1) + np.array([0.0, 2.0, 6.0], np.float32)  # a cool white / grey


def _shadow(mask: np.ndarray) -> np.ndarray:
    """(H, W) in [0, 1]: a soft elliptic shadow on the ground around the lowest part of the robot, cast a little to
    the side (the light is not overhead)."""
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return np.zeros((h, w), np.float32)
    tall = ys.max() - ys.min() + 1
    feet = xs[ys >= ys.max() - 0.08 * tall]
    centre = (float(feet.mean()) + 0.12 * tall, float(ys.max()) - 0.01 * tall)
    axes = (max(2.0, 0.3 * tall), max(1.0, 0.05 * tall))
    out = np.zeros((h, w), np.float32)
    cv2.ellipse(out, (round(centre[0]), round(centre[1])), (round(axes[0]), round(axes[1])), 0, 0, 360, 1.0, -1)
    return np.clip(cv2.GaussianBlur(out, (0, 0), max(1.0, 0.03 * tall)) * 1.3, 0.0, 1.0)


def _stamp(img: np.ndarray, text: str) -> np.ndarray:
    """Semi-transparent white text with a dark outline in the bottom-right corner."""
    h, w = img.shape[:2]
    scale = max(0.25, 0.0018 * min(h, w))
    thick = max(1, round(scale * 1.5))
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    org = (w - tw - max(3, w // 40), h - max(3, h // 30))
    layer = np.clip(img, 0, 255).astype(np.uint8)
    cv2.putText(layer, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (40, 40, 40), thick + 1, cv2.LINE_AA)
    cv2.putText(layer, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (250, 250, 250), thick, cv2.LINE_AA)
    return 0.35 * img + 0.65 * layer.astype(np.float32)


def make_background(kind: str, height: int, width: int, seed: int = 0) -> np.ndarray:
    """(height, width, 3) uint8 background of a kind in BACKGROUNDS."""
    makers = {"plain": _plain, "gradient": _gradient, "texture": _texture, "grid_floor": _grid_floor, "noise": _noise,
              "light_floor": _light_floor}
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


def _light_floor(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A light warm floor meeting a slightly lighter wall, low contrast (a bright studio)."""
    horizon = int(h * rng.uniform(0.25, 0.4))
    img = np.empty((h, w, 3), np.float32)
    img[:horizon] = np.array([222, 218, 210]) + rng.uniform(-5, 5)
    depth = np.linspace(0.0, 1.0, h - horizon, dtype=np.float32)[:, None, None]
    img[horizon:] = np.array([196, 188, 174]) + 12 * depth + rng.uniform(-5, 5)
    return img


def _noise(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Coloured multi-scale value noise (foliage, gravel, a busy carpet)."""
    img = np.zeros((h, w, 3), np.float32)
    for cells, amp in ((4, 45), (12, 25), (40, 15)):
        small = rng.normal(0, 1, (cells, max(cells * w // h, 1), 3)).astype(np.float32)
        img += amp * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return img + rng.uniform(90, 170, 3)
