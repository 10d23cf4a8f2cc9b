"""Stage 1's one way to make a reference bundle: a source (generated, imported or rendered) -> masks -> camera path
-> retimed to the control rate -> quality gate -> a ReferenceBundle, saved atomically.

    video = generate(e0, prompt) for K seeds  |  import a video (align the camera to it)  |  the simulator's frames
    masks = segment(video, prompted by e0's mask); keep the candidate with the best quality score
    camera path = a file | a speed | the simulator's own | estimated from the video's ground, else its feet
    frames, masks = retime(video, masks, video fps -> control fps)

Each step's options are one typed group (options.py). The simulator is imported only by the sources that render
(scripted walks, e0 when it is not given).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import nil_ext

from .bundle import ReferenceBundle
from .camera_alignment import AlignmentError
from .camera_path_source import check_camera_path_options, choose_camera_path
from .errors import ReferenceInputError
from .first_frame import FirstFrame, follow_camera
from .generators import VideoGenerator, make_prompt
from .options import (
    AlignmentOptions,
    CameraPathOptions,
    OutputOptions,
    QualityGateOptions,
    RetimingOptions,
    SegmentationOptions,
)
from .quality import QualityGateError, camera_path_report, camera_path_summary, quality_gate, quality_report, summary
from .retiming import retime
from .segmenters import Segmenter, check_prompt, make_segmenter
from .sources import GeneratedVideo, ImportedVideo, SimulatorFrames, Source
from .video_import import import_video, refuse_alignment, robot_shape_for_gate, save_picture, tint
from .video_io import CLIP_LEN, fit_to_camera


@dataclass
class _Clip:
    """A source's video at its own rate, before the camera path and retiming."""

    frames: np.ndarray
    masks: np.ndarray
    fps: float
    camera: dict[str, Any]
    first_mask: np.ndarray
    report: dict[str, Any]
    """The quality report of the source-rate masks (the gate judges it)."""
    meta: dict[str, Any]
    exact_path: np.ndarray | None = None
    from_simulator: bool = False
    extra_meta: dict[str, Any] = field(default_factory=dict)
    """Added after the camera path's meta (the simulator sources' own)."""


def build_bundle(
    robot: str,
    source: Source,
    *,
    first_frame: FirstFrame | None = None,
    task_camera: dict[str, Any] | None = None,
    segmentation: SegmentationOptions = SegmentationOptions(),
    alignment: AlignmentOptions = AlignmentOptions(),
    camera_path: CameraPathOptions = CameraPathOptions(),
    retiming: RetimingOptions = RetimingOptions(),
    gate: QualityGateOptions = QualityGateOptions(),
    output: OutputOptions = OutputOptions(),
) -> ReferenceBundle:
    """Make a reference bundle for ``robot`` from ``source``; save it to ``output.out``.

    first_frame: e0 for a generated or imported video (rendered by the simulator with ``task_camera`` when not given;
    an imported video need not start from it: the camera is then aligned, see AlignmentOptions). task_camera:
    FollowCameraCfg fields over its defaults, which the simulator renders e0 and scripted sources with.
    Masks that vanish or jump in more than ``gate.max_bad_share`` of the frames fail the quality gate: the bundle is
    saved to ``<out>.rejected`` for inspection and QualityGateError raised, unless ``gate.force`` (kept, labelled).
    """
    check_camera_path_options(camera_path)  # bad input fails now, not after hours of generating
    _check_out(output)
    if hasattr(source, "render"):  # a scripted source: the simulator renders it now
        source = source.render(robot, follow_camera(task_camera or {}))
    if isinstance(source, SimulatorFrames):
        clip = _simulator_clip(robot, source)
    else:
        if first_frame is None:
            first_frame = FirstFrame.rendered(robot, task_camera or {})
        clip = _video_clip(robot, source, first_frame, segmentation, alignment, retiming, output)
    return _assemble(robot, clip, camera_path, retiming, gate, output)


def _simulator_clip(robot: str, source: SimulatorFrames) -> _Clip:
    frames = np.asarray(source.frames)
    masks = np.asarray(source.masks).astype(bool)
    check_prompt(frames, masks[0])
    meta = {"robot": robot, "synthetic": source.synthetic, "segmenter": "simulator",
            "nil_ext_version": nil_ext.__version__, "source_fps": source.fps, "source_num_frames": len(frames)}
    return _Clip(frames, masks, source.fps, dict(source.camera), masks[0], quality_report(masks), meta,
                 exact_path=source.camera_path, from_simulator=True, extra_meta=dict(source.meta))


def _video_clip(robot: str, source: GeneratedVideo | ImportedVideo, first_frame: FirstFrame,
                segmentation: SegmentationOptions, alignment: AlignmentOptions, retiming: RetimingOptions,
                output: OutputOptions) -> _Clip:
    camera = first_frame.camera
    e0, e0_mask = _check_first_frame(first_frame.image, first_frame.mask, camera)
    segmenter = _segmenter(segmentation, output.progress)
    imported = isinstance(source, ImportedVideo)
    if imported and hasattr(segmenter, "model"):
        segmenter.model  # noqa: B018 - load (or fail to download) the weights now, not after the camera search
    meta: dict[str, Any] = {
        "robot": robot,
        "synthetic": False,
        "segmenter": segmenter.name,
        "nil_ext_version": nil_ext.__version__,
        "control_fps": retiming.control_fps,
        "retime_method": retiming.method,
        "input_hashes": {"e0": _hash(e0), "e0_mask": _hash(e0_mask)},
    }
    if segmenter.name == "sam2":
        meta["sam2_model"] = getattr(segmenter, "model_id", segmentation.sam2_model)
    if imported:
        try:
            frames, masks, e0_mask, camera, src_fps, found = import_video(
                source.path, source.fps, e0, e0_mask, camera, segmenter, source.robot_prompt, alignment)
        except AlignmentError as err:
            refuse_alignment(err, output.out)
        robot_shape = robot_shape_for_gate(found, camera)
        report = quality_report(masks, e0_mask, robot=robot_shape)
        meta.update(source="video", video=str(source.path), prompt=source.prompt, **found)
        meta["input_hashes"]["video"] = _file_hash(source.path)
    else:
        prompt = source.prompt
        if prompt is None:
            if source.skill is None:
                raise ReferenceInputError("give a prompt or a skill (e.g. 'walking')")
            prompt = make_prompt(robot, source.skill)
        gen = VideoGenerator(source.generator, progress=output.progress)
        frames, masks, report, src_fps, seed, candidates = _best_candidate(
            gen, e0, e0_mask, prompt, segmenter, source.seed, source.num_candidates)
        meta.update(
            source="generator",
            prompt=prompt,
            skill=source.skill,
            generator=gen.model_id,
            generator_family=gen.family.name,
            generator_options={k: v for k, v in vars(source.generator).items() if k != "model"},
            seed=seed,
            candidates=candidates,
        )
    meta.update(source_fps=src_fps, source_num_frames=len(frames), height=e0.shape[0], width=e0.shape[1])
    return _Clip(frames, masks, src_fps, camera, e0_mask, report, meta)


def _assemble(robot: str, clip: _Clip, camera_path: CameraPathOptions, retiming: RetimingOptions,
              gate_options: QualityGateOptions, output: OutputOptions) -> ReferenceBundle:
    """The ending every source shares: camera path, retiming, the quality gate, the bundle saved."""
    if len(clip.frames) < CLIP_LEN:
        raise ReferenceInputError(f"the video has {len(clip.frames)} frames; a reference needs at least {CLIP_LEN}")
    fps = retiming.control_fps
    path, confidence, eye_path, path_meta = choose_camera_path(clip.frames, clip.masks, clip.fps, fps, clip.camera, robot,
                                                     camera_path, clip.exact_path)
    meta = {**clip.meta, "control_fps": fps, **path_meta, **clip.extra_meta}
    frames, masks = retime(clip.frames, clip.masks, clip.fps, fps, method=retiming.method, progress=output.progress)
    gate = quality_gate(clip.report, gate_options.max_bad_share, forced=gate_options.force)
    quality = {**quality_report(masks, clip.first_mask), "source": _brief(clip.report), "gate": gate}
    if path is not None:
        shown = np.ones(len(path)) if confidence is None else confidence
        quality["camera_path"] = camera_path_report(path, shown, fps, meta.get("camera_path_source"))
    bundle = ReferenceBundle(frames=frames, masks=masks, fps=fps, robot=robot, camera=dict(clip.camera),
                             camera_path=path, camera_path_confidence=confidence, eye_path=eye_path, meta=meta,
                             quality=quality)
    if not clip.from_simulator:  # the simulator's masks are the truth: its frames are saved as they are, quietly
        print(f"reference: {len(frames)} frames at {fps:g} fps; {summary(bundle.quality)}", flush=True)
        print(f"camera path: {camera_path_summary(quality.get('camera_path'), meta)}", flush=True)
        if not gate["passed"]:
            _refuse_or_label(bundle, gate, output.out)
    if output.out is not None:
        bundle.save(output.out, overwrite=output.overwrite)
        if not clip.from_simulator:
            _save_first_frame_picture(output.out, bundle)
            print(f"saved {output.out}", flush=True)
    return bundle


def _segmenter(options: SegmentationOptions, progress: bool) -> Segmenter:
    if not isinstance(options.segmenter, str):
        return options.segmenter
    kwargs = {"sam2_model": options.sam2_model} if options.sam2_model else {}
    return make_segmenter(options.segmenter, device=options.sam2_device, progress=progress, **kwargs)


def _save_first_frame_picture(out: str | Path, bundle: ReferenceBundle) -> None:
    """first_frame_mask.png in the bundle: the first frame, the mask the import started from over it (green), so a
    user sees what was taken for the robot."""
    save_picture(Path(out) / "first_frame_mask.png", [bundle.frames[0], tint(bundle.frames[0], bundle.masks[0])])


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


def _check_out(output: OutputOptions) -> None:
    """Refuse before hours of generation, not after."""
    if output.out is not None and Path(output.out).exists() and not output.overwrite:
        raise FileExistsError(f"{output.out} exists; pass overwrite=True (--overwrite) to replace it")


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
