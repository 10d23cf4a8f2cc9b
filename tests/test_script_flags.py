"""Every script that starts the simulator takes Isaac Lab's usual ``--headless``, as users type it by habit."""

import importlib.util
import os

import pytest

SCRIPTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts")


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, os.path.join(SCRIPTS, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["train", "play", "evaluate", "probe_reward"])
def test_sim_scripts_accept_headless(name):
    args = load_script(name).parse_args(["--task", "NIL-H1-Walk", "--headless"])
    assert args.headless and args.task == "NIL-H1-Walk"


def test_settings_are_overrides_anywhere_on_the_line_and_flags_are_snake_case_or_kebab_case():
    train = load_script("train").parse_args(["--task", "NIL-H1-Walk", "env.decimation=8", "--seed", "1",
                                             "agent.algorithm.gamma=0.995", "--robot-config", "x.toml"])
    assert train.overrides == ["env.decimation=8", "agent.algorithm.gamma=0.995"] and train.robot_config == "x.toml"
    evaluate = load_script("evaluate").parse_args(["--task", "T", "--checkpoint", "a.pt", "b.pt", "env.seed=3",
                                                   "--floors-only"])  # also between the values of a flag
    assert evaluate.checkpoint == ["a.pt", "b.pt"] and evaluate.overrides == ["env.seed=3"] and evaluate.floors_only
    generate = load_script("generate_reference").parse_args(["--robot", "h1", "--out", "r", "--fps-out", "50",
                                                             "--e0-mask", "m.png", "--e0", "e0.png"])
    assert generate.control_hz == 50 and str(generate.e0_mask) == "m.png"  # --fps_out: the old name of --control_hz
    benchmark = load_script("benchmark")
    assert benchmark.parse_args(["--num-envs", "4", "8"]).num_envs == [4, 8]
    assert benchmark.parse_args([]).num_envs == [4, 16]
    assert benchmark.parse_args(["--what", "encoder_memory"]).num_envs == [4096]  # the gpu preset's on a large card


@pytest.mark.parametrize("argv, message", [
    (["gamma=0.9"], "[ERROR] 'gamma=0.9' is neither a flag nor a setting; settings are env.PATH=VALUE"),
    (["--profile", "fast"], "[ERROR] argument --profile: invalid choice: 'fast'"),
    (["--num_envs", "many"], "[ERROR] argument --num_envs: invalid int value: 'many'; see"),
    (["--out", "x.json"], "[ERROR] unrecognized flag --out; see"),
])
def test_a_bad_flag_is_one_error_line(argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        load_script("train").parse_args(["--task", "NIL-H1-Walk", *argv])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1, err


@pytest.mark.parametrize("script, argv, override", [
    ("train", ["--gamma", "0.995"], "agent.algorithm.gamma=0.995"),
    ("train", ["--action-scale=0.1"], "env.actions.joint.scale=0.1"),
    ("train", ["--no_curriculum"], "env.curriculum=None env.imitation.camera_speed=1.0"),
    ("train", ["--camera_speed", "0.5"], "env.imitation.camera_speed=0.5"),
    ("train", ["--ablation", "no_reg"], "env.imitation.reward.ablation=no_reg"),
    ("train", ["--reward", "alive=0"], "env.rewards.alive.weight=0"),
    ("probe_reward", ["--reward", "alive"], "env.rewards.alive.weight=WEIGHT"),
    ("probe_reward", ["--ablation"], "env.imitation.reward.ablation=V"),
    ("evaluate", ["--gamma", "0.9"], "agent.algorithm.gamma=0.9"),
])
def test_a_removed_flag_names_the_override_that_replaces_it(script, argv, override, capsys):
    with pytest.raises(SystemExit) as stop:
        load_script(script).parse_args(["--task", "T", *argv])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    flag = argv[0].split("=")[0].replace("-", "_").replace("__", "--", 1)
    assert err.startswith(f"[ERROR] {flag} was removed; write the setting {override} instead") and err.count("\n") == 1


def test_the_encoder_memory_benchmark_asks_for_a_cuda_card():
    from nil_ext.errors import UserError

    with pytest.raises(UserError, match="--what encoder_memory measures a CUDA card; cpu is not one"):
        load_script("benchmark").bench_encoder_memory(8, "cpu")
