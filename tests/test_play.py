"""scripts/play.py: one episode of a trained policy -> side-by-side video, reward plot, checked exports and layout."""

import glob
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from script_helpers import REPO, load_script, run_in_process, script_path


def test_play_latest_checkpoint_writes_video_plot_exports_and_layout(smoke_run):
    cwd, run_dir = smoke_run  # the main job's run (tests/conftest.py)
    for name in ("policy.pt", "policy.onnx"):  # train's own export, so that play's is seen to be rewritten
        os.remove(os.path.join(run_dir, "exported", name))

    play = [sys.executable, script_path("play.py"), "--task", "NIL-H1-Walk", "--steps", "20"]  # no --checkpoint: latest
    result = subprocess.run(play, cwd=cwd, capture_output=True, text=True, timeout=900)
    out = result.stdout + result.stderr
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    assert os.path.getsize(os.path.join(run_dir, "play", "side_by_side.mp4")) > 1000
    import cv2

    image = cv2.imread(os.path.join(run_dir, "play", "rewards.png"))
    assert image is not None and image.shape[0] > 200 and image.shape[1] > 200 and image.std() > 5
    exported = os.path.join(run_dir, "exported")
    assert os.path.getsize(os.path.join(exported, "policy.pt")) > 0
    assert os.path.getsize(os.path.join(exported, "policy.onnx")) > 0
    layout = json.loads(open(os.path.join(exported, "observation_layout.json")).read())
    terms = layout["observation"]["terms"]
    assert [t["name"] for t in terms][:2] == ["joint_pos", "joint_vel"] and terms[1]["scale"] == 0.05
    assert sum(t["size"] for t in terms) == layout["observation"]["dim"]
    assert layout["action"]["dim"] == 19 and len(layout["action"]["terms"][0]["joint_names"]) == 19  # H1
    assert layout["action"]["terms"][0]["low_pass_alpha"] == 1.0  # the targets' filter, off by default
    assert np.isclose(layout["control_dt"], 0.04)  # the walk profile's 25 Hz
    assert layout["reference_steps"] == 101  # what the phase observation divides by: 4 s retimed to 25 fps
    # the default (track) profile observes the reference's robot: its path at full speed comes with the policy
    assert terms[-1]["name"] == "reference" and terms[-1]["size"] == 4
    travel = np.array(layout["reference_path"]["travel"])
    # 1.25 m/s along x for 4 s, from rest over the first 0.5 s: 4.69 m
    assert travel.shape == (101, 2) and np.allclose(travel[-1], [4.6875, 0.0], atol=0.05)

    match = re.search(r"max \|onnxruntime - torch\| = ([0-9.e+-]+)", out)
    assert match, out[-3000:]
    assert float(match.group(1)) < 1e-4
    assert os.path.join(run_dir, "play", "side_by_side.mp4") in out  # says where it wrote things


def test_viewer_without_isaac_sim_says_what_it_needs(tmp_path):
    from isaaclab_physx.app import KitLauncher

    if KitLauncher.is_available() and torch.cuda.is_available():
        pytest.skip("Isaac Sim and a GPU are here: --viz kit would open the viewer")
    result = run_in_process(tmp_path, "play.py", ["--task", "NIL-H1-Walk", "--viz", "kit"])
    assert result.returncode == 2
    assert "isaaclab[isaacsim]" in result.stderr and "side_by_side.mp4" in result.stderr


def test_reward_plot_groups_terms_into_labelled_panels(tmp_path):
    import cv2

    from nil_ext.evaluation.plots import plot_reward_terms

    steps = np.arange(50)
    terms = {"total": np.sin(steps / 5), "reward/iou": np.cos(steps / 5), "similarity/iou": np.cos(steps / 5),
             "reward/torque": -0.1 * np.abs(np.sin(steps / 3)), "env_reward": np.exp(-((steps / 50 - 1.25) ** 2))}
    path = plot_reward_terms(terms, tmp_path / "plot" / "rewards.png", title="NIL-H1-Walk run/model_1.pt", dt=0.01)
    image = cv2.imread(str(path))
    assert image is not None and image.shape[0] > image.shape[1] * 0.7  # three panels stacked


def test_a_shipped_policy_plays_into_logs_and_a_run_into_its_own_folder(tmp_path, monkeypatch):
    """Where play.py writes (its output_root): a policy in policies/<name>/ into logs/play/<name>/ under the current
    folder, so that a fresh clone stays as committed; a training run's checkpoint beside itself; --output_dir wins."""
    play = load_script("play.py")
    monkeypatch.chdir(tmp_path)
    shipped = os.path.join(REPO, "policies", "h1_walk", "model_1.pt")
    assert play.output_root(shipped, None) == str(tmp_path / "logs" / "play" / "h1_walk")
    run = str(tmp_path / "logs" / "bro" / "nil_h1_walk" / "run" / "model_1.pt")
    assert play.output_root(run, None) == os.path.dirname(run)
    assert play.output_root(shipped, "elsewhere") == str(tmp_path / "elsewhere")


@pytest.mark.slow  # ~20 s; where it writes is checked above (output_root), playing itself in the test before
def test_playing_a_shipped_policy_leaves_its_folder_as_committed(tmp_path, menagerie_available):
    """A fresh clone stays clean: a policy in policies/ plays into logs/play/<policy>/, not into its own folder."""
    folder = os.path.join(REPO, "policies", "h1_walk")
    checkpoint = glob.glob(os.path.join(folder, "model_*.pt"))[0]

    def snapshot():
        return {os.path.join(d, f): os.stat(os.path.join(d, f)).st_mtime_ns for d, _, fs in os.walk(folder) for f in fs}

    before = snapshot()
    play = [sys.executable, script_path("play.py"), "--task", "NIL-H1-Walk", "--checkpoint", checkpoint, "--steps", "5",
            "--headless"]
    result = subprocess.run(play, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert snapshot() == before
    out = tmp_path / "logs" / "play" / "h1_walk"
    assert (out / "play" / "side_by_side.mp4").stat().st_size > 1000
    assert (out / "exported" / "policy.onnx").stat().st_size > 0
    assert str(out / "play" / "side_by_side.mp4") in result.stdout + result.stderr
