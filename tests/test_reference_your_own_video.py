"""Your own video, by default (issue 31): clips like a user's Kling or Sora export, made by the simulator.

H1 walks its scripted gait, already mid-stride in the first frame, seen from the front-left (yaw 130 deg; the task
camera looks from the side, -90), over a light grey grid floor with a soft shadow under its feet and a watermark
(a dark robot), or a light robot on a light floor; 16:9 and 4:3 frames (nil_ext.reference.example_clip). The
truth masks measure what the import finds with no prompt, and the gate must refuse the masks a simulator-mask prompt
gives (the issue's case 1: a sliver that shrinks to a blob).
"""

import numpy as np
import pytest

from nil_ext.reference.example_clip import ASPECTS, STYLES, style_clip
from nil_ext.reference.quality import iou, quality_gate, quality_report
from nil_ext.reference.robot_finder import find_robot
from nil_ext.reference.segmenters import GrabCutSegmenter
from nil_ext.reference.video_import import starts_from
from nil_ext.reference.video_io import fit_to_camera

SIZE = 144  # a square task camera: the pipeline's work size for these clips (their short side)
TARGET_MEAN, TARGET_FRAME, TARGET_SHARE = 0.85, 0.7, 0.9  # the bar: mean IoU, per-frame IoU in 90 % of frames


@pytest.fixture(scope="module")
def walk(menagerie_available):
    """The render (frames, truth masks) and the task camera's e0 and mask at SIZE px (the side view, start pose)."""
    from nil_ext.reference.example_clip import render_walk
    from nil_ext.reference.first_frame import render_first_frame
    from nil_ext.scene.camera import FollowCameraCfg

    frames, masks, _ = render_walk(seconds=1.6)
    e0, e0_mask, _ = render_first_frame("h1", FollowCameraCfg(width=SIZE, height=SIZE))
    return frames, masks, e0, e0_mask


def _square(video, truth):
    return fit_to_camera(video, SIZE, SIZE), fit_to_camera(truth.astype(np.uint8) * 255, SIZE, SIZE) >= 128


@pytest.mark.parametrize("aspect", list(ASPECTS))
@pytest.mark.parametrize("style", list(STYLES))
def test_the_robot_is_found_on_the_first_frame_without_a_prompt(walk, style, aspect):
    video, truth = _square(*style_clip(*walk[:2], style, aspect))  # as the pipeline sees it for a square camera
    found = find_robot(video)
    assert iou(found.mask, truth[0]) >= 0.9, found.summary()
    assert "motion" in found.how
    # the watermark (bottom-right corner) and the shadow (under the feet) are left out
    h, w = truth.shape[1:]
    assert not found.mask[int(0.85 * h) :, int(0.8 * w) :].any()
    assert (found.mask & ~truth[0]).sum() <= 0.1 * truth[0].sum()


@pytest.mark.parametrize("style", list(STYLES))
def test_the_masks_follow_the_robot_with_nothing_but_an_offline_segmenter(walk, style):
    video, truth = _square(*style_clip(*walk[:2], style, "16:9"))
    masks = GrabCutSegmenter(progress=False)(video, find_robot(video).mask)
    scores = np.array([iou(m, t) for m, t in zip(masks, truth, strict=True)])
    assert scores.mean() >= TARGET_MEAN and (scores >= TARGET_FRAME).mean() >= TARGET_SHARE, scores.round(2)


def test_a_light_floor_does_not_pass_for_e0s_blank_background(walk):
    frames, masks, e0, e0_mask = walk
    # the robot centred where the task camera puts it, over a floor almost as white as e0's background
    video = np.where(masks[..., None], frames, np.uint8(238))
    first = fit_to_camera(video[:1], SIZE, SIZE)[0]
    assert starts_from(first, e0)  # the old check, pixels alone: taken for a video made from e0 (case 1)
    assert not starts_from(first, e0, e0_mask)  # the outline differs: found on its own instead
    noisy = np.clip(e0.astype(np.int16) + np.random.default_rng(0).integers(-12, 13, e0.shape), 0, 255)
    assert starts_from(noisy.astype(np.uint8), e0, e0_mask)  # a generated video's first frame still counts


def test_masks_prompted_by_the_simulators_side_view_are_refused_with_the_reason(walk):
    """Case 1: the task camera's mask of e0 (H1's side, start pose) prompts a clip seen from the front-left. GrabCut
    with the narrow band of the issue's release follows that sliver (the default's wider band finds the robot anyway,
    measured mean IoU 0.89: it would not make the wrong masks this test needs)."""
    frames, masks, e0, e0_mask = walk
    video, truth = _square(*style_clip(frames, masks, "dark_grid", "16:9"))
    wrong = GrabCutSegmenter(band=0.03, progress=False)(video, e0_mask)
    assert np.mean([iou(m, t) for m, t in zip(wrong, truth, strict=True)]) < 0.5  # the wrong robot indeed
    robot = find_robot(video).mask  # the robot as the video shows it
    report = quality_report(wrong, e0_mask, robot=robot)
    assert quality_gate(quality_report(wrong, e0_mask))["passed"]  # steadiness alone passes it, as in the issue
    gate = quality_gate(report)
    assert not gate["passed"] and report["robot_iou"] < 0.5
    assert "not the robot the video shows" in gate["reason"], gate["reason"]
    assert len(report["off_shape_frames"]) > 0.5 * len(wrong)  # and most of its frames are off the robot's area
    truth_gate = quality_gate(quality_report(truth, truth[0], robot=truth[0]))
    assert truth_gate["passed"], truth_gate["reason"]  # the robot's own masks keep to its shape while it walks


@pytest.mark.slow  # ~70 s; the default run searches gait poses in test_reference_web_clip's import (a quarter stride)
def test_the_camera_is_found_on_a_mid_stride_first_frame(walk):
    """Case 2: the start pose alone fits the mid-stride first frame from no camera (the issue measured IoU 0.63);
    the search over the scripted gait's poses finds the pose and the camera (yaw 130 deg, or its front/back mirror).
    Two gait poses (0 and 1/2 stride: the default's four score 0.85, 0.79, 0.87, 0.77) keep the test to three searches."""
    from nil_ext.reference.camera_alignment import CameraSearchCfg
    from nil_ext.reference.camera_search import align_camera_in_subprocess

    frames, masks = walk[:2]
    video, truth = _square(frames[:1], masks[:1])
    found = align_camera_in_subprocess("h1", truth[0], video[0], CameraSearchCfg(gait_poses=2))
    print(found.summary(), found.poses_searched)
    start = found.poses_searched[0]
    assert start["pose"] == "start pose" and start["iou"] < 0.75  # below the bar: the search went on
    assert found.pose.startswith("scripted gait") and found.iou >= 0.8 > start["iou"] + 0.1
    assert min(abs((found.camera["yaw_deg"] - v + 180) % 360 - 180) for v in (130.0, -50.0)) <= 15.0
    assert found.runner_up is not None  # the mirror is reported
    found.check(0.75)


def test_the_walkthrough_clip_is_written_as_an_mp4(menagerie_available, tmp_path):
    """docs/your_own_video.md starts from `python -m nil_ext.tools example-clip clip.mp4`: a clip any import reads."""
    import subprocess
    import sys

    from nil_ext.reference.video_io import load_video

    out = tmp_path / "clip.mp4"
    run = subprocess.run([sys.executable, "-m", "nil_ext.tools", "example-clip", str(out), "--style", "light_floor",
                          "--aspect", "4:3", "--seconds", "0.4"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    frames, fps = load_video(out, None, None)
    assert frames.shape == (10, 144, 192, 3) and fps == pytest.approx(25.0)
    assert frames[0].std() > 10  # a picture, not a blank
