"""A video that was not made from our first frame becomes a usable bundle (issue: real videos in).

The clip: H1's scripted walk rendered by the simulator from a viewpoint the task camera does not have (front-left,
from above, another field of view) over the textured ground, the camera following the robot. The simulator gives
the truth: the robot's masks and the camera's path. generate_reference.py, given only the video and a box around
the robot on its first frame, must align the task camera to it, segment the robot offline (GrabCut + flow), estimate
the camera's travel, and the walk task must then train from that camera.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from reference_helpers import write_mp4
from script_helpers import run_in_process

from nil_ext.reference.bundle import ReferenceBundle
from nil_ext.reference.quality import iou
from nil_ext.reference.synthetic_videos import composite
from nil_ext.reference.video_io import shift_images
from nil_ext.tasks.references import aligned_camera

ROOT = Path(__file__).resolve().parents[1]
VIDEO_CAMERA = dict(width=128, height=128, yaw_deg=-40.0, height_offset=0.8, focal_length=20.0, mode="follow_agent")
STRIDE = 4  # the 100 fps render -> a 25 fps clip, as a phone or a generator gives


@pytest.fixture(scope="module")
def clip_from_elsewhere(menagerie_available, tmp_path_factory):
    from nil_ext.reference.scripted import render_scripted_reference
    from nil_ext.scene.camera import FollowCameraCfg

    frames, masks, _, _, path = render_scripted_reference("h1", FollowCameraCfg(**VIDEO_CAMERA), num_frames=100)
    frames, masks, path = frames[::STRIDE], masks[::STRIDE], path[::STRIDE]
    frames = composite(frames, masks, "gradient", camera_shift_px_per_frame=(-1.5, 0.0))
    video = write_mp4(tmp_path_factory.mktemp("clip") / "clip.mp4", frames, fps=100 / STRIDE)
    return video, frames, masks, path


@pytest.fixture(scope="module")
def aligned_bundle(clip_from_elsewhere, tmp_path_factory):
    """generate_reference.py on the clip, given a loose box around the robot on its first frame."""
    video, frames, truth, path = clip_from_elsewhere
    ys, xs = np.nonzero(truth[0])
    box = f"{xs.min() - 6},{ys.min() - 6},{xs.max() + 6},{ys.max() + 6}"
    out = tmp_path_factory.mktemp("aligned") / "ref"
    run = run_in_process(out.parent, "generate_reference.py", [
        "--task", "NIL-H1-Walk", "--camera", '{"width": 64, "height": 64}', "--video", str(video), "--robot_box", box,
        "--segmenter", "grabcut", "--reference_speed", "1.25", "--out", str(out), "--no-progress"])
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "camera aligned to the video (h1 in its start pose): IoU" in run.stdout
    return out


def test_a_video_from_another_viewpoint_becomes_a_bundle_seen_from_its_camera(clip_from_elsewhere, aligned_bundle):
    video, frames, truth, path = clip_from_elsewhere
    out = aligned_bundle
    b = ReferenceBundle.load(out)

    # the task camera now looks as the video's did (front/back of a walking humanoid look alike: either yaw)
    alignment = b.meta["camera_alignment"]
    assert b.meta["camera_source"] == "aligned" and alignment["iou"] >= 0.75
    yaw = b.camera["yaw_deg"]
    assert min(abs((yaw - v + 180) % 360 - 180) for v in (-40.0, -140.0)) <= 15.0, yaw
    elevation = np.degrees(np.arctan2(b.camera["height_offset"], b.camera["distance"]))
    truth_elevation = np.degrees(np.arctan2(0.8, np.hypot(*(path[0, :2] - [0.0, 0.0]))))  # the base starts at x=y=0
    assert abs(elevation - truth_elevation) <= 12.0, (elevation, truth_elevation)

    # the masks follow the robot: every source frame against the truth, moved as the bundle's frames were
    fitted = np.stack([m for m in shift_images(_fit(truth, 64), alignment["shift_px"])])
    scores = [iou(b.masks[k * STRIDE], fitted[k]) for k in range(len(fitted))]
    assert np.mean(scores) > 0.75 and min(scores) > 0.5, np.round(scores, 2)
    assert b.quality["gate"]["passed"]

    # the walk task trains from the aligned camera
    from nil_ext.tasks.walk.walk_env_cfg import walk_env_cfg

    cfg = walk_env_cfg("h1", preset="cpu-smoke")
    cfg.set_reference(str(out))
    assert aligned_camera(out)["yaw_deg"] == yaw
    assert cfg.imitation.camera.yaw_deg == yaw and cfg.imitation.camera.distance == b.camera["distance"]
    assert cfg.scene.camera.spawn.focal_length == pytest.approx(b.camera["focal_length"])


@pytest.mark.slow
def test_the_walk_task_trains_and_plays_from_the_aligned_camera(aligned_bundle, tmp_path):
    """A few agent updates on the aligned bundle, then its checkpoint plays with the same camera (no flags)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "source" / "nil_ext"), os.environ.get("PYTHONPATH", "")])}
    train = subprocess.run([sys.executable, str(ROOT / "scripts" / "train.py"), "--task", "NIL-H1-Walk", "--headless",
                            "--preset", "cpu-smoke", "--reference", str(aligned_bundle),
                            "--max_iterations", "220", "--eval_steps", "5", "--run_name", "aligned"], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=900)
    assert train.returncode == 0, train.stdout[-3000:] + train.stderr[-3000:]
    yaw = json.loads((aligned_bundle / "bundle.json").read_text())["camera"]["yaw_deg"]
    assert f"'yaw_deg': {yaw}" in train.stdout  # the task took the bundle's camera
    checkpoint = sorted((tmp_path / "logs").rglob("model_*.pt"), key=lambda p: int(p.stem.split("_")[1]))[-1]
    play = subprocess.run([sys.executable, str(ROOT / "scripts" / "play.py"), "--task", "NIL-H1-Walk", "--checkpoint",
                           str(checkpoint), "--steps", "10"], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=900)
    assert play.returncode == 0, play.stdout[-3000:] + play.stderr[-3000:]
    assert f"'yaw_deg': {yaw}" in play.stdout


def _fit(masks, size):
    from nil_ext.reference.video_io import fit_to_camera

    return fit_to_camera(masks.astype(np.uint8) * 255, size, size) >= 128
