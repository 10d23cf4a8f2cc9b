"""Read any video (mp4, gif, a folder of frames) at a camera's size; write previews.

Frames are centre-cropped to the camera's aspect, then resized, so that a video made
elsewhere (a Kling or Sora export, a phone clip) lines up with what the camera renders.
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np

from .errors import ReferenceInputError

CLIP_LEN = 8  # frames the video encoder reads at once: shorter videos cannot be a reference
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
DEFAULT_FOLDER_FPS = 24.0


def read_video(path: str | Path, fps: float | None = None) -> tuple[np.ndarray, float]:
    """Read every frame as (T, H, W, 3) uint8 RGB and the video's fps.

    `fps` overrides what the file says (a folder of frames has none: DEFAULT_FOLDER_FPS).
    """
    path = Path(path)
    if not path.exists():
        raise ReferenceInputError(f"video not found: {path}")
    if path.is_dir():
        frames, src_fps = _read_folder(path), DEFAULT_FOLDER_FPS
    else:
        frames, src_fps = _read_file(path)
    if len(frames) == 0:
        raise ReferenceInputError(f"video has no frames: {path}")
    frames = [_to_rgb(f, path) for f in frames]
    if len({f.shape for f in frames}) > 1:
        raise ReferenceInputError(f"frames of {path} differ in size: {sorted({f.shape for f in frames})}")
    return np.stack(frames), float(fps or src_fps)


def load_video(
    path: str | Path, width: int | None, height: int | None, fps: float | None = None, min_frames: int = CLIP_LEN
) -> tuple[np.ndarray, float]:
    """Read a video fitted to (height, width) (None: as it is); refuse one shorter than `min_frames`."""
    frames, src_fps = read_video(path, fps)
    if len(frames) < min_frames:
        raise ReferenceInputError(
            f"video {path} has {len(frames)} frames; a reference needs at least {min_frames} (one clip)"
        )
    return (frames if width is None else fit_to_camera(frames, width, height)), src_fps


def shift_images(images: np.ndarray, shift: tuple[float, float]) -> np.ndarray:
    """(T, H, W[, 3]) frames (edges repeated) or bool masks (zeros shifted in) moved by (dx, dy) pixels."""
    h, w = images.shape[1:3]
    m = np.float32([[1, 0, shift[0]], [0, 1, shift[1]]])
    if images.dtype == bool:
        moved = [cv2.warpAffine(x.astype(np.uint8) * 255, m, (w, h), flags=cv2.INTER_LINEAR) >= 128 for x in images]
    else:
        moved = [cv2.warpAffine(x, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE) for x in images]
    return np.stack(moved)


def fit_to_camera(frames: np.ndarray, width: int, height: int, interpolation: int | None = None) -> np.ndarray:
    """Centre-crop (T, h, w, ...) to the aspect width/height, then resize to (height, width)."""
    h, w = frames.shape[1:3]
    if w * height > h * width:  # too wide: crop columns
        cw = round(h * width / height)
        x0 = (w - cw) // 2
        frames = frames[:, :, x0 : x0 + cw]
    elif w * height < h * width:  # too tall: crop rows
        ch = round(w * height / width)
        y0 = (h - ch) // 2
        frames = frames[:, y0 : y0 + ch]
    if frames.shape[1:3] == (height, width):
        return np.ascontiguousarray(frames)
    shrink = frames.shape[1] > height
    interp = interpolation if interpolation is not None else (cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    return np.stack([cv2.resize(f, (width, height), interpolation=interp) for f in frames])


def write_preview(path: str | Path, frames: np.ndarray, masks: np.ndarray, fps: float) -> None:
    """Write frames | masks side by side as an mp4 for people to look at (lossy)."""
    import imageio.v2 as imageio

    side = np.repeat(masks[..., None].astype(np.uint8) * 255, 3, axis=-1)
    video = np.concatenate([frames, side], axis=2)
    # yuv420p needs even sizes
    pad_h, pad_w = video.shape[1] % 2, video.shape[2] % 2
    video = np.pad(video, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)))
    with imageio.get_writer(str(path), fps=min(fps, 60.0), codec="libx264", macro_block_size=1, quality=7) as w:
        for f in video:
            w.append_data(f)


def _read_folder(path: Path) -> list[np.ndarray]:
    files = sorted((p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=_natural_key)
    frames = []
    for p in files:
        img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        if img is None:
            raise ReferenceInputError(f"unreadable frame {p} in {path}")
        frames.append(_bgr_to_rgb(img))
    return frames


def _natural_key(p: Path) -> list:
    """frame_2.png before frame_10.png."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", p.name)]


def _read_file(path: Path) -> tuple[list[np.ndarray], float]:
    """imageio (ffmpeg, pillow) first; OpenCV as the fallback for what it cannot open."""
    try:
        import imageio.v2 as imageio

        reader = imageio.get_reader(str(path))
        meta = reader.get_meta_data()
        frames = [np.asarray(f) for f in reader]
        reader.close()
        fps = meta.get("fps") or (1000.0 / meta["duration"] if meta.get("duration") else DEFAULT_FOLDER_FPS)
        return frames, float(fps)
    except Exception as err:  # noqa: BLE001 - any reader failure: try OpenCV, then report both
        frames, fps = _read_cv2(path)
        if not frames:
            raise ReferenceInputError(f"unreadable video {path}: {err}") from err
        return frames, fps


def _read_cv2(path: Path) -> tuple[list[np.ndarray], float]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while cap.isOpened():
        ok, img = cap.read()
        if not ok:
            break
        frames.append(_bgr_to_rgb(img))
    fps = cap.get(cv2.CAP_PROP_FPS) or DEFAULT_FOLDER_FPS
    cap.release()
    return frames, float(fps)


def _bgr_to_rgb(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        return img
    if img.shape[-1] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def _to_rgb(frame: np.ndarray, path: Path) -> np.ndarray:
    """Any frame to (H, W, 3) uint8: grey is repeated, alpha dropped, 16-bit scaled."""
    if frame.dtype == np.uint16:
        frame = (frame // 257).astype(np.uint8)
    elif frame.dtype != np.uint8:
        frame = np.clip(frame * (255.0 if frame.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    if frame.ndim == 2:
        frame = np.repeat(frame[..., None], 3, axis=-1)
    if frame.ndim != 3 or frame.shape[-1] not in (3, 4):
        raise ReferenceInputError(f"frame of shape {frame.shape} in {path} is not an image")
    return np.ascontiguousarray(frame[..., :3])


def write_strip(path: str | Path, frames: np.ndarray, masks: np.ndarray, count: int = 4) -> None:
    """Write a PNG of ``count`` frames spread over the clip (first to last) above their masks."""
    import imageio.v2 as imageio

    index = np.linspace(0, len(frames) - 1, count).round().astype(int)
    top = np.concatenate([frames[i] for i in index], axis=1)
    bottom = np.concatenate([np.repeat(masks[i][..., None].astype(np.uint8) * 255, 3, axis=-1) for i in index], axis=1)
    imageio.imwrite(path, np.concatenate([top, bottom], axis=0))
