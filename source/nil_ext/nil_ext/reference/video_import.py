"""A video from elsewhere (not made from e0): the robot found on its first frame, the task camera aligned to it,
the video segmented at a work size larger than a small task camera's, then brought to the camera and moved to where
that camera sees the robot. A refused alignment keeps what was made in OUT.rejected, as the quality gate does."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np

from .camera_alignment import AlignmentError, CameraSearchCfg
from .errors import ReferenceInputError
from .floor_lines import floor_focal
from .image_ops import disk
from .options import ALIGN_MODES, AlignmentOptions
from .prompts import RobotPrompt, first_frame_mask, prompt_to_camera
from .robot_finder import FoundRobot, drop_shadows, find_robot
from .segmenters import Segmenter
from .video_io import fit_to_camera, load_video, shift_images

FOV_TOLERANCE_DEG = 2.0  # a FOV the user gives is searched within this
FLOOR_FOV_TOLERANCE = 0.06  # and one the floor gives within this fraction (measured within 1 %: floor_lines.py)
FLOOR_ELEVATION_TOLERANCE_DEG = 4.0  # the elevation the floor's horizon gives (the tilt within 0.1 deg on the web
# clip; the base's row in the view is taken at the silhouette's middle, a few degrees off for a tall robot near)
ALIGN_SHORT_SIDE = 256  # pixels: the first frame's size for finding the robot and aligning the camera (at most the video's)
FROM_E0_TOLERANCE = 40  # grey levels (any channel): a pixel of a video's first frame that reproduces e0's
FROM_E0_AGREEMENT = 0.8  # the share of such pixels for a video to count as started from e0


def import_video(video: str | Path, video_fps: float | None, e0: np.ndarray, e0_mask: np.ndarray, camera: dict,
                 segmenter: Segmenter, robot_prompt: RobotPrompt | None, alignment: AlignmentOptions):
    """An imported video at the camera's size, its masks, the first frame's truth, the camera (the task's, or the one
    aligned to the video), the source fps and what the bundle's meta records about how the robot was found."""
    if alignment.mode not in ALIGN_MODES:
        raise ReferenceInputError(f"align_camera must be one of {', '.join(ALIGN_MODES)}, got {alignment.mode!r}")
    raw, src_fps = load_video(video, None, None, fps=video_fps)
    size = (camera["width"], camera["height"])
    if robot_prompt is not None:
        robot_prompt.check_inside(*raw.shape[1:3])
    # the robot is found, the camera aligned and the video segmented at a larger size than a 64 px task camera's,
    # then brought to it: a 35 px tall humanoid's limbs are 1-2 px (measured on H1: the camera search reached IoU
    # 0.71 at 64 px, 0.91 at 128 px; GrabCut's masks followed the truth at IoU ~0.67 at 64 px)
    scale = max(1.0, min(ALIGN_SHORT_SIDE, *raw.shape[1:3]) / min(size))
    work = (round(size[0] * scale), round(size[1] * scale))
    work_prompt = None if robot_prompt is None else prompt_to_camera(robot_prompt, *raw.shape[1:3], *work)
    work_e0_mask = fit_masks(e0_mask[None], work)[0]
    frames = fit_to_camera(raw, *work)
    del raw
    found, aligned, record = _first_mask(frames, e0, work_e0_mask, work_prompt, alignment)
    masks = segmenter(frames, found, prompt=work_prompt)
    if found is not work_e0_mask:  # the robot was found on the video, its shadow left out: so in every frame
        masks, dropped = drop_shadows(frames, masks)
        record["shadow_px_left_out"] = dropped
    masks = fit_masks(masks, size)
    frames = fit_to_camera(frames, *size)
    # a video that starts from e0 keeps the simulator's own mask (exact); any other, the one found on it
    first = e0_mask if found is work_e0_mask else masks[0]
    masks[0] = first
    if aligned is None:
        return frames, masks, first, camera, src_fps, {"camera_source": "task", **record}
    # the task camera looks at the base: move the video so that the robot sits where that camera sees it
    shift = (aligned.shift_px[0] / scale, aligned.shift_px[1] / scale)
    frames, masks, first = shift_images(frames, shift), shift_images(masks, shift), shift_images(first[None], shift)[0]
    found_record = record
    record = {k: v for k, v in aligned.to_dict().items() if k not in ("camera", "candidate_masks")}
    record["shift_px"] = shift  # in the bundle's pixels
    camera = {**camera, **{k: v for k, v in aligned.camera.items() if k not in ("width", "height")}}
    return frames, masks, first, camera, src_fps, {"camera_source": "aligned", "camera_alignment": record,
                                                  **found_record}


def fit_masks(masks: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(T, H, W) bool masks brought to (width, height) as fit_to_camera brings frames (a pixel half covered counts)."""
    return fit_to_camera(masks.astype(np.uint8) * 255, *size) >= 128


def _first_mask(frames, e0, e0_mask, robot_prompt, options: AlignmentOptions):
    """The robot's mask on a video's first frame, the camera alignment when the video is seen from elsewhere, and
    what the bundle's meta records about how the robot was found (with "robot_shape": its extent, for the gate).

    A video generated from e0 starts with e0 (the generator's conditioning image): the simulator's mask is the
    truth there. Any other video is never prompted with the simulator's mask (it shows the robot from the task
    camera, in its start pose): the robot is found on the video itself (a box or clicks, else motion and contrast).
    """
    frame = frames[0]
    if options.mode != "always" and starts_from(frame, e0, e0_mask):
        first = e0_mask if robot_prompt is None else first_frame_mask(frame, robot_prompt)
        return first, None, {"robot_found": "the video starts from e0: the simulator's mask",
                             "robot_shape": first}
    found = _find(frames, robot_prompt)
    print(found.summary(), flush=True)
    record = {"robot_found": found.summary(), "robot_shape": found.mask}
    if options.mode == "never":
        print("warning: the video does not start from the task camera's first frame and --align_camera never keeps "
              "the task camera: the IoU reward compares the video's view with the task camera's", flush=True)
        return found.mask, None, record
    if options.aligner is None:
        raise ReferenceInputError(
            "the video does not start from the task camera's first frame and no camera search is available here: "
            "run scripts/generate_reference.py (it aligns the camera with the simulator), or keep the task camera "
            "with --align_camera never"
        )
    bounds, record["fov_source"] = _known_view(frames, options.fov, found.mask)
    alignment = options.aligner(found.mask, frame, **bounds)
    print(alignment.summary(), flush=True)
    try:
        alignment.check(options.min_iou, CameraSearchCfg.floor_iou, CameraSearchCfg.decide_margin)
    except AlignmentError as err:
        err.first_frame, err.first_mask, err.alignment = frame, found.mask, alignment  # kept for a look
        raise
    return found.mask, alignment, record


def _known_view(frames: np.ndarray, fov: str | float, mask: np.ndarray | None = None) -> tuple[dict, str]:
    """The camera search's bounds the clip tells ({} : its whole ranges) and where the FOV came from: the user's
    number, else (auto) the floor's lines, which tell the focal length a silhouette cannot and, from their horizon,
    how far above the robot the camera looked down (the elevation, with the robot's ``mask`` on the first frame)."""
    if fov == "any":
        return {}, "searched"
    if fov != "auto":
        value = float(fov)
        if not 5.0 < value < 170.0:
            raise ReferenceInputError(f"the camera's FOV must be in degrees within (5, 170), got {fov}")
        return {"fov_deg": (value - FOV_TOLERANCE_DEG, value + FOV_TOLERANCE_DEG)}, "given"
    floor = floor_focal(frames, np.zeros(frames.shape[:3], bool))
    if not floor.ok:
        print(f"floor lines: no focal length ({floor.reason}): the camera search tries every FOV", flush=True)
        return {}, "searched"
    lo, hi = floor.fov_deg * (1 - FLOOR_FOV_TOLERANCE), floor.fov_deg * (1 + FLOOR_FOV_TOLERANCE)
    bounds = {"fov_deg": (lo, hi)}
    said = f"floor lines: FOV {floor.fov_deg:.1f} deg from {floor.frames_used} frames"
    if floor.pitch_deg is not None and mask is not None and mask.any():
        rows = np.flatnonzero(mask.any(1))
        below = math.degrees(math.atan2((rows[0] + rows[-1] + 1) / 2 - mask.shape[0] / 2, floor.focal_px))
        elevation = floor.pitch_deg + below  # looking down at the horizon's tilt, the robot that much below centre
        bounds["elevation_deg"] = (elevation - FLOOR_ELEVATION_TOLERANCE_DEG, elevation + FLOOR_ELEVATION_TOLERANCE_DEG)
        said += f", elevation {elevation:.1f} deg from their horizon"
    print(f"{said}; the camera search keeps to {lo:.0f}-{hi:.0f} deg"
          + (" and that elevation" if "elevation_deg" in bounds else "") + " (--camera_fov any searches them all)",
          flush=True)
    return bounds, f"floor lines ({floor.fov_deg:.1f} deg)"


def _find(frames, robot_prompt) -> FoundRobot:
    """The robot on a video's first frame: from the user's box / clicks, else found by motion and contrast."""
    if robot_prompt is not None and not robot_prompt.empty:
        return FoundRobot(first_frame_mask(frames[0], robot_prompt), "the prompt")
    return find_robot(frames)


def starts_from(frame: np.ndarray, e0: np.ndarray, e0_mask: np.ndarray | None = None) -> bool:
    """Whether a video's first frame is e0 (as a generator conditioned on it paints it): most pixels within a
    coding error of it, and (given e0's mask) most of the robot's and of a band around its outline too. A light
    floor passes for e0's blank background; a dark robot seen from elsewhere, centred where the task camera puts
    it, covers e0's thin side view: the outline tells them apart."""
    e0 = fit_to_camera(e0[None], frame.shape[1], frame.shape[0])[0]
    close = np.abs(frame.astype(np.int16) - e0.astype(np.int16)).max(-1) <= FROM_E0_TOLERANCE
    if close.mean() < FROM_E0_AGREEMENT:
        return False
    if e0_mask is None:
        return True
    mask = fit_masks(np.asarray(e0_mask, dtype=bool)[None], (frame.shape[1], frame.shape[0]))[0]
    r = max(2, round(0.03 * min(frame.shape[:2])))
    band = cv2.dilate(mask.astype(np.uint8), disk(r)).astype(bool) & ~mask
    return all(not part.any() or close[part].mean() >= FROM_E0_AGREEMENT for part in (mask, band))


def refuse_alignment(err: AlignmentError, out: str | Path | None) -> None:
    """A refused camera alignment keeps what was made in OUT.rejected (the first frame, the mask found on it, the
    best cameras' renders over it) and says where, as the quality gate does; then raises it again."""
    frame, mask, alignment = (getattr(err, k, None) for k in ("first_frame", "first_mask", "alignment"))
    if out is None or frame is None:
        raise err
    aside = Path(f"{out}.rejected")
    aside.mkdir(parents=True, exist_ok=True)
    save_picture(aside / "first_frame.png", [frame])
    save_picture(aside / "first_frame_mask.png", [frame, tint(frame, mask)])
    shown = alignment.candidate_arrays()
    if shown:
        # the video's robot in green, each candidate's render in magenta: where they overlap reads grey-white
        panels = [tint(tint(frame, mask), m, (255, 0, 255)) for m in shown]
        runner = [alignment.runner_up] if alignment.runner_up else []
        labels = [f"yaw {c['yaw_deg']:.0f} elev {c['elevation_deg']:.0f} IoU {c['iou']:.2f}"
                  for c in [{"yaw_deg": alignment.camera["yaw_deg"], "elevation_deg": alignment.elevation_deg,
                             "iou": alignment.iou}, *runner]]
        save_picture(aside / "candidates.png", panels, labels)
    record = {k: v for k, v in alignment.to_dict().items() if k != "candidate_masks"}
    (aside / "alignment.json").write_text(json.dumps(record, indent=2) + "\n")
    files = "first_frame.png, first_frame_mask.png" + (", candidates.png" if shown else "") + ", alignment.json"
    raise type(err)(f"{err}. Kept for a look in {aside}/: {files}") from None


def save_picture(file: Path, panels: list[np.ndarray], labels: list[str] | None = None) -> None:
    """Panels (H, W, 3) uint8 side by side, at least 256 px tall, each with its label written at the top."""
    picture = np.concatenate(panels, axis=1)
    scale = max(1, 256 // picture.shape[0])
    picture = cv2.resize(picture, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    width = panels[0].shape[1] * scale
    for k, text in enumerate(labels or []):
        for colour, thick in (((0, 0, 0), 3), ((255, 255, 255), 1)):
            cv2.putText(picture, text, (k * width + 6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, thick, cv2.LINE_AA)
    cv2.imwrite(str(file), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))


def tint(frame: np.ndarray, mask: np.ndarray, colour=(0, 220, 0)) -> np.ndarray:
    over = frame.copy()
    over[mask] = (0.5 * over[mask] + 0.5 * np.array(colour)).astype(np.uint8)
    return over


def robot_shape_for_gate(record: dict, camera: dict) -> np.ndarray | None:
    """The first frame's robot (popped from ``record``, at the work size) at the bundle's size and moved as the video
    was: the shape the quality gate judges every frame's mask against."""
    shape = record.pop("robot_shape", None)
    if shape is None:
        return None
    shape = fit_masks(shape[None], (camera["width"], camera["height"]))[0]
    shift = record.get("camera_alignment", {}).get("shift_px")
    return shape if shift is None else shift_images(shape[None], shift)[0]
