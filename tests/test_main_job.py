"""The README's main job, trimmed: train BRO on NIL-H1-Walk (cpu-smoke) and leave a checkpoint, logs and a video.

This is the end-to-end test: reference bundle -> env -> reward -> agent updates -> checkpoint -> export -> video.
"""

import glob
import json
import os
import subprocess
import sys

import pytest
import torch
from script_helpers import script_path


def test_main_job_leaves_checkpoint_logs_and_video_and_evaluates(smoke_run, tmp_path):
    _, run_dir = smoke_run
    with open(os.path.join(run_dir, "params", "env.json")) as f:
        reward_cfg = json.load(f)["commands"]["imitation"]["reward"]
    assert (reward_cfg["ablation"], reward_cfg["use_video"], reward_cfg["use_penalties"]) == ("only_iou", False, False)
    checkpoint = torch.load(os.path.join(run_dir, "model_60.pt"), map_location="cpu", weights_only=False)
    assert checkpoint["iteration"] == 60 and checkpoint["task"] == "NIL-H1-Walk" and checkpoint["agent"] == "bro"
    assert glob.glob(os.path.join(run_dir, "events.out.tfevents.*"))
    assert os.path.getsize(os.path.join(run_dir, "videos", "side_by_side.mp4")) > 1000
    policy = torch.jit.load(os.path.join(run_dir, "exported", "policy.pt"))
    obs_dim = checkpoint["normalizer"]["mean"].shape[-1]
    actions = policy(torch.zeros(3, obs_dim))
    assert actions.shape == (3, 19) and torch.isfinite(actions).all()  # H1 has 19 actuated joints
    # the observation's terms, named, for a later run under a profile that observes more (bro.warm_start)
    names = [name for name, _ in checkpoint["observation_terms"]]
    assert names[0] == "joint_pos" and names[-1] == "reference"  # the default track profile observes the reference
    assert sum(size for _, size in checkpoint["observation_terms"]) == obs_dim

    report_path = tmp_path / "evaluation.json"
    model = os.path.join(run_dir, "model_60.pt")  # twice: two "training seeds" pool into one row
    cmd = [sys.executable, script_path("evaluate.py"), "--task", "NIL-H1-Walk", "--checkpoint", model, model,
           "--steps", "10", "--seeds", "0", "--num_envs", "2", "--sampled", "--json", str(report_path)]
    result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(report_path.read_text())
    assert [r["policy"] for r in report["results"]] == ["random", "standing", "NIL (BRO)", "NIL sampled"]
    for row in report["results"]:
        assert 0 <= row["env_reward_mean"] <= 40 and 0 <= row["iou_mean"] <= 1  # 10 steps of 40 ms, in 10 ms units
    assert [r["episodes"] for r in report["results"]] == [2, 2, 4, 4]
    first, second, first_sampled, _ = report["per_checkpoint"]
    assert first_sampled["policy"] == "NIL sampled" and first_sampled["checkpoint"] == model
    assert first["checkpoint"] == model and first["episodes"] == 2
    assert first["env_reward_mean"] == second["env_reward_mean"], "same policy, same seeds: the same episodes"
    deterministic, sampled = report["results"][2:]
    assert sampled["env_reward_mean"] != deterministic["env_reward_mean"], "samples are not tanh(mean)"
    standing = report["results"][1]
    assert abs(standing["forward_speed_mean"]) < 0.1, "the zero action holds the start pose: no forward speed"
    # the fidelity columns: pace, posture and heading, for every row (floors included)
    for row in report["results"]:
        assert 0 <= row["pose_iou_mean"] <= 1 and row["heading_error_deg_mean"] >= 0
        assert row["torso_heading_error_deg_mean"] is not None, "H1's robot file names its torso"
    # the scripted walk's mean speed: 1.25 m/s after starting from rest over 0.5 s of its 4
    assert report["results"][0]["reference_speed"] == pytest.approx(1.17, abs=0.02)
    assert abs(standing["speed_ratio_mean"]) < 0.1 and standing["heading_error_deg_mean"] < 10
    assert standing["pose_iou_mean"] > 0.3, "standing in the start pose looks like the reference's first frames"
    assert "NIL (BRO)" in result.stdout and "expert" in result.stdout
    assert f"NIL (BRO), {model}: env reward" in result.stdout, "one line per checkpoint, to pick one"

