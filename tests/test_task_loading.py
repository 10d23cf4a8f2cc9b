"""What the scripts share: reading a checkpoint's run settings so that play and evaluate set the task up alike."""

import importlib.util
import json
import math
import os

import pytest
import torch
from script_helpers import REPO, script_path

from nil_ext.errors import CheckpointError
from nil_ext.task_loading import load_cfg, run_settings, trained_reference


def fake_run(root, name: str, decimation: int, reference: str = "refs/a1_walk", action_scale: float = 0.25) -> str:
    """A run folder as train.py leaves it: params/env.json beside model_*.pt."""
    run = root / name
    (run / "params").mkdir(parents=True)
    env = {"preset": "cpu", "decimation": decimation, "sim": {"dt": 0.005}, "actions": {"joint": {"scale": action_scale}},
           "imitation": {"camera": {"mode": "reference_path"}, "reference": reference}}
    (run / "params" / "env.json").write_text(json.dumps(env))
    (run / "model_10.pt").write_bytes(b"")
    return str(run / "model_10.pt")


def test_run_settings_of_an_older_run_are_read_from_its_env_json(tmp_path):
    """Runs from before params/overrides.json: the factory arguments and the action scale's override, from env.json."""
    assert run_settings(fake_run(tmp_path, "a", decimation=4)) == {
        "factory": {"preset": "cpu", "profile": "paper", "camera_mode": "reference_path", "control_hz": 50.0},
        "overrides": ["env.actions.joint.scale=0.25"],
        "reference": "refs/a1_walk", "robot_config": None}  # no profile recorded: an older run
    assert run_settings(str(tmp_path / "elsewhere" / "model_1.pt")) == {}


def test_a_run_is_rebuilt_from_its_recorded_factory_arguments_and_overrides(tmp_path, menagerie_available):
    """What train.py records (params/overrides.json) is what play.py and evaluate.py replay: the factory's arguments,
    the overrides in order (but the replaying script's own num_envs), play mode, then the replaying line's own."""
    from nil_ext.overrides import OverrideError, apply_overrides
    from nil_ext.task_loading import (
        control_rate_hz,
        import_tasks,
        load_cfg,
        recorded_factory_args,
        run_env_cfg,
        save_run_settings,
    )

    import_tasks("NIL-A1-Walk")
    trained = load_cfg("NIL-A1-Walk", "env_cfg_entry_point", preset="cpu-smoke", control_hz=50)
    overrides = apply_overrides({"env": trained}, ["env.actions.joint.scale=0.1", "env.rewards.alive.weight=0",
                                                   "env.scene.num_envs=7", "env.imitation.reward.ablation=only_iou"])
    checkpoint = fake_run(tmp_path, "a", decimation=4)
    factory = recorded_factory_args("NIL-A1-Walk", trained, {"preset": "cpu-smoke", "control_hz": 50})
    assert factory == {"preset": "cpu-smoke", "camera_mode": "reference_path", "control_hz": 50, "profile": "track"}
    save_run_settings(os.path.join(os.path.dirname(checkpoint), "params"), "NIL-A1-Walk", factory, overrides, trained)
    run = run_settings(checkpoint)  # overrides.json, not env.json (which says preset cpu, 0.25)
    assert run["factory"] == factory and run["overrides"] == overrides and run["task"] == "NIL-A1-Walk"

    replayed = run_env_cfg("NIL-A1-Walk", run, ["env.rewards.iou.weight=0.5"], num_envs=2)
    assert control_rate_hz(replayed) == 50.0 and replayed.actions.joint.scale == 0.1 and replayed.preset == "cpu-smoke"
    assert replayed.rewards.alive.weight == 0 and replayed.rewards.iou.weight == 0.5
    assert replayed.imitation.reward.ablation == "only_iou" and not replayed.imitation.reward.use_video
    assert replayed.scene.num_envs == 2, "the replaying script's own num_envs, not the run's"
    assert replayed.curriculum is None and replayed.imitation.camera_speed == 1.0  # play mode
    with pytest.raises(OverrideError, match="takes overrides of env. only"):
        run_env_cfg("NIL-A1-Walk", run, ["agent.algorithm.gamma=0.9"])
    run["overrides"].append("env.rewards.gone.weight=1")  # a run of a release whose reward had a term 'gone'
    with pytest.raises(OverrideError, match="params/overrides.json no longer applies to NIL-A1-Walk.*has no 'gone'"):
        run_env_cfg("NIL-A1-Walk", run)


def test_play_takes_the_runs_reference_while_it_exists_for_the_runs_preset(tmp_path, capsys):
    bundle = tmp_path / "refs" / "a1_walk"
    bundle.mkdir(parents=True)
    run = run_settings(fake_run(tmp_path, "a", 2, reference=str(bundle)))
    assert trained_reference(run, "cpu") == str(bundle)
    assert trained_reference(run, "gpu") is None  # made for the cpu preset's camera: the task's default instead
    assert trained_reference({}, "cpu") is None  # no params/env.json
    bundle.rmdir()
    assert trained_reference(run, "cpu") is None
    assert f"The run's reference bundle {bundle} is gone" in capsys.readouterr().out


def test_a_reference_given_relative_is_kept_absolute_so_play_finds_it_from_anywhere(tmp_path, monkeypatch,
                                                                                     menagerie_available):
    from nil_ext.tasks.walk.walk_env_cfg import walk_env_cfg
    from nil_ext.tasks.wholebody.wholebody_env_cfg import wholebody_env_cfg

    monkeypatch.chdir(tmp_path)
    for cfg in (walk_env_cfg("a1", "cpu-smoke"), wholebody_env_cfg("h1", "sit", "cpu-smoke")):
        cfg.set_reference(os.path.join("refs", "a1_walk"))
        assert cfg.imitation.reference == str(tmp_path / "refs" / "a1_walk")


def test_evaluate_takes_the_checkpoints_settings_and_refuses_a_mix(tmp_path):
    spec = importlib.util.spec_from_file_location("evaluate_script", script_path("evaluate.py"))
    evaluate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(evaluate)
    at_50, also_50 = fake_run(tmp_path, "a", 4), fake_run(tmp_path, "b", 4)
    at_100 = fake_run(tmp_path, "c", 2)
    assert evaluate.trained_run([at_50, also_50])["factory"]["control_hz"] == 50.0
    assert evaluate.trained_run([]) == {}  # floors only: the task's own settings
    with pytest.raises(CheckpointError, match=r"different settings \(control_hz 50.0 vs 100.0\)"):
        evaluate.trained_run([at_50, at_100])
    assert evaluate.trained_run([at_50, at_100], own=("control_hz",))  # --control_hz given: the rates may differ
    with pytest.raises(CheckpointError, match=r"different settings \(overrides env.actions.joint.scale=0.25 vs "
                                         r"env.actions.joint.scale=0.5\)"):
        evaluate.trained_run([at_50, fake_run(tmp_path, "d", 4, action_scale=0.5)])


def test_evaluate_takes_the_checkpoints_reference_and_refuses_a_mix(tmp_path):
    spec = importlib.util.spec_from_file_location("evaluate_script", script_path("evaluate.py"))
    evaluate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(evaluate)
    walk, trot = tmp_path / "walk", tmp_path / "trot"
    walk.mkdir(), trot.mkdir()
    a, b = fake_run(tmp_path, "a", 2, reference=str(walk)), fake_run(tmp_path, "b", 2, reference=str(walk))
    c = fake_run(tmp_path, "c", 2, reference=str(trot))
    assert evaluate.trained_reference_of([a, b], "cpu") == str(walk)
    assert evaluate.trained_reference_of([a, b], "cpu-smoke") is None  # another preset's camera: the default
    with pytest.raises(CheckpointError, match="trained on different references"):
        evaluate.trained_reference_of([a, c], "cpu")


def test_isaac_labs_own_loader_loads_every_nil_task(menagerie_available, monkeypatch):
    """What Isaac Lab's stock scripts do (``isaaclab train --rl_library rsl_rl --task NIL-H1-Walk
    --external_callback nil_ext.tasks.register``): string entry points, called bare, NIL_PRESET choosing the preset."""
    import gymnasium as gym
    from isaaclab_rl.rsl_rl import RslRlOnPolicyRunnerCfg
    from isaaclab_tasks.utils.parse_cfg import load_cfg_from_registry

    import nil_ext.tasks
    from nil_ext.agents.bro.config import BroRunnerCfg
    from nil_ext.tasks.walk.walk_env_cfg import NilWalkEnvCfg

    nil_ext.tasks.register()  # the callback Isaac Lab's scripts call
    tasks = sorted(t for t in gym.registry if t.startswith("NIL-"))
    assert {"NIL-H1-Walk", "NIL-A1-Walk", "NIL-G1-SitChair"} <= set(tasks)
    monkeypatch.setenv("NIL_PRESET", "cpu-smoke")
    for task in tasks:
        for key in ("env_cfg_entry_point", "rsl_rl_cfg_entry_point", "bro_cfg_entry_point"):
            assert isinstance(gym.spec(task).kwargs[key], str), f"{task}: {key} is not a 'module:attr' string"
        env_cfg = load_cfg_from_registry(task, "env_cfg_entry_point")
        assert isinstance(env_cfg, NilWalkEnvCfg) and env_cfg.preset == "cpu-smoke" and env_cfg.scene.num_envs == 4
        assert env_cfg.robot_name == gym.spec(task).kwargs["robot"]
        ppo = load_cfg_from_registry(task, "rsl_rl_cfg_entry_point")
        assert isinstance(ppo, RslRlOnPolicyRunnerCfg) and ppo.device == "cpu"
        assert isinstance(load_cfg_from_registry(task, "bro_cfg_entry_point"), BroRunnerCfg)
    monkeypatch.delenv("NIL_PRESET")
    assert load_cfg_from_registry("NIL-H1-Walk", "env_cfg_entry_point").preset == "gpu"  # Isaac Lab's default


def test_play_mode_judges_against_the_references_own_camera(menagerie_available):
    """Isaac Lab's PLAY convention (its play scripts, and NIL's play.py and evaluate.py, call play_mode)."""
    from nil_ext.task_loading import import_tasks, load_cfg

    import_tasks("NIL-A1-Walk")

    cfg = load_cfg("NIL-A1-Walk", "env_cfg_entry_point", preset="cpu", num_envs=64)
    assert cfg.curriculum is not None and cfg.imitation.camera_speed < 1.0
    assert cfg.scene.camera.data_types == ["instance_segmentation"]  # training on a CPU scores masks only
    cfg.play_mode()
    assert cfg.curriculum is None and cfg.imitation.camera_speed == 1.0 and cfg.scene.num_envs == 50
    assert "rgb" in cfg.scene.camera.data_types  # play and evaluate record videos
    assert "rgb" in load_cfg("NIL-A1-Walk", "env_cfg_entry_point", preset="gpu").scene.camera.data_types  # video term


def test_the_readme_shows_the_tasks_and_robots_the_registry_holds():
    import nil_ext.tasks  # noqa: F401  (registers the task ids)
    from nil_ext.tasks.catalogue import with_tables

    with open(os.path.join(REPO, "README.md")) as f:
        readme = f.read()
    assert with_tables(readme) == readme, "README tables are stale: ./isaaclab.sh -p scripts/list_envs.py --readme README.md"


def test_reward_weights_and_action_scale_from_the_command_line(menagerie_available):
    from nil_ext.overrides import OverrideError
    from nil_ext.task_loading import set_reward_weights
    from nil_ext.tasks.walk.walk_env_cfg import walk_env_cfg

    cfg = walk_env_cfg("a1", preset="cpu-smoke", profile="paper")
    assert cfg.rewards.alive.weight == 0 and cfg.rewards.silhouette.weight == 0  # the paper's reward
    set_reward_weights(cfg, ["alive=0.5", "silhouette=1", "iou=0.25"])
    assert cfg.actions.joint.scale == 0.25 and walk_env_cfg("a1", "cpu-smoke", action_scale=0.1).actions.joint.scale == 0.1
    assert (cfg.rewards.alive.weight, cfg.rewards.silhouette.weight, cfg.rewards.iou.weight) == (0.5, 1.0, 0.25)
    with pytest.raises(OverrideError, match="env.rewards has no 'alvie' \\(did you mean 'alive'.*silhouette, alive"):
        set_reward_weights(cfg, ["alvie=1"])
    with pytest.raises(OverrideError, match="env.rewards.alive.weight is a number, not 'high'"):
        set_reward_weights(cfg, ["alive=high"])


def test_the_default_profile_imitates_and_the_paper_is_one_switch_away(menagerie_available):
    """Defaults: 25 Hz control, action scale 0.25, alive 0.5, silhouette, pose, pace and heading 1 on every robot,
    the reference's place and heading observed (``track``); ``profile="imitate"`` does not observe them;
    ``profile="walk"`` leaves the last three out (the shipped policies of before); ``profile="paper"`` gives the
    paper's 100 Hz and reward with the robot file's action scale; single flags override a profile."""
    from nil_ext.assets.robots import get_robot_spec
    from nil_ext.task_loading import control_rate_hz
    from nil_ext.tasks.walk.walk_env_cfg import walk_env_cfg

    for robot in ("h1", "g1", "talos", "a1"):
        cfg = walk_env_cfg(robot, preset="cpu")
        assert cfg.profile == "track" and control_rate_hz(cfg) == 25.0 and cfg.actions.joint.scale == 0.25
        assert cfg.observations.policy.reference is not None
        assert (cfg.rewards.alive.weight, cfg.rewards.silhouette.weight) == (0.5, 1.0)
        assert (cfg.rewards.pose.weight, cfg.rewards.pace.weight, cfg.rewards.heading.weight) == (1.0, 1.0, 1.0)
    assert walk_env_cfg("h1", preset="cpu", profile="imitate").observations.policy.reference is None
    assert walk_env_cfg("h1", preset="cpu").observations.policy.gait_clock is None
    clock = walk_env_cfg("h1", preset="cpu", profile="clock").observations.policy
    assert clock.reference is not None and clock.gait_clock is not None
    walk = walk_env_cfg("h1", preset="cpu", profile="walk")
    assert (walk.rewards.pose.weight, walk.rewards.pace.weight, walk.rewards.heading.weight) == (0.0, 0.0, 0.0)
    assert walk.rewards.silhouette.weight == 1.0
    paper = walk_env_cfg("h1", preset="cpu", profile="paper")
    assert control_rate_hz(paper) == 100.0 and paper.actions.joint.scale == get_robot_spec("h1").action_scale
    assert (paper.rewards.alive.weight, paper.rewards.silhouette.weight) == (0.0, 0.0)
    assert (paper.rewards.pose.weight, paper.rewards.pace.weight, paper.rewards.heading.weight) == (0.0, 0.0, 0.0)
    assert control_rate_hz(walk_env_cfg("h1", preset="cpu", control_hz=50)) == 50.0
    with pytest.raises(ValueError, match="Unknown profile 'fast'; known: imitate, track, clock, walk, paper"):
        walk_env_cfg("h1", preset="cpu", profile="fast")


def test_the_place_term_is_the_pace_bell_narrowed_to_a_pixel():
    """``place`` (off in every profile; ``env.rewards.place.weight=1`` switches it on) scores the base's ground
    distance to the reference's place in a 5 cm bell (H1 at 64 px: a pixel is 4.4 cm): 1 on the place, e^-1/2 at
    5 cm, nothing at 20 cm, where the 0.5 m ``pace`` bell still pays 0.92."""
    from types import SimpleNamespace

    from nil_ext.tasks.walk.walk_env_cfg import PROFILES, walk_env_cfg

    rewards = walk_env_cfg("h1", preset="cpu").rewards
    assert rewards.place.weight == 0.0 and all(p.place == 0.0 for p in PROFILES.values())
    gaps = torch.tensor([0.0, 0.05, 0.2])
    base = torch.stack([1.0 + gaps, torch.full_like(gaps, 2.0), torch.ones_like(gaps)], -1)
    command = SimpleNamespace(robot=SimpleNamespace(data=SimpleNamespace(root_pos_w=SimpleNamespace(torch=base))),
                              reference_position_w=lambda: torch.tensor([[1.0, 2.0, 0.8]]).expand(3, -1))
    env = SimpleNamespace(step_dt=0.04, command_manager=SimpleNamespace(get_term=lambda name: command))
    place = rewards.place.func(env, **rewards.place.params) * env.step_dt
    pace = rewards.pace.func(env, **rewards.pace.params) * env.step_dt
    torch.testing.assert_close(place, torch.tensor([1.0, math.exp(-0.5), math.exp(-8.0)]))
    assert place[2] < 1e-3 and pace[2] > 0.9


def test_a_task_config_is_data_the_robot_is_converted_when_spawned(tmp_path, monkeypatch, menagerie_available):
    """Building a config converts nothing (issue 29: configs are plain data); the scene's spawn does, once."""
    import nil_ext.tasks  # noqa: F401  (registers the task ids)
    from nil_ext.assets.robot_cfg import RobotFileCfg, robot_usd
    from nil_ext.cache_dir import CACHE_DIR_ENV

    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path))
    cfg = load_cfg("NIL-H1-Walk", "env_cfg_entry_point", preset="cpu-smoke", num_envs=2)
    assert isinstance(cfg.scene.robot.spawn, RobotFileCfg) and cfg.scene.robot.spawn.robot == "h1"
    assert not list(tmp_path.rglob("*.usda")), "building the config converted the robot"
    assert robot_usd("h1").is_relative_to(tmp_path) and robot_usd("h1").is_file()  # what the spawn calls
