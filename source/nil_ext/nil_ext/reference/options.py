"""The options of Stage 1's bundle builder (builder.py), one typed group per step: how to segment, how to align the
task camera to a video from elsewhere, where the camera path comes from, how to retime, the quality gate, output."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .camera_alignment import CameraAlignment, CameraSearchCfg
from .quality import GATE_MAX_BAD_SHARE
from .segmenters import Segmenter

DEFAULT_CONTROL_FPS = 100.0
ALIGN_MODES = ("auto", "always", "never")
MIN_ALIGNMENT_IOU = CameraSearchCfg.min_iou  # camera search: refuse below (its docstring says what it measured)

CameraAligner = Callable[..., CameraAlignment]
"""(first-frame mask (H, W) bool, first frame (H, W, 3) uint8, [fov_deg=(lo, hi)], [elevation_deg=(lo, hi)]) ->
CameraAlignment (camera_search.simulator_aligner); each bound is passed only when the clip tells it."""
FOV_MODES = ("auto", "any")


@dataclass(frozen=True)
class SegmentationOptions:
    """Which segmenter masks the robot in a video (segmenters.py): a name or a ready one."""

    segmenter: str | Segmenter = "sam2"
    sam2_model: str | None = None
    """A hub id or a local folder (None: the default model)."""
    sam2_device: str = "cpu"


@dataclass(frozen=True)
class AlignmentOptions:
    """Aligning the task camera to a video that does not start from e0 (camera_alignment.py).

    mode: "auto" (when the video does not start from e0), "always" or "never" (keep the task camera). aligner: the
    render-and-compare search (camera_search.simulator_aligner); without one such a video is refused. fov: the
    video's horizontal field of view in degrees, or "auto" (measured from a grid or tiled floor's lines when the video
    shows one, floor_lines.py, which also bounds the elevation by their horizon; else the search's whole range) or
    "any" (the whole ranges).
    """

    mode: str = "auto"
    min_iou: float = MIN_ALIGNMENT_IOU
    aligner: CameraAligner | None = None
    fov: str | float = "auto"


@dataclass(frozen=True)
class CameraPathOptions:
    """Where the bundle's camera path comes from: a file of positions, else a constant speed along the robot's start
    heading, else the exact path the simulator rendered, else (``estimate``) the video's ground, then the robot's
    stance feet. ``base_height``: the robot's start base height (the camera's height above ground); read from the
    robot's model when None."""

    file: str | Path | None = None
    speed: float | None = None
    estimate: bool = True
    base_height: float | None = None


@dataclass(frozen=True)
class RetimingOptions:
    """The video interpolated to the control rate (retiming.py), so that frame t is control step t."""

    control_fps: float = DEFAULT_CONTROL_FPS
    method: str = "dis"


@dataclass(frozen=True)
class QualityGateOptions:
    """Masks that vanish or jump in more than ``max_bad_share`` of the frames refuse the bundle (kept in
    OUT.rejected), unless ``force`` keeps it, labelled."""

    max_bad_share: float = GATE_MAX_BAD_SHARE
    force: bool = False


@dataclass(frozen=True)
class OutputOptions:
    """Where the bundle is saved (None: returned only) and whether progress bars show."""

    out: str | Path | None = None
    overwrite: bool = False
    progress: bool = True
