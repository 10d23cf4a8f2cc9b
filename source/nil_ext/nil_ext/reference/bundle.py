"""ReferenceBundle: the reference video of Stage 1 at the control rate, and its folder format.

A bundle folder holds
  bundle.json              format version, robot, camera, fps, metadata, quality, file hashes
  arrays.npz               frames (T,H,W,3) uint8, masks bit-packed, camera path, the clip's own camera path
  embeddings.safetensors   cached video-encoder embeddings (absent when there are none)
  video.mp4                frames | masks side by side, for people (lossy, not read back)
  strip.png                four frames from first to last above their masks, for people
  camera_speed.png         the camera path's speed and confidence over time, for people (with a path)
It is written into a hidden sibling folder and renamed into place, so a folder named like a
bundle is always a whole one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import REGENERATE_HINT, BundleError

FORMAT = "nil_ext.reference_bundle"
FORMAT_VERSION = 1
JSON_NAME = "bundle.json"
ARRAYS_NAME = "arrays.npz"
EMBEDDINGS_NAME = "embeddings.safetensors"
PREVIEW_NAME = "video.mp4"
STRIP_NAME = "strip.png"
ASPECT_TOLERANCE = 0.01  # width/height ratios this close (plus one pixel of rounding) are one aspect


@dataclass
class ReferenceBundle:
    """One reference: frame t and mask t are what the agent should look like at control step t."""

    frames: np.ndarray  # (T, H, W, 3) uint8, background blanked as in e0
    masks: np.ndarray  # (T, H, W) bool, the robot
    fps: float  # control rate the frames were retimed to
    robot: str
    camera: dict[str, Any]  # the camera config as given: width, height, distance, yaw, fov, mode...
    camera_path: np.ndarray | None = None  # (T, 4) float: x, y, z, heading of the camera per frame
    camera_path_confidence: np.ndarray | None = None  # (T,) in [0, 1]
    eye_path: np.ndarray | None = None
    """(T, 5) x, y, z, heading and tilt (rad further down than at the first frame) of the clip's own camera, where it
    did not follow the robot (a generated clip's camera stands, turns and tilts to keep the robot in view): what the
    task camera replays. None: the camera followed the robot at its offset (a scripted or given path), which
    ``camera_path`` already is. A (T, 4) path (bundles before the tilt was read) is taken as keeping its tilt."""
    # meta["camera_path_source"]: "scripted" (exact), "estimated" (from the video), "speed" or "file" (given)
    meta: dict[str, Any] = field(default_factory=dict)  # prompt, generator, seed, source fps, hashes...
    quality: dict[str, Any] = field(default_factory=dict)  # see quality.quality_report
    embeddings: dict[str, torch.Tensor] = field(default_factory=dict)  # "encoder@HxW/clip8/stride4" -> tensor

    def __post_init__(self) -> None:
        self.frames = np.asarray(self.frames)
        self.masks = np.asarray(self.masks).astype(bool, copy=False)
        if self.frames.ndim != 4 or self.frames.shape[-1] != 3 or self.frames.dtype != np.uint8:
            raise ValueError(f"frames must be (T, H, W, 3) uint8, got {self.frames.shape} {self.frames.dtype}")
        if self.masks.shape != self.frames.shape[:3]:
            raise ValueError(f"masks {self.masks.shape} do not match frames {self.frames.shape[:3]}")
        t = len(self.frames)
        if self.camera_path is not None:
            self.camera_path = np.asarray(self.camera_path, dtype=np.float64)
            if self.camera_path.shape != (t, 4):
                raise ValueError(f"camera_path must be ({t}, 4), got {self.camera_path.shape}")
            if self.camera_path_confidence is None:
                self.camera_path_confidence = np.ones(t)
            self.camera_path_confidence = np.asarray(self.camera_path_confidence, dtype=np.float64)
            if self.camera_path_confidence.shape != (t,):
                raise ValueError(f"camera_path_confidence must be ({t},), got {self.camera_path_confidence.shape}")
        if self.eye_path is not None:
            self.eye_path = np.asarray(self.eye_path, dtype=np.float64)
            if self.eye_path.shape == (t, 4):
                self.eye_path = np.column_stack([self.eye_path, np.zeros(t)])
            if self.camera_path is None or self.eye_path.shape != (t, 5):
                raise ValueError(f"eye_path must be ({t}, 5) beside a camera_path, got {self.eye_path.shape}")

    @property
    def num_frames(self) -> int:
        return len(self.frames)

    @property
    def camera_path_source(self) -> str | None:
        """Where the camera path came from; bundles from before it was recorded had exact scripted paths only."""
        if self.camera_path is None:
            return None
        return self.meta.get("camera_path_source", "scripted")

    @property
    def size(self) -> tuple[int, int]:
        """(height, width)."""
        return self.frames.shape[1], self.frames.shape[2]

    def retimed(self, fps: float, progress: bool = False) -> ReferenceBundle:
        """This reference at another control rate (frame t = control step t again), for a run whose control rate
        differs from the one the bundle was made for. Cached embeddings are dropped: their clips were timed for
        the old rate. An integer ratio takes every k-th frame as it is; others are interpolated by optical flow."""
        from .retiming import output_times, retime, retime_path

        if math.isclose(fps, self.fps, rel_tol=1e-6):
            return self
        frames, masks = retime(self.frames, self.masks, self.fps, fps, progress=progress)
        path = confidence = eye_path = None
        if self.camera_path is not None:
            path = retime_path(self.camera_path, self.fps, fps)
            times = output_times(self.num_frames, self.fps, fps)
            confidence = np.interp(times, np.arange(self.num_frames), self.camera_path_confidence)
        if self.eye_path is not None:
            eye_path = retime_path(self.eye_path, self.fps, fps)
        return ReferenceBundle(frames, masks, fps, self.robot, dict(self.camera), path, confidence, eye_path,
                               meta={**self.meta, "retimed_from_fps": self.fps}, quality=self.quality)

    def resized(self, width: int, height: int) -> ReferenceBundle:
        """This reference at another image size (a task camera of the same geometry at another resolution): frames
        resampled with antialiasing, masks as masks (coverage thresholded at one half), the camera's width and height
        set to the new size. Cached embeddings are dropped: they were computed from the old frames."""
        from .image_ops import resize_frames, resize_masks

        if self.size == (height, width):
            return self
        return dataclasses.replace(
            self,
            frames=resize_frames(self.frames, width, height),
            masks=resize_masks(self.masks, width, height),
            camera={**self.camera, "width": width, "height": height},
            meta={**self.meta, "resized_from": [self.size[1], self.size[0]]},
            embeddings={},
        )

    def check_compatible(self, robot: str, camera: dict[str, Any], where: str = "the reference bundle") -> None:
        """Raise BundleError (one line) if this bundle was made for another robot or another camera geometry: a key
        both configs hold that differs (distance, height, yaw, focal length, aperture...) or another aspect ratio.
        Another resolution of the same geometry fits: the task resamples the bundle (:meth:`resized`)."""
        if robot != self.robot:
            raise BundleError(f"{where} was made for robot {self.robot!r}, not robot {robot!r}; {REGENERATE_HINT} "
                              f"for {robot!r}")
        keys = sorted((set(self.camera) & set(camera)) - {"width", "height"})
        diffs = [f"{k} {self.camera[k]} (this task: {camera[k]})" for k in keys if not _same(self.camera[k], camera[k])]
        sizes = [(c.get("width"), c.get("height")) for c in (self.camera, camera)]
        if any(None in s or 0 in s for s in sizes):
            diffs.append("width/height (missing)")
        elif abs(sizes[0][0] * sizes[1][1] / (sizes[0][1] * sizes[1][0]) - 1.0) > ASPECT_TOLERANCE + 1.0 / min(
            *sizes[0], *sizes[1]
        ):  # one pixel of rounding at the smaller size
            diffs.append(f"aspect {sizes[0][0]}x{sizes[0][1]} (this task: {sizes[1][0]}x{sizes[1][1]})")
        if diffs:
            raise BundleError(
                f"{where} was made for robot {robot!r} with another camera than this task's: camera differs in "
                f"{', '.join(diffs)} (another resolution would fit); {REGENERATE_HINT} --task TASK for this task's "
                "camera"
            )

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the bundle folder atomically; returns its path."""
        from .video_io import write_preview, write_strip

        path = Path(path)
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            self._write_arrays(tmp / ARRAYS_NAME)
            files = {ARRAYS_NAME: {"role": "data", "sha256": _sha256(tmp / ARRAYS_NAME)}}
            if self.embeddings:
                from safetensors.torch import save_file

                tensors = {k: v.detach().cpu().contiguous().clone() for k, v in self.embeddings.items()}
                save_file(tensors, str(tmp / EMBEDDINGS_NAME))
                files[EMBEDDINGS_NAME] = {"role": "data", "sha256": _sha256(tmp / EMBEDDINGS_NAME)}
            write_preview(tmp / PREVIEW_NAME, self.frames, self.masks, self.fps)
            files[PREVIEW_NAME] = {"role": "preview", "sha256": _sha256(tmp / PREVIEW_NAME)}
            write_strip(tmp / STRIP_NAME, self.frames, self.masks)
            files[STRIP_NAME] = {"role": "preview", "sha256": _sha256(tmp / STRIP_NAME)}
            if self.camera_path is not None:
                from .camera_path import PLOT_NAME, plot_camera_speed

                title = f"{self.robot}: camera path ({self.camera_path_source})"
                plot_camera_speed(tmp / PLOT_NAME, self.camera_path, self.camera_path_confidence, self.fps, title)
                files[PLOT_NAME] = {"role": "preview", "sha256": _sha256(tmp / PLOT_NAME)}
            doc = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "robot": self.robot,
                "camera": self.camera,
                "fps": self.fps,
                "num_frames": self.num_frames,
                "height": self.size[0],
                "width": self.size[1],
                "meta": self.meta,
                "quality": self.quality,
                "embeddings": sorted(self.embeddings),
                "files": files,
            }
            (tmp / JSON_NAME).write_text(json.dumps(doc, indent=1, default=_json_default))
            _swap_into_place(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | Path) -> ReferenceBundle:
        """Read a bundle folder, checking its format version and file hashes."""
        path = Path(path)
        doc_path = path / JSON_NAME
        if not doc_path.is_file():
            raise BundleError(f"{path} is not a reference bundle (no {JSON_NAME}); {REGENERATE_HINT}")
        try:
            doc = json.loads(doc_path.read_text())
        except json.JSONDecodeError as err:
            raise BundleError(f"{doc_path} is corrupt ({err}); {REGENERATE_HINT}") from err
        version = doc.get("format_version")
        if doc.get("format") != FORMAT or version != FORMAT_VERSION:
            raise BundleError(
                f"{path} is reference bundle format {doc.get('format')!r} version {version}; this nil_ext reads "
                f"version {FORMAT_VERSION}; {REGENERATE_HINT}"
            )
        for name, info in doc["files"].items():
            if info["role"] != "data":
                continue  # the preview is for people; a missing one does not spoil the bundle
            f = path / name
            if not f.is_file():
                raise BundleError(f"{path} lacks {name}; {REGENERATE_HINT}")
            if _sha256(f) != info["sha256"]:
                raise BundleError(f"{f} does not match its hash in {JSON_NAME} (corrupt or edited); {REGENERATE_HINT}")
        try:
            with np.load(path / ARRAYS_NAME) as z:
                arrays = {k: z[k] for k in z.files}
            embeddings = {}
            if EMBEDDINGS_NAME in doc["files"]:
                from safetensors.torch import load_file

                embeddings = load_file(str(path / EMBEDDINGS_NAME))
        except Exception as err:
            raise BundleError(f"cannot read the arrays of {path} ({err}); {REGENERATE_HINT}") from err
        t, h, w = doc["num_frames"], doc["height"], doc["width"]
        masks = np.unpackbits(arrays["masks_packed"], count=t * h * w).astype(bool).reshape(t, h, w)
        return cls(
            frames=arrays["frames"],
            masks=masks,
            fps=float(doc["fps"]),
            robot=doc["robot"],
            camera=doc["camera"],
            camera_path=arrays.get("camera_path"),
            camera_path_confidence=arrays.get("camera_path_confidence"),
            eye_path=arrays.get("eye_path"),
            meta=doc["meta"],
            quality=doc["quality"],
            embeddings=embeddings,
        )

    def _write_arrays(self, file: Path) -> None:
        arrays = {"frames": self.frames, "masks_packed": np.packbits(self.masks.reshape(-1))}
        if self.camera_path is not None:
            arrays["camera_path"] = self.camera_path
            arrays["camera_path_confidence"] = self.camera_path_confidence
        if self.eye_path is not None:
            arrays["eye_path"] = self.eye_path
        np.savez_compressed(file, **arrays)


def _swap_into_place(tmp: Path, path: Path) -> None:
    """Rename tmp to path; an old bundle there is moved aside first and removed only after."""
    old = None
    if path.exists():
        old = path.parent / f".{path.name}.old-{uuid.uuid4().hex[:8]}"
        os.rename(path, old)
    try:
        os.rename(tmp, path)
    except BaseException:
        if old is not None:
            os.rename(old, path)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _sha256(file: Path) -> str:
    h = hashlib.sha256()
    with open(file, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")
