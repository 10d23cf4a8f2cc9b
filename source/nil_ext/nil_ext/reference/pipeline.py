"""Stage 1 end to end: e0 (+ its mask) and a prompt or a video -> a ReferenceBundle saved atomically.

    video = generate(e0, prompt) for K seeds  |  import a video
    masks = segment(video, prompted by e0's mask); keep the candidate with the best quality score
    frames, masks = retime(video, masks, video fps -> control fps)

    camera path = --camera-path FILE | --reference-speed V | estimated from the video (camera_path.py)

The first frame comes from the simulator (nil_ext.reference.first_frame, imported by the script);
this module never imports the simulator.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

import nil_ext

from .bundle import ReferenceBundle
from .camera_path import (
    CameraPathError,
    GroundCamera,
    estimate_camera_path,
    load_camera_path_file,
    resample_confidence,
    speed_path,
)
from .errors import ReferenceInputError
from .generators import GeneratorOptions, VideoGenerator, make_prompt
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
from .segmenters import Segmenter, check_prompt, make_segmenter
from .video_io import CLIP_LEN, fit_to_camera, load_video

DEFAULT_CONTROL_FPS = 100.0


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
    """
    if (generator is None) == (video is None):
        raise ReferenceInputError("give exactly one of a generator or a video")
    _check_camera_path_options(reference_speed, camera_path_file)
    _check_out(out, overwrite)
    e0, e0_mask = _check_first_frame(e0, e0_mask, camera)
    if isinstance(segmenter, str):
        kwargs = {"sam2_model": sam2_model} if sam2_model else {}
        segmenter = make_segmenter(segmenter, device=sam2_device, progress=progress, **kwargs)
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
        frames, src_fps = load_video(video, e0.shape[1], e0.shape[0], fps=video_fps)
        masks = segmenter(frames, e0_mask)
        report = quality_report(masks, e0_mask)
        meta.update(source="video", video=str(video), prompt=prompt)
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
        print(f"saved {out}", flush=True)
    return bundle


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
        "robot on the first frame (--robot-box x0,y0,x1,y1 or --robot-point x,y), try another --segmenter, or keep "
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
        estimate = estimate_camera_path(frames, masks, src_fps, geometry)
        if estimate.ok:
            path = retime_path(estimate.path, src_fps, control_fps)
            confidence = resample_confidence(estimate.confidence, src_fps, control_fps)
            return path, confidence, {"camera_path_source": "estimated"}
        reason = estimate.reason
    print(f"warning: {NO_CAMERA_PATH.format(reason=reason)}", flush=True)
    return None, None, {"camera_path_source": None, "camera_path_note": reason}


NO_CAMERA_PATH = (
    "the camera path cannot be estimated from the video: {reason}. The bundle is saved without one, so the walk "
    "tasks' default camera mode reference_path will refuse it: remake it with --reference-speed V (the camera "
    "moves at V m/s along the robot's start heading) or --camera-path FILE (.npy or .csv of x, y, z per frame), "
    "or train with --camera_mode follow_agent"
)


def robot_base_height(robot: str) -> float | None:
    """The robot's start base height from its MJCF (no simulator), or None when the robot cannot be read."""
    from ..assets import MenagerieNotFoundError, MjcfError, UnknownRobotError, get_robot_spec
    from ..assets.mjcf import read_robot_info

    try:
        spec = get_robot_spec(robot)
        return float(read_robot_info(spec, spec.model_dir()).base_pos[2])
    except (UnknownRobotError, MenagerieNotFoundError, MjcfError, OSError):
        return None


def _check_camera_path_options(reference_speed, camera_path_file) -> None:
    if reference_speed is not None and camera_path_file is not None:
        raise ReferenceInputError("give at most one of a reference speed (--reference-speed) and a camera path file")
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
