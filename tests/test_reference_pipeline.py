"""Stage 1 end to end: a bundle from an imported video, from a tiny generator through the script,
and clear errors (nothing left that looks like a bundle) for bad input."""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from reference_helpers import articulated_clip, save_tiny_wan, write_mp4, write_png
from script_helpers import load_script, run_in_process

from nil_ext.reference.builder import build_bundle
from nil_ext.reference.bundle import ReferenceBundle
from nil_ext.reference.camera_alignment import AlignmentError, CameraAlignment
from nil_ext.reference.errors import ReferenceInputError
from nil_ext.reference.first_frame import FirstFrame
from nil_ext.reference.options import (
    AlignmentOptions,
    CameraPathOptions,
    OutputOptions,
    QualityGateOptions,
    SegmentationOptions,
)
from nil_ext.reference.prompts import RobotPrompt
from nil_ext.reference.quality import QualityGateError, gate_of, gate_warning, iou
from nil_ext.reference.retiming import output_times
from nil_ext.reference.sources import ImportedVideo, SimulatorFrames
from nil_ext.reference.video_io import shift_images

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "generate_reference.py"


def script_main():
    return load_script("generate_reference.py").main


def first_frame(tmp_path, frames, masks):
    return write_png(tmp_path / "e0.png", frames[0]), write_png(
        tmp_path / "e0_mask.png", masks[0].astype(np.uint8) * 255
    )


def test_bundle_from_an_imported_video(tmp_path):
    frames, truth = articulated_clip(t=12)
    video = write_mp4(tmp_path / "clip.mp4", frames, fps=25)
    camera = {"width": 128, "height": 96, "distance": 3.0, "fov": 60.0}
    bundle = build_bundle("h1", ImportedVideo(video), first_frame=FirstFrame(frames[0], truth[0], camera),
                          segmentation=SegmentationOptions("background"),
                          output=OutputOptions(tmp_path / "ref", progress=False))
    loaded = ReferenceBundle.load(tmp_path / "ref")
    assert loaded.num_frames == 45 and loaded.fps == 100.0  # 11 source intervals x 4 + 1
    assert loaded.camera == camera and loaded.robot == "h1"
    assert loaded.meta["segmenter"] == "background" and loaded.meta["source"] == "video"
    assert loaded.meta["source_fps"] == pytest.approx(25) and loaded.meta["synthetic"] is False
    assert iou(loaded.masks[-1], truth[-1]) > 0.85
    np.testing.assert_array_equal(loaded.frames, bundle.frames)


def test_simulator_frames_retime_their_camera_path(tmp_path):
    frames, masks = articulated_clip(t=9)
    path = np.stack([np.arange(9) * 0.1, np.zeros(9), np.ones(9), np.zeros(9)], axis=1)
    b = build_bundle("a1", SimulatorFrames(frames, masks, 25.0, {"width": 128, "height": 96}, path),
                     output=OutputOptions(tmp_path / "ref", progress=False))
    assert b.num_frames == 33 and b.camera_path.shape == (33, 4) and b.meta["synthetic"] is True
    np.testing.assert_allclose(b.camera_path[4], [0.1, 0, 1, 0])


def test_script_with_a_tiny_generator_makes_a_valid_bundle(tmp_path):
    model = save_tiny_wan(tmp_path / "tiny_wan")
    frames, masks = articulated_clip(t=1, h=48, w=64)
    e0, e0_mask = first_frame(tmp_path, frames, masks)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "source" / "nil_ext"), os.environ.get("PYTHONPATH", "")]),
    }
    cmd = [
        sys.executable,
        str(SCRIPT),
        "--robot",
        "h1",
        "--skill",
        "walking",
        "--generator",
        str(model),
        "--e0",
        str(e0),
        "--e0-mask",
        str(e0_mask),
        "--segmenter",
        "background",
        "--num-frames",
        "9",
        "--steps",
        "2",
        "--height",
        "32",
        "--width",
        "32",
        "--num-candidates",
        "2",
        "--seed",
        "5",
        "--camera",
        '{"distance": 3.0, "fov": 60.0}',
        "--out",
        str(tmp_path / "ref"),
        "--no-progress",
        "--force",  # a random-weight generator paints noise: its masks may fail the quality gate
    ]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "loading" in run.stdout and "candidate seed 6" in run.stdout
    b = ReferenceBundle.load(tmp_path / "ref")
    assert b.frames.shape[1:] == (48, 64, 3) and b.num_frames == len(output_times(9, 24.0, 100.0))
    assert b.camera == {"width": 64, "height": 48, "distance": 3.0, "fov": 60.0}
    assert b.meta["prompt"] == "The H1 agent is walking, camera follows the agent."
    assert b.meta["generator"] == str(model) and b.meta["generator_family"] == "wan"
    assert b.meta["seed"] in (5, 6) and len(b.meta["candidates"]) == 2
    assert b.meta["segmenter"] == "background" and "score" in b.quality
    gate = b.quality["gate"]
    assert gate["forced"] == (not gate["passed"])  # labelled when --force kept it below the gate


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        ("unknown generator", "unknown generator 'no-such-video-model'.*known families"),
        ("empty mask", "first-frame mask is empty"),
        ("short video", r"short\.mp4 has 5 frames.*at least 8"),
        ("unreadable video", r"unreadable video .*bad\.mp4"),
        ("offline generator", r"video generator 'Wan-AI/Wan2.2-TI2V-5B-Diffusers' could not be loaded.*"
                              r"hf download.*--export_first_frame DIR"),
        ("offline sam2", r"SAM2 model 'facebook/sam2.1-hiera-large' could not be loaded.*--sam2-model.*"
                         r"--segmenter grabcut"),
        ("bad robot box", r"--robot_box '10,20,5' has 3 numbers; give 4 as x0,y0,x1,y1"),
    ],
)
def test_script_errors_are_clear_and_leave_no_bundle(tmp_path, capsys, monkeypatch, problem, message):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)  # an unknown id would ask the hub
    frames, masks = articulated_clip(t=5, h=48, w=64)
    e0, e0_mask = first_frame(tmp_path, frames, masks if problem != "empty mask" else masks & False)
    args = [
        "--robot",
        "g1",
        "--e0",
        str(e0),
        "--e0-mask",
        str(e0_mask),
        "--segmenter",
        "background",
        "--out",
        str(tmp_path / "out" / "ref"),
    ]
    if problem == "unknown generator":
        args += ["--generator", "no-such-video-model"]
    elif problem == "offline generator":
        args += ["--generator", "Wan-AI/Wan2.2-TI2V-5B-Diffusers"]
    elif problem in ("offline sam2", "bad robot box"):
        args += ["--video", str(write_mp4(tmp_path / "clip.mp4", np.concatenate([frames, frames])))]
        args += ["--segmenter", "sam2"] if problem == "offline sam2" else ["--robot_box", "10,20,5"]
    elif problem == "short video":
        args += ["--video", str(write_mp4(tmp_path / "short.mp4", frames))]
    elif problem == "unreadable video":
        (tmp_path / "bad.mp4").write_bytes(b"\x00" * 100)
        args += ["--video", str(tmp_path / "bad.mp4")]
    else:
        args += ["--video", str(write_mp4(tmp_path / "clip.mp4", np.concatenate([frames, frames])))]
    assert script_main()(args) == 2
    assert __import__("re").search(message, capsys.readouterr().err)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def vanishing_clip(t=24):
    """The stick figure for a third of the clip, then an empty scene: a segmenter that loses the robot."""
    frames, masks = articulated_clip(t=t)
    frames[t // 3 :] = frames[0, 0, 0]
    masks[t // 3 :] = False
    return frames, masks


def test_masks_that_vanish_fail_the_quality_gate_and_are_kept_aside(tmp_path):
    frames, masks = vanishing_clip()
    video = write_mp4(tmp_path / "clip.mp4", frames, fps=25)
    kwargs = dict(first_frame=FirstFrame(frames[0], masks[0], {"width": 128, "height": 96}),
                  segmentation=SegmentationOptions("background"),
                  output=OutputOptions(tmp_path / "ref", progress=False))
    with pytest.raises(QualityGateError, match=r"vanish or jump in \d+% of the frames.*--robot_box.*--force"):
        build_bundle("h1", ImportedVideo(video), **kwargs)
    assert not (tmp_path / "ref").exists()
    aside = ReferenceBundle.load(tmp_path / "ref.rejected")  # the work is not lost: look at it, or --force
    assert not aside.quality["gate"]["passed"] and not aside.quality["gate"]["forced"]
    assert (tmp_path / "ref.rejected" / "strip.png").is_file()

    kept = build_bundle("h1", ImportedVideo(video), gate=QualityGateOptions(force=True), **kwargs)
    assert kept.quality["gate"]["forced"] and kept.quality["gate"]["bad_share"] > 0.5
    warning = gate_warning(ReferenceBundle.load(tmp_path / "ref").quality, "ref")
    assert "kept with --force" in warning and "vanish" in warning


def test_a_clean_bundle_passes_the_gate_and_old_bundles_are_judged_by_their_report(tmp_path):
    frames, masks = articulated_clip(t=12)
    quiet = dict(camera_path=CameraPathOptions(estimate=False), output=OutputOptions(progress=False))
    b = build_bundle("h1", SimulatorFrames(frames, masks, 25.0, {"width": 128, "height": 96}), **quiet)
    assert b.quality["gate"]["passed"] and gate_warning(b.quality, "ref") is None
    old = {k: v for k, v in b.quality.items() if k != "gate"}  # a bundle made before the gate
    assert gate_of(old)["passed"]
    bad = build_bundle("h1", SimulatorFrames(*vanishing_clip(), 25.0, {"width": 128, "height": 96}), **quiet)
    assert not gate_of({k: v for k, v in bad.quality.items() if k != "gate"})["passed"]


def test_export_first_frame_for_a_web_generator(tmp_path):
    frames, masks = articulated_clip(t=1, h=48, w=64)
    e0, e0_mask = first_frame(tmp_path, frames, masks)
    out = tmp_path / "upload"
    args = ["--robot", "a1", "--e0", str(e0), "--e0-mask", str(e0_mask), "--camera", '{"distance": 2.0}',
            "--skill", "trotting", "--export_first_frame", str(out)]
    assert script_main()(args) == 0
    assert (out / "prompt.txt").read_text().strip() == "The A1 agent is trotting, camera follows the agent."
    assert __import__("json").loads((out / "camera.json").read_text()) == {"width": 64, "height": 48, "distance": 2.0}
    assert __import__("cv2").imread(str(out / "e0.png")).shape == (48, 64, 3)
    np.testing.assert_array_equal(__import__("cv2").imread(str(out / "e0_mask.png"), 0) > 0, masks[0])


def test_export_first_frame_renders_a_larger_e0_with_the_task_camera(tmp_path):
    """Without --e0 the simulator renders e0 at 720 px (same field of view); camera.json keeps the task's size."""
    out = tmp_path / "upload"
    run = run_in_process(tmp_path, "generate_reference.py",
                         ["--task", "NIL-A1-Walk", "--export_first_frame", str(out), "--export_size", "320"])
    assert run.returncode == 0, run.stdout + run.stderr
    camera = __import__("json").loads((out / "camera.json").read_text())
    assert (camera["width"], camera["height"]) == (224, 224) and camera["yaw_deg"] == -90.0
    mask = __import__("cv2").imread(str(out / "e0_mask.png"), 0) > 0
    assert mask.shape == (320, 320) and 0.005 < mask.mean() < 0.5
    assert "--camera " + str(out / "camera.json") in run.stdout


def elsewhere_clip(t=12):
    """The stick figure over its coloured background: not e0 (whose background is blanked), as footage made
    elsewhere is not."""
    frames, masks = articulated_clip(t=t)
    e0 = np.full_like(frames[0], 255)
    e0[masks[0]] = frames[0][masks[0]]
    return frames, masks, e0


def test_a_video_not_started_from_e0_is_aligned_shifted_and_recorded(tmp_path):
    frames, masks, e0 = elsewhere_clip()
    e0 = np.roll(e0, 20, axis=1)  # the task camera sees the robot elsewhere
    e0_mask = np.roll(masks[0], 20, axis=1)
    video = write_mp4(tmp_path / "clip.mp4", frames, fps=25)
    seen = {}

    def aligner(mask, frame):  # stands in for the simulator's camera search
        seen["iou"], seen["e0_iou"] = iou(mask, masks[0]), iou(mask, e0_mask)
        camera = {"width": 128, "height": 96, "distance": 2.5, "height_offset": 0.5, "yaw_deg": -60.0,
                  "focal_length": 18.0, "horizontal_aperture": 20.955}
        return CameraAlignment(camera=camera, iou=0.9, shift_px=(4.0, -2.0), elevation_deg=11.3, fov_deg=60.4,
                               range_m=2.55, runner_up=None, tie_break=None, candidates=1, seconds=0.0)

    camera = {"width": 128, "height": 96, "distance": 3.0, "yaw_deg": -90.0}
    box = RobotPrompt(box=(20, 10, 90, 90))
    kwargs = dict(first_frame=FirstFrame(e0, e0_mask, camera), segmentation=SegmentationOptions("grabcut"),
                  output=OutputOptions(progress=False))
    b = build_bundle("h1", ImportedVideo(video, robot_prompt=box), alignment=AlignmentOptions(aligner=aligner),
                     camera_path=CameraPathOptions(speed=1.0), **kwargs)
    assert seen["iou"] > 0.6 > 0.2 > seen["e0_iou"]  # the box found the robot on the video's own first frame
    assert b.camera == {**camera, "distance": 2.5, "height_offset": 0.5, "yaw_deg": -60.0, "focal_length": 18.0,
                        "horizontal_aperture": 20.955}
    assert b.meta["camera_source"] == "aligned" and b.meta["camera_alignment"]["shift_px"] == (4.0, -2.0)
    moved = shift_images(masks[:1], (4.0, -2.0))[0]
    assert iou(b.masks[0], moved) > 0.6 and iou(b.masks[0], moved) > iou(b.masks[0], masks[0]) + 0.1  # moved

    def wrong(mask, frame):
        return dataclasses.replace(aligner(mask, frame), iou=0.4)

    with pytest.raises(AlignmentError, match="best IoU 0.40 < 0.75"):
        build_bundle("h1", ImportedVideo(video, robot_prompt=box), alignment=AlignmentOptions(aligner=wrong), **kwargs)
    with pytest.raises(ReferenceInputError, match="no camera search is available"):
        build_bundle("h1", ImportedVideo(video), **kwargs)


def test_align_never_keeps_the_task_camera_and_says_what_that_costs(tmp_path, capsys):
    frames, masks, e0 = elsewhere_clip()
    video = write_mp4(tmp_path / "clip.mp4", frames, fps=25)
    camera = {"width": 128, "height": 96, "distance": 3.0, "yaw_deg": -90.0}
    b = build_bundle("h1", ImportedVideo(video),
                     first_frame=FirstFrame(np.roll(e0, 20, axis=1), np.roll(masks[0], 20, axis=1), camera),
                     segmentation=SegmentationOptions("grabcut"), alignment=AlignmentOptions(mode="never"),
                     camera_path=CameraPathOptions(speed=1.0), output=OutputOptions(progress=False))
    assert b.camera == camera and b.meta["camera_source"] == "task"
    assert "--align_camera never keeps the task camera" in capsys.readouterr().out


def test_a_refused_alignment_keeps_the_first_frame_its_mask_and_the_candidates(tmp_path):
    """Issue 43 (1): a refused alignment pointed at a first_frame_mask.png that did not exist. Now OUT.rejected/ holds
    the first frame, the mask found on it and the two best cameras' renders over it, and the message names it."""
    from nil_ext.reference.camera_alignment import AmbiguousAlignmentError, pack_mask

    frames, masks, e0 = elsewhere_clip()
    video = write_mp4(tmp_path / "clip.mp4", frames, fps=25)

    def tied(mask, frame):
        camera = {"width": 128, "height": 96, "distance": 2.5, "height_offset": 0.5, "yaw_deg": 120.0,
                  "focal_length": 18.0, "horizontal_aperture": 20.955}
        runner = {"yaw_deg": -60.0, "elevation_deg": 11.0, "fov_deg": 60.0, "range_m": 2.55, "iou": 0.69}
        return CameraAlignment(camera=camera, iou=0.70, shift_px=(0.0, 0.0), elevation_deg=11.3, fov_deg=60.4,
                               range_m=2.55, runner_up=runner, tie_break=None, candidates=1, seconds=0.0,
                               candidate_masks=[pack_mask(mask), pack_mask(np.roll(mask, 5, axis=1))])

    out = tmp_path / "ref"
    with pytest.raises(AmbiguousAlignmentError, match=r"--camera_yaw 120 or --camera_yaw -60.*Kept for a look in "
                       r".*ref\.rejected/: first_frame\.png, first_frame_mask\.png, candidates\.png"):
        build_bundle("h1", ImportedVideo(video, robot_prompt=RobotPrompt(box=(20, 10, 90, 90))),
                     first_frame=FirstFrame(e0, masks[0], {"width": 128, "height": 96}),
                     segmentation=SegmentationOptions("grabcut"), alignment=AlignmentOptions(aligner=tied),
                     output=OutputOptions(out, progress=False))
    aside = tmp_path / "ref.rejected"
    for name in ("first_frame.png", "first_frame_mask.png", "candidates.png", "alignment.json"):
        assert (aside / name).is_file(), name
    assert not out.exists()
