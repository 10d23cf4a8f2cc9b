"""scripts/train.py end to end on the test task: SIGTERM, SIGKILL + --resume, and the PPO path."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from script_helpers import REPO, script_path

TASK = "bro_helpers:Bro-Pendulum-v0"


def launch(cwd: Path, *args: str) -> subprocess.Popen:
    pythonpath = os.pathsep.join([os.path.join(REPO, "source", "nil_ext"), os.path.join(REPO, "tests")])
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=pythonpath)
    cmd = [sys.executable, script_path("train.py"), "--task", TASK, "--device", "cpu", *args]
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def checkpoints(run_dir: Path) -> dict[int, Path]:
    return {int(m.group(1)): run_dir / f for f in os.listdir(run_dir) if (m := re.fullmatch(r"model_(\d+)\.pt", f))}


def wait_for_checkpoint(root: Path, iteration: int, proc: subprocess.Popen, timeout: float = 120.0) -> Path:
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, proc.stdout.read()
        for run in root.glob("*/"):
            if iteration in checkpoints(run):
                return run
        time.sleep(0.2)
    raise TimeoutError(f"no model_{iteration}.pt under {root}")


def load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)


def test_sigterm_writes_a_last_checkpoint(tmp_path):
    proc = launch(tmp_path, "--max_iterations", "100000", "agent.algorithm.gamma=0.995")
    run = wait_for_checkpoint(tmp_path / "logs/bro/bro_pendulum", 50, proc)
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    last = max(checkpoints(run))
    assert last > 50
    state = load(checkpoints(run)[last])
    assert state["iteration"] == last and state["agent"] == "bro" and state["task"] == "Bro-Pendulum-v0"
    assert (run / "params/agent.yaml").exists() and (run / "params/env.json").exists()
    assert json.loads((run / "params/agent.json").read_text())["algorithm"]["gamma"] == 0.995
    settings = json.loads((run / "params/overrides.json").read_text())  # what play / evaluate replay
    assert settings["task"] == "Bro-Pendulum-v0" and settings["overrides"] == ["agent.algorithm.gamma=0.995"]
    assert (run / "exported/policy.onnx").exists() and (run / "exported/policy.pt").exists()


def test_ablation_is_refused_for_a_task_without_the_nil_reward(tmp_path):
    proc = launch(tmp_path, "env.imitation.reward.ablation=no_video")
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "[ERROR] 'env.imitation.reward.ablation=no_video': env has no 'imitation'" in output
    assert "Traceback" not in output, output


def test_sigkill_then_resume_continues_the_run(tmp_path):
    proc = launch(tmp_path, "--max_iterations", "100000")
    killed_run = wait_for_checkpoint(tmp_path / "logs/bro/bro_pendulum", 100, proc)
    proc.kill()
    proc.wait()
    last = max(checkpoints(killed_run))
    before = load(checkpoints(killed_run)[last])

    proc = launch(tmp_path, "--resume", "--max_iterations", "60")
    output, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, output
    assert f"Resuming from {checkpoints(killed_run)[last]}" in output
    new_run = next(r for r in (tmp_path / "logs/bro/bro_pendulum").glob("*/") if r != killed_run)
    after = load(checkpoints(new_run)[last + 60])
    assert after["iteration"] == last + 60 and after["transitions"] == before["transitions"] + 60 * 4
    # the replay buffer is not saved by default: the loaded policy refills it for learning_starts steps (and at
    # least a batch) before updates resume
    assert "No replay buffer saved" in output
    cfg = before["cfg"]
    first = max(cfg["learning_starts"], -(-cfg["algorithm"]["batch_size"] // 4))
    updates = cfg["algorithm"]["updates_per_step"] * (60 - first + 1)
    assert after["alg"]["critic_opt"]["state"][0]["step"] == before["alg"]["critic_opt"]["state"][0]["step"] + updates
    assert after["normalizer"]["count"] == before["normalizer"]["count"] + 60 * 4
    assert after["tb_step"] >= before["tb_step"] and after["tb_step"] > last


def test_ppo_smoke(tmp_path):
    pytest.importorskip("rsl_rl")
    proc = launch(tmp_path, "--agent", "ppo", "--max_iterations", "3")
    output, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, output
    (run,) = (tmp_path / "logs/ppo/ppo_pendulum").glob("*/")
    assert checkpoints(run), output
    assert (run / "params/agent.json").exists()
