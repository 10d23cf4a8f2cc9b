"""Stage 1 end to end: e0 (+ its mask) and a prompt or a video -> a ReferenceBundle saved atomically.

    video = generate(e0, prompt) for K seeds  |  import a video
    masks = segment(video, prompted by e0's mask); keep the candidate with the best quality score
    frames, masks = retime(video, masks, video fps -> control fps)

    camera path = --camera-path FILE | --reference_speed V | estimated from the video (camera_path.py)

The first frame comes from the simulator (nil_ext.reference.first_frame, imported by the script);
this module never imports the simulator.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import nil_ext

from .bundle import ReferenceBundle
from .camera_alignment import AlignmentError, CameraAlignment, CameraSearchCfg
from .camera_path import (
    CameraPathError,
    GroundCamera,
    estimate_camera_path,
    load_camera_path_file,
    resample_confidence,
    speed_path,
)
from .errors import ReferenceInputError
from .feet_speed import feet_velocity, velocity_path
from .generators import GeneratorOptions, VideoGenerator, make_prompt
from .prompts import RobotPrompt, first_frame_mask, prompt_to_camera
from .quality import (
    GATE_MAX_BAD_SHARE,
    QualityGateError,
    camera_path_report,
    camera_path_summary,
    quality_gate,
    quality_report,
    summary,
)
from .retiming import output_times, retime, retime_path
from .robot_finder import FoundRobot, drop_shadows, find_robot
from .segmenters import Segmenter, check_prompt, make_segmenter
from .video_io import CLIP_LEN, fit_to_camera, load_video, shift_images

DEFAULT_CONTROL_FPS = 100.0
ALIGN_MODES = ("auto", "always", "never")
ALIGN_SHORT_SIDE = 256  # pixels: the first frame's size for finding the robot and aligning the camera (at most the video's)
FROM_E0_TOLERANCE = 40  # grey levels (any channel): a pixel of a video's first frame that reproduces e0's
FROM_E0_AGREEMENT = 0.8  # the share of such pixels for a video to count as started from e0
MIN_ALIGNMENT_IOU = CameraSearchCfg.min_iou  # camera search: refuse below (its docstring says what it measured)
CameraAligner = Callable[[np.ndarray, np.ndarray], CameraAlignment]
"""(first-frame mask (H, W) bool, first frame (H, W, 3) uint8) -> CameraAlignment (camera_search.py)."""


def make_reference(
    e0: np.ndarray,
    e0_mask: np.ndarray,
    *,
    robot: str,
    camera: dict[str, Any],
    prompt: str | None = None,
    skill: str | None = None,
    generator: GeneratorOptions | None = None,
    video: str | Path | None = None,
    video_fps: float | None = None,
    segmenter: str | Segmenter = "sam2",
    sam2_model: str | None = None,
    sam2_device: str = "cpu",
    seed: int = 0,
    num_candidates: int = 1,
    control_fps: float = DEFAULT_CONTROL_FPS,
    retime_method: str = "dis",
    out: str | Path | None = None,
    overwrite: bool = False,
    synthetic: bool = False,
    progress: bool = True,
    reference_speed: float | None = None,
    camera_path_file: str | Path | None = None,
    base_height: float | None = None,
    force: bool = False,
    max_bad_share: float = GATE_MAX_BAD_SHARE,
    robot_prompt: RobotPrompt | None = None,
    align_camera: str = "auto",
    camera_aligner: CameraAligner | None = None,
    min_alignment_iou: float = MIN_ALIGNMENT_IOU,
) -> ReferenceBundle:
    """Make a reference from a generator (K candidates, best kept) or an existing video; save it to `out`.

    e0: (H, W, 3) uint8 first frame with the background blanked, at the camera's size;
    e0_mask: (H, W) bool, the simulator's mask of the robot in e0; camera: the camera config
    as a dict with at least width and height (stored as given).
    The camera path is read from `camera_path_file`, else made from `reference_speed` (m/s along the
    robot's start heading), else estimated from the video; `base_height` (the robot's start base height,
    for the camera's height above the ground) is read from the robot's MJCF when not given.
    Masks that vanish or jump in more than `max_bad_share` of the frames fail the quality gate: the bundle is
    saved to `<out>.rejected` for inspection and QualityGateError raised, unless `force` (kept, labelled).

    An imported video need not start from e0: when it does not, the robot is found on its first frame
    (`robot_prompt`: a box or clicks in the video's own pixels; else the most salient object) and `camera_aligner`
    (the simulator's render-and-compare search, camera_search.py) finds the camera that sees the start pose
    that way; the bundle then records that camera and the task trains from it. `align_camera`: "auto" (when the
    video does not start from e0), "always" or "never" (keep the task camera).
    """
    if (generator is None) == (video is None):
        raise ReferenceInputError("give exactly one of a generator or a video")
    _check_camera_path_options(reference_speed, camera_path_file)
    _check_out(out, overwrite)
    e0, e0_mask = _check_first_frame(e0, e0_mask, camera)
    if isinstance(segmenter, str):
        kwargs = {"sam2_model": sam2_model} if sam2_model else {}
        segmenter = make_segmenter(segmenter, device=sam2_device, progress=progress, **kwargs)
    if video is not None and hasattr(segmenter, "model"):
        segmenter.model  # noqa: B018 - load (or fail to download) the weights now, not after the camera search
    meta: dict[str, Any] = {
        "robot": robot,
        "synthetic": synthetic,
        "segmenter": segmenter.name,
        "nil_ext_version": nil_ext.__version__,
        "control_fps": control_fps,
        "retime_method": retime_method,
        "input_hashes": {"e0": _hash(e0), "e0_mask": _hash(e0_mask)},
    }
    if segmenter.name == "sam2":
        meta["sam2_model"] = getattr(segmenter, "model_id", sam2_model)

    if video is not None:
        try:
            frames, masks, e0_mask, camera, src_fps, found = _import_video(
                video, video_fps, e0, e0_mask, camera, segmenter, robot_prompt, align_camera, camera_aligner,
                min_alignment_iou
            )
        except AlignmentError as err:
            _refuse_alignment(err, out)
        robot_shape = found.pop("robot_shape", None)  # at the work size: brought to the bundle's, and moved as it was
        if robot_shape is not None:
            robot_shape = _fit_masks(robot_shape[None], (camera["width"], camera["height"]))[0]
            shift = found.get("camera_alignment", {}).get("shift_px")
            robot_shape = robot_shape if shift is None else shift_images(robot_shape[None], shift)[0]
        report = quality_report(masks, e0_mask, robot=robot_shape)
        meta.update(source="video", video=str(video), prompt=prompt, **found)
        meta["input_hashes"]["video"] = _file_hash(video)
    else:
        if prompt is None:
            if skill is None:
                raise ReferenceInputError("give a prompt or a skill (e.g. 'walking')")
            prompt = make_prompt(robot, skill)
        gen = VideoGenerator(generator, progress=progress)
        frames, masks, report, src_fps, seed, candidates = _best_candidate(
            gen, e0, e0_mask, prompt, segmenter, seed, num_candidates
        )
        meta.update(
            source="generator",
            prompt=prompt,
            skill=skill,
            generator=gen.model_id,
            generator_family=gen.family.name,
            generator_options={k: v for k, v in vars(generator).items() if k != "model"},
            seed=seed,
            candidates=candidates,
        )
    meta.update(source_fps=src_fps, source_num_frames=len(frames), height=e0.shape[0], width=e0.shape[1])
    if len(frames) < CLIP_LEN:
        raise ReferenceInputError(f"the video has {len(frames)} frames; a reference needs at least {CLIP_LEN}")

    path, confidence, path_meta = _camera_path(
        frames, masks, src_fps, control_fps, camera, robot, base_height, reference_speed, camera_path_file
    )
    meta.update(path_meta)
    frames, masks = retime(frames, masks, src_fps, control_fps, method=retime_method, progress=progress)
    gate = quality_gate(report, max_bad_share, forced=force)
    quality = {**quality_report(masks, e0_mask), "source": _brief(report), "gate": gate}
    if path is not None:
        quality["camera_path"] = camera_path_report(path, confidence, control_fps, meta["camera_path_source"])
    bundle = ReferenceBundle(
        frames=frames,
        masks=masks,
        fps=control_fps,
        robot=robot,
        camera=dict(camera),
        camera_path=path,
        camera_path_confidence=confidence,
        meta=meta,
        quality=quality,
    )
    print(f"reference: {len(frames)} frames at {control_fps:g} fps; {summary(bundle.quality)}", flush=True)
    print(f"camera path: {camera_path_summary(quality.get('camera_path'), meta)}", flush=True)
    if not gate["passed"]:
        _refuse_or_label(bundle, gate, out)
    if out is not None:
        bundle.save(out, overwrite=overwrite)
        _save_first_frame_picture(out, bundle)
        print(f"saved {out}", flush=True)
    return bundle


def _save_first_frame_picture(out: str | Path, bundle: ReferenceBundle) -> None:
    """first_frame_mask.png in the bundle: the first frame, the mask the import started from over it (green), so a
    user sees what was taken for the robot."""
    save_picture(Path(out) / "first_frame_mask.png", [bundle.frames[0], _tint(bundle.frames[0], bundle.masks[0])])


def save_picture(file: Path, panels: list[np.ndarray], labels: list[str] | None = None) -> None:
    """Panels (H, W, 3) uint8 side by side, at least 256 px tall, each with its label written at the top."""
    import cv2

    picture = np.concatenate(panels, axis=1)
    scale = max(1, 256 // picture.shape[0])
    picture = cv2.resize(picture, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    width = panels[0].shape[1] * scale
    for k, text in enumerate(labels or []):
        for colour, thick in (((0, 0, 0), 3), ((255, 255, 255), 1)):
            cv2.putText(picture, text, (k * width + 6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, thick, cv2.LINE_AA)
    cv2.imwrite(str(file), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))


def _tint(frame: np.ndarray, mask: np.ndarray, colour=(0, 220, 0)) -> np.ndarray:
    over = frame.copy()
    over[mask] = (0.5 * over[mask] + 0.5 * np.array(colour)).astype(np.uint8)
    return over


def _refuse_alignment(err: AlignmentError, out: str | Path | None) -> None:
    """A refused camera alignment keeps what was made in OUT.rejected (the first frame, the mask found on it, the
    best cameras' renders over it) and says where, as the quality gate does; then raises it again."""
    frame, mask, alignment = (getattr(err, k, None) for k in ("first_frame", "first_mask", "alignment"))
    if out is None or frame is None:
        raise err
    import json

    aside = Path(f"{out}.rejected")
    aside.mkdir(parents=True, exist_ok=True)
    save_picture(aside / "first_frame.png", [frame])
    save_picture(aside / "first_frame_mask.png", [frame, _tint(frame, mask)])
    shown = alignment.candidate_arrays()
    if shown:
        # the video's robot in green, each candidate's render in magenta: where they overlap reads grey-white
        panels = [_tint(_tint(frame, mask), m, (255, 0, 255)) for m in shown]
        runner = [alignment.runner_up] if alignment.runner_up else []
        labels = [f"yaw {c['yaw_deg']:.0f} elev {c['elevation_deg']:.0f} IoU {c['iou']:.2f}"
                  for c in [{"yaw_deg": alignment.camera["yaw_deg"], "elevation_deg": alignment.elevation_deg,
                             "iou": alignment.iou}, *runner]]
        save_picture(aside / "candidates.png", panels, labels)
    record = {k: v for k, v in alignment.to_dict().items() if k != "candidate_masks"}
    (aside / "alignment.json").write_text(json.dumps(record, indent=2) + "\n")
    files = "first_frame.png, first_frame_mask.png" + (", candidates.png" if shown else "") + ", alignment.json"
    raise type(err)(f"{err}. Kept for a look in {aside}/: {files}") from None


def _import_video(video, video_fps, e0, e0_mask, camera, segmenter, robot_prompt, align_camera, camera_aligner, min_iou):
    """An imported video at the camera's size, its masks, the first frame's truth, the camera (the task's, or the one
    aligned to the video), the source fps and what the bundle's meta records about how the robot was found."""
    if align_camera not in ALIGN_MODES:
        raise ReferenceInputError(f"align_camera must be one of {', '.join(ALIGN_MODES)}, got {align_camera!r}")
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
    work_e0_mask = _fit_masks(e0_mask[None], work)[0]
    frames = fit_to_camera(raw, *work)
    del raw
    found, alignment, record = _first_mask(frames, e0, work_e0_mask, work_prompt, align_camera, camera_aligner,
                                           min_iou)
    masks = segmenter(frames, found, prompt=work_prompt)
    if found is not work_e0_mask:  # the robot was found on the video, its shadow left out: so in every frame
        masks, dropped = drop_shadows(frames, masks)
        record["shadow_px_left_out"] = dropped
    masks = _fit_masks(masks, size)
    frames = fit_to_camera(frames, *size)
    # a video that starts from e0 keeps the simulator's own mask (exact); any other, the one found on it
    first = e0_mask if found is work_e0_mask else masks[0]
    masks[0] = first
    if alignment is None:
        return frames, masks, first, camera, src_fps, {"camera_source": "task", **record}
    # the task camera looks at the base: move the video so that the robot sits where that camera sees it
    shift = (alignment.shift_px[0] / scale, alignment.shift_px[1] / scale)
    frames, masks, first = shift_images(frames, shift), shift_images(masks, shift), shift_images(first[None], shift)[0]
    found_record = record
    record = {k: v for k, v in alignment.to_dict().items() if k not in ("camera", "candidate_masks")}
    record["shift_px"] = shift  # in the bundle's pixels
    camera = {**camera, **{k: v for k, v in alignment.camera.items() if k not in ("width", "height")}}
    return frames, masks, first, camera, src_fps, {"camera_source": "aligned", "camera_alignment": record,
                                                  **found_record}


def _fit_masks(masks: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(T, H, W) bool masks brought to (width, height) as fit_to_camera brings frames (a pixel half covered counts)."""
    return fit_to_camera(masks.astype(np.uint8) * 255, *size) >= 128


def _first_mask(frames, e0, e0_mask, robot_prompt, align_camera, camera_aligner, min_iou):
    """The robot's mask on a video's first frame, the camera alignment when the video is seen from elsewhere, and
    what the bundle's meta records about how the robot was found (with "robot_shape": its extent, for the gate).

    A video generated from e0 starts with e0 (the generator's conditioning image): the simulator's mask is the
    truth there. Any other video is never prompted with the simulator's mask (it shows the robot from the task
    camera, in its start pose): the robot is found on the video itself (a box or clicks, else motion and contrast).
    """
    frame = frames[0]
    if align_camera != "always" and starts_from(frame, e0, e0_mask):
        first = e0_mask if robot_prompt is None else first_frame_mask(frame, robot_prompt)
        return first, None, {"robot_found": "the video starts from e0: the simulator's mask",
                             "robot_shape": first}
    found = _find(frames, robot_prompt)
    print(found.summary(), flush=True)
    record = {"robot_found": found.summary(), "robot_shape": found.mask}
    if align_camera == "never":
        print("warning: the video does not start from the task camera's first frame and --align_camera never keeps "
              "the task camera: the IoU reward compares the video's view with the task camera's", flush=True)
        return found.mask, None, record
    if camera_aligner is None:
        raise ReferenceInputError(
            "the video does not start from the task camera's first frame and no camera search is available here: "
            "run scripts/generate_reference.py (it aligns the camera with the simulator), or keep the task camera "
            "with --align_camera never"
        )
    alignment = camera_aligner(found.mask, frame)
    print(alignment.summary(), flush=True)
    try:
        alignment.check(min_iou, CameraSearchCfg.floor_iou, CameraSearchCfg.decide_margin)
    except AlignmentError as err:
        err.first_frame, err.first_mask, err.alignment = frame, found.mask, alignment  # kept for a look
        raise
    return found.mask, alignment, record


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
    import cv2

    from .image_ops import disk

    mask = _fit_masks(np.asarray(e0_mask, dtype=bool)[None], (frame.shape[1], frame.shape[0]))[0]
    r = max(2, round(0.03 * min(frame.shape[:2])))
    band = cv2.dilate(mask.astype(np.uint8), disk(r)).astype(bool) & ~mask
    return all(not part.any() or close[part].mean() >= FROM_E0_AGREEMENT for part in (mask, band))


def _refuse_or_label(bundle: ReferenceBundle, gate: dict, out: str | Path | None) -> None:
    """A bundle below the quality gate: kept when forced (its quality says so), else saved aside and refused."""
    if gate["forced"]:
        print(f"warning: kept with --force below the quality gate: {gate['reason']}", flush=True)
        return
    kept = ""
    if out is not None:  # the masks may have taken an hour: keep them for a look (strip.png) and for --force's choice
        aside = Path(f"{out}.rejected")
        bundle.save(aside, overwrite=True)
        kept = f" It is saved for inspection at {aside} (see its strip.png)."
    raise QualityGateError(
        f"the reference fails the quality gate: {gate['reason']}: the segmenter lost the robot.{kept} Prompt the "
        "robot on the first frame (--robot_box x0,y0,x1,y1 or --robot_point x,y), try another --segmenter, or keep "
        "it anyway with --force (training then warns)."
    )


def bundle_from_frames(
    frames: np.ndarray,
    masks: np.ndarray,
    src_fps: float,
    *,
    robot: str,
    camera: dict[str, Any],
    camera_path: np.ndarray | None = None,
    control_fps: float = DEFAULT_CONTROL_FPS,
    meta: dict[str, Any] | None = None,
    synthetic: bool = True,
    out: str | Path | None = None,
    overwrite: bool = False,
    progress: bool = True,
    reference_speed: float | None = None,
    camera_path_file: str | Path | None = None,
    estimate_path: bool = False,
    base_height: float | None = None,
) -> ReferenceBundle:
    """A bundle from frames and masks made elsewhere (a scripted motion rendered by the simulator).

    camera_path: optional (T, 4) x, y, z, yaw of the camera per source frame (exact: source "scripted"),
    retimed with the frames. `camera_path_file` or `reference_speed` replace it; without any of them
    `estimate_path=True` estimates it from the frames (see make_reference).
    """
    _check_camera_path_options(reference_speed, camera_path_file)
    _check_out(out, overwrite)
    frames = np.asarray(frames)
    masks = np.asarray(masks).astype(bool)
    check_prompt(frames, masks[0])
    if len(frames) < CLIP_LEN:
        raise ReferenceInputError(f"{len(frames)} frames; a reference needs at least {CLIP_LEN}")
    src_report = quality_report(masks)
    confidence, path_meta = None, {}
    if camera_path_file is not None or reference_speed is not None or (camera_path is None and estimate_path):
        camera_path, confidence, path_meta = _camera_path(
            frames, masks, src_fps, control_fps, camera, robot, base_height, reference_speed, camera_path_file
        )
    elif camera_path is not None:
        camera_path = retime_path(np.asarray(camera_path), src_fps, control_fps)
        path_meta = {"camera_path_source": "scripted"}
    frames_r, masks_r = retime(frames, masks, src_fps, control_fps, progress=progress)
    meta = {
        "robot": robot,
        "synthetic": synthetic,
        "segmenter": "simulator",
        "nil_ext_version": nil_ext.__version__,
        "source_fps": src_fps,
        "source_num_frames": len(frames),
        "control_fps": control_fps,
        **path_meta,
        **(meta or {}),
    }
    quality = {**quality_report(masks_r, masks[0]), "source": _brief(src_report), "gate": quality_gate(src_report)}
    if camera_path is not None:
        conf = np.ones(len(camera_path)) if confidence is None else confidence
        quality["camera_path"] = camera_path_report(camera_path, conf, control_fps, meta.get("camera_path_source"))
    bundle = ReferenceBundle(
        frames=frames_r,
        masks=masks_r,
        fps=control_fps,
        robot=robot,
        camera=dict(camera),
        camera_path=camera_path,
        camera_path_confidence=confidence,
        meta=meta,
        quality=quality,
    )
    if out is not None:
        bundle.save(out, overwrite=overwrite)
    return bundle


def _camera_path(frames, masks, src_fps, control_fps, camera, robot, base_height, reference_speed, camera_path_file):
    """(path (T, 4), confidence (T,), meta) at the control rate, T = the retimed frame count; path None when it
    cannot be had (meta says why, and a warning names the options)."""
    num_frames = len(output_times(len(frames), src_fps, control_fps))
    try:
        geometry = GroundCamera.from_camera(camera, robot_base_height(robot) if base_height is None else base_height)
    except CameraPathError as err:
        geometry, no_geometry = None, str(err)
    if camera_path_file is not None:
        path = load_camera_path_file(camera_path_file, num_frames, geometry)
        return path, np.ones(num_frames), {"camera_path_source": "file", "camera_path_file": str(camera_path_file)}
    if reference_speed is not None:
        path = speed_path(num_frames, control_fps, reference_speed, geometry)
        return path, np.ones(num_frames), {"camera_path_source": "speed", "reference_speed": reference_speed}
    if geometry is None:
        reason = no_geometry
    else:
        try:
            estimate = estimate_camera_path(frames, masks, src_fps, geometry)
        except Exception as err:  # noqa: BLE001 - an estimator failure on one video must not lose the masks made
            reason = f"the estimator failed on this video ({type(err).__name__}: {str(err).strip().splitlines()[0]})"
        else:
            if estimate.ok:
                path = retime_path(estimate.path, src_fps, control_fps)
                confidence = resample_confidence(estimate.confidence, src_fps, control_fps)
                return path, confidence, {"camera_path_source": "estimated"}
            reason = estimate.reason
        feet = feet_velocity(masks, src_fps, geometry)
        if feet.velocity is not None:
            print(f"camera path: {FEET_CAMERA_PATH.format(reason=reason, speed=feet.speed)}", flush=True)
            path = velocity_path(num_frames, control_fps, feet.velocity, geometry)
            return path, np.full(num_frames, feet.agreement), {
                "camera_path_source": "feet", "camera_path_note": reason, "feet_speed": round(feet.speed, 4)}
        reason += f"; nor from the robot's feet: {feet.reason}"
    print(f"warning: {NO_CAMERA_PATH.format(reason=reason)}", flush=True)
    return None, None, {"camera_path_source": None, "camera_path_note": reason}


FEET_CAMERA_PATH = (
    "not estimable from the ground ({reason}); taken from the robot's stance feet instead: a constant "
    "{speed:.2f} m/s. Give --reference_speed V (m/s) or --camera-path FILE if you know better"
)


NO_CAMERA_PATH = (
    "the camera path cannot be estimated from the video: {reason}. The bundle is saved without one, so the walk "
    "tasks' default camera mode reference_path will refuse it: remake it with --reference_speed V (the camera "
    "moves at V m/s along the robot's start heading) or --camera-path FILE (.npy or .csv of x, y, z per frame), "
    "or train with --camera_mode follow_agent"
)


def robot_base_height(robot: str) -> float | None:
    """The robot's start base height from its MJCF (no simulator), or None when the robot cannot be read."""
    from ..assets import MenagerieNotFoundError, MjcfError, UnknownRobotError, get_robot_spec
    from ..assets.robot_model import read_robot_info

    try:
        spec = get_robot_spec(robot)
        return float(read_robot_info(spec, spec.model_dir()).base_pos[2])
    except (UnknownRobotError, MenagerieNotFoundError, MjcfError, OSError):
        return None


def _check_camera_path_options(reference_speed, camera_path_file) -> None:
    if reference_speed is not None and camera_path_file is not None:
        raise ReferenceInputError("give at most one of a reference speed (--reference_speed) and a camera path file")
    if reference_speed is not None and not np.isfinite(reference_speed):
        raise ReferenceInputError(f"the reference speed must be a number of m/s, got {reference_speed}")
    if camera_path_file is not None:
        load_camera_path_file(camera_path_file, 2)  # a bad file fails now, not after generating


def _best_candidate(gen, e0, e0_mask, prompt, segmenter, seed, k):
    """Generate K videos (seeds seed..seed+K-1), segment each, keep the best by quality score."""
    if k < 1:
        raise ReferenceInputError(f"num_candidates must be at least 1, got {k}")
    best, scores = None, []
    for s in range(seed, seed + k):
        print(f"candidate seed {s}: generating", flush=True)
        frames, fps = gen(e0, prompt, s)
        masks = segmenter(frames, e0_mask)
        report = quality_report(masks, e0_mask)
        scores.append({"seed": s, "score": report["score"]})
        print(f"candidate seed {s}: {summary(report)}", flush=True)
        if best is None or report["score"] > best[2]["score"]:
            best = (frames, masks, report, fps, s)
    return (*best, scores)


def _check_out(out, overwrite: bool) -> None:
    """Refuse before hours of generation, not after."""
    if out is not None and Path(out).exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass overwrite=True (--overwrite) to replace it")


def _check_first_frame(e0, e0_mask, camera):
    e0 = np.asarray(e0)
    if e0.ndim != 3 or e0.shape[-1] != 3 or e0.dtype != np.uint8:
        raise ReferenceInputError(f"e0 must be (H, W, 3) uint8, got {e0.shape} {e0.dtype}")
    e0_mask = check_prompt(e0[None], e0_mask)
    size = (camera.get("height"), camera.get("width"))
    if size != e0.shape[:2]:
        if None in size:
            raise ReferenceInputError(f"the camera config needs width and height, got {camera}")
        # a first frame of another size: bring it to the camera's, as videos are
        e0 = fit_to_camera(e0[None], size[1], size[0])[0]
        e0_mask = fit_to_camera(e0_mask[None].astype(np.uint8) * 255, size[1], size[0])[0] >= 128
        e0_mask = check_prompt(e0[None], e0_mask)
    return e0, e0_mask


def _brief(report: dict[str, Any]) -> dict[str, Any]:
    """A source-rate report without its per-frame lists."""
    return {k: v for k, v in report.items() if k not in ("area_fraction", "consecutive_iou")}


def _hash(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def _file_hash(path: str | Path) -> str:
    path = Path(path)
    h = hashlib.sha256()
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest()[:16]
