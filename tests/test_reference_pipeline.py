"""Stage 1 end to end: a bundle from an imported video, from a tiny generator through the script,
and clear errors (nothing left that looks like a bundle) for bad input."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from reference_helpers import articulated_clip, save_tiny_wan, write_mp4, write_png

from nil_ext.reference.bundle import ReferenceBundle
from nil_ext.reference.errors import ReferenceInputError
from nil_ext.reference.pipeline import bundle_from_frames, make_reference
from nil_ext.reference.quality import iou
from nil_ext.reference.retiming import output_times

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "generate_reference.py"


def script_main():
    spec = importlib.util.spec_from_file_location("generate_reference", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def first_frame(tmp_path, frames, masks):
    return write_png(tmp_path / "e0.png", frames[0]), write_png(
        tmp_path / "e0_mask.png", masks[0].astype(np.uint8) * 255
    )


def test_bundle_from_an_imported_video(tmp_path):
    frames, truth = articulated_clip(t=12)
    video = write_mp4(tmp_path / "clip.mp4", frames, fps=25)
    camera = {"width": 128, "height": 96, "distance": 3.0, "fov": 60.0}
    bundle = make_reference(
        frames[0],
        truth[0],
        robot="h1",
        camera=camera,
        video=video,
        segmenter="background",
        out=tmp_path / "ref",
        progress=False,
    )
    loaded = ReferenceBundle.load(tmp_path / "ref")
    assert loaded.num_frames == 45 and loaded.fps == 100.0  # 11 source intervals x 4 + 1
    assert loaded.camera == camera and loaded.robot == "h1"
    assert loaded.meta["segmenter"] == "background" and loaded.meta["source"] == "video"
    assert loaded.meta["source_fps"] == pytest.approx(25) and loaded.meta["synthetic"] is False
    assert iou(loaded.masks[-1], truth[-1]) > 0.85
    np.testing.assert_array_equal(loaded.frames, bundle.frames)


def test_bundle_from_frames_retimes_the_camera_path(tmp_path):
    frames, masks = articulated_clip(t=9)
    path = np.stack([np.arange(9) * 0.1, np.zeros(9), np.ones(9), np.zeros(9)], axis=1)
    b = bundle_from_frames(
        frames,
        masks,
        25.0,
        robot="a1",
        camera={"width": 128, "height": 96},
        camera_path=path,
        out=tmp_path / "ref",
        progress=False,
    )
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


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        ("unknown generator", "unknown generator 'no-such-video-model'.*known families"),
        ("empty mask", "first-frame mask is empty"),
        ("short video", r"short\.mp4 has 5 frames.*at least 8"),
        ("unreadable video", r"unreadable video .*bad\.mp4"),
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


def test_pipeline_needs_one_source(tmp_path):
    frames, masks = articulated_clip(t=1)
    with pytest.raises(ReferenceInputError, match="exactly one"):
        make_reference(frames[0], masks[0], robot="h1", camera={"width": 128, "height": 96}, segmenter="background")
