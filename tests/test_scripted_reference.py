"""The scripted (synthetic) reference rendered by the simulator, and Stage 1 on real rendered robot frames."""

import json

import numpy as np
import pytest
import torch
from script_helpers import run_in_process

from nil_ext.reference.scripted import RAMP_S, Gait, travelled
from nil_ext.reference.segmenters import BackgroundSegmenter


def test_the_scripted_walk_starts_from_rest_as_its_swing_ramps_in():
    """Its base used to glide at full speed from frame 0 on feet that barely moved: a robot starting at rest cannot
    be there (the shipped H1 policy's mask IoU was 0.02-0.05 from 0.4 to 1.2 s in). The speed now ramps in with the
    swing, continuous, and runs at the gait's speed after RAMP_S."""
    gait = Gait(speed=1.25, frequency=1.0, swing={})
    t = torch.linspace(0.0, 4.0, 401)
    x = travelled(gait, t)
    speed = torch.diff(x) / torch.diff(t)
    assert x[0] == 0 and speed[0] < 0.02 and (torch.diff(speed) >= -1e-4).all()  # from rest, never slowing
    assert torch.allclose(speed[t[1:] > RAMP_S + 0.01], torch.tensor(1.25), atol=1e-3)
    assert float(x[-1]) == pytest.approx(1.25 * (4.0 - RAMP_S / 2), rel=1e-4)


@pytest.fixture(scope="module")
def walk_clip(menagerie_available):
    from nil_ext.reference.scripted import GAITS, SOURCE_FPS, render_scripted_reference
    from nil_ext.scene.camera import FollowCameraCfg

    frames, masks, fps, camera, path = render_scripted_reference("h1", FollowCameraCfg(width=224, height=224), num_frames=16)
    return frames, masks, fps, camera, path, GAITS["h1"].speed, SOURCE_FPS


def test_scripted_walk_moves_forward_with_the_camera(walk_clip):
    frames, masks, fps, camera, path, speed, source_fps = walk_clip
    assert frames.shape == (16, 224, 224, 3) and masks.shape == (16, 224, 224)
    assert masks.reshape(16, -1).sum(1).min() > 30, "the robot left the camera's view"
    moved = path[-1, 0] - path[0, 0]  # 0.15 s in: the speed still ramping in with the swing, from rest
    assert moved == pytest.approx(speed * (15 / source_fps) ** 2 / (2 * RAMP_S), rel=1e-3)
    assert camera["width"] == 224 and camera["yaw_deg"] == -90.0
    # the legs move: the masks of a gait differ from frame to frame
    assert (masks[0] != masks[15]).mean() > 0.002
    # and every frame's rgb shows the pose of its own mask (the robot renders dark on the light ground and sky)
    dark = frames.mean(-1) < 60
    agreement = (dark & masks).sum((1, 2)) / (dark | masks).sum((1, 2))
    assert agreement.min() > 0.9, f"rgb vs mask IoU per frame {np.round(agreement, 2)}"


def test_background_segmenter_recovers_rendered_robot_masks(walk_clip):
    """On the plain background the segmenter is made for (e0's blanked background, as a generator keeps it)."""
    from nil_ext.reference.first_frame import blank_background

    frames, masks = walk_clip[0], walk_clip[1]
    plain = np.stack([blank_background(f, m) for f, m in zip(frames, masks, strict=True)])
    predicted = BackgroundSegmenter(progress=False)(plain, masks[0])
    iou = (predicted & masks).reshape(len(masks), -1).sum(1) / (predicted | masks).reshape(len(masks), -1).sum(1)
    assert iou.min() > 0.9, f"IoU per frame {np.round(iou, 3)}"


def test_generate_reference_script_writes_a_scripted_bundle(tmp_path, menagerie_available):
    out = tmp_path / "h1_walk"
    run = run_in_process(tmp_path, "generate_reference.py", [
        "--robot", "h1", "--generator", "scripted", "--num-frames", "10", "--camera",
        json.dumps({"width": 64, "height": 64}), "--out", str(out), "--no-progress"])
    assert run.returncode == 0, run.stdout + run.stderr
    from nil_ext.reference.bundle import ReferenceBundle

    bundle = ReferenceBundle.load(out)
    assert bundle.meta["synthetic"] is True and bundle.robot == "h1"
    assert bundle.fps == 100.0 and bundle.frames.shape[1:] == (64, 64, 3)
    assert bundle.camera_path is not None and len(bundle.camera_path) == len(bundle.frames)
    assert (out / "video.mp4").is_file() and (out / "strip.png").is_file()
