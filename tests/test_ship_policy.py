"""ship_policy.py on a checkpoint already in policies/<name>/: judged again in place, nothing copied or deleted."""

import importlib.util
import os

import torch
from script_helpers import script_path


def load_ship_policy():
    spec = importlib.util.spec_from_file_location("ship_policy", script_path("ship_policy.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_shipped_checkpoint_is_judged_again_in_place(tmp_path, monkeypatch):
    ship = load_ship_policy()
    folder = tmp_path / "policies" / "h1_walk"
    (folder / "params").mkdir(parents=True)
    (folder / "params" / "env.json").write_text("{}")
    (folder / "kept.txt").write_text("what was shipped stays")
    torch.save({"iteration": 1}, folder / "model_1.pt")
    calls = []

    def run(script, *args):  # play.py writes the strip that ship_policy copies beside the checkpoint
        calls.append((script, args))
        if script == "play.py":
            (folder / "play").mkdir(exist_ok=True)
            (folder / "play" / "strip.png").write_bytes(b"png")

    monkeypatch.setattr(ship, "REPO", str(tmp_path))
    monkeypatch.setattr(ship, "run", run)
    monkeypatch.setattr(ship, "copy_run", lambda *a: (_ for _ in ()).throw(AssertionError("copied onto itself")))
    monkeypatch.setattr(ship, "make_reports_portable", lambda out: None)
    monkeypatch.chdir(tmp_path)
    ship.main(["--task", "NIL-H1-Walk", "--checkpoint", os.path.join("policies", "h1_walk", "model_1.pt"),
               "--name", "h1_walk"])
    assert (folder / "kept.txt").read_text() == "what was shipped stays" and (folder / "model_1.pt").is_file()
    assert [c[0] for c in calls] == ["play.py", "evaluate.py"]
    assert all(os.path.join("policies", "h1_walk", "model_1.pt") in args for _, args in calls)
    assert (folder / "strip.png").read_bytes() == b"png"


def test_a_shipped_checkpoint_keeps_the_envs_training_state_not_the_optimisers(tmp_path):
    """A fine-tune from a shipped policy goes on from its camera speed and its actions' reach (play ignores them)."""
    ship = load_ship_policy()
    run = tmp_path / "run"
    (run / "params").mkdir(parents=True)
    (run / "params" / "env.json").write_text('{"commands": {"imitation": {"reference": null}}, "robot_config": "h1.toml"}')
    (run / "params" / "agent.json").write_text("{}")
    env_state = {"imitation": {"camera_speed": 0.97}, "actions/joint": {"reach_step": 4000}}
    torch.save({"alg": {"actor": {"w": torch.ones(1)}, "actor_opt": {"lr": 1}}, "env": env_state}, run / "model_9.pt")
    shipped = torch.load(ship.copy_run(str(run / "model_9.pt"), str(tmp_path / "out")), weights_only=False)
    assert shipped["env"] == env_state
    assert list(shipped["alg"]) == ["actor"], "optimiser states are for the run, not the shipped policy"
