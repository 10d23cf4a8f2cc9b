"""Every script refuses a bad task, robot, checkpoint, bundle, video, setting or flag value in one ``[ERROR]`` line
that names it, with a non-zero exit code and no traceback (nil_ext.cli). The first case of each script runs it as a
user does, in a fresh process (a few at a time); the others call the same entry point (``cli.run(main)``) in this
process, which spares each of them the ~7 s of imports a fresh process pays. All but one fail before the simulator
starts."""

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from script_helpers import REPO, load_script, run_in_process, run_script

# id: (script, arguments ({tmp}: the inputs folder), what the [ERROR] line must say)
CASES = {
    "unknown task": ("train.py", "--task NIL-Atlas-Walk", "Unknown task 'NIL-Atlas-Walk'. NIL tasks: NIL-A1-Walk"),
    "unknown preset": ("train.py", "--task NIL-A1-Walk --preset warp",
                       "NIL-A1-Walk: Unknown preset 'warp'; known: gpu, cpu, cpu-smoke"),
    "unknown profile": ("train.py", "--task NIL-A1-Walk --profile fast",
                        "argument --profile: invalid choice: 'fast'"),
    "unknown setting": ("train.py", "--task NIL-A1-Walk env.rewards.alvie.weight=1",
                        "'env.rewards.alvie.weight=1': env.rewards has no 'alvie' (did you mean 'alive'"),
    "missing robot file": ("train.py", "--task NIL-Walk --robot_config {tmp}/atlas.toml",
                           "Robot file not found"),
    "reference that is no bundle": ("train.py", "--task NIL-A1-Walk --preset cpu-smoke --reference {tmp}",
                                    "The reference {tmp} is not a reference bundle (no bundle.json)"),
    "another robot's bundle": ("train.py", "--task NIL-H1-Walk --preset cpu-smoke --reference {tmp}/a1_bundle",
                               "was made for robot 'a1', not 'h1'"),
    "missing checkpoint": ("play.py", "--task NIL-A1-Walk --checkpoint {tmp}/nowhere/model_1.pt",
                           "No checkpoint at {tmp}/nowhere/model_1.pt"),
    "play: nothing trained yet": ("play.py", "--task NIL-H1-Walk",
                                  "No checkpoint found for NIL-H1-Walk: looked for {tmp}/logs/bro/nil_h1_walk/<run>"),
    "evaluate: missing checkpoint": ("evaluate.py", "--task NIL-A1-Walk --checkpoint {tmp}/nowhere/model_1.pt",
                                     "No checkpoint at {tmp}/nowhere/model_1.pt"),
    "corrupt checkpoint": ("play.py", "--task NIL-A1-Walk --checkpoint {tmp}/corrupt/model_5.pt",
                           "Cannot read the checkpoint {tmp}/corrupt/model_5.pt"),
    "another task's checkpoint": ("play.py", "--task NIL-A1-Walk --checkpoint {tmp}/h1_run/model_5.pt",
                                  "for task 'NIL-H1-Walk', but this run is agent 'bro' on task 'NIL-A1-Walk'"),
    "evaluate: unknown setting": ("evaluate.py", "--task NIL-A1-Walk --floors_only env.imitation.camra.mode=fixed",
                                  "env.imitation has no 'camra' (did you mean 'camera'"),
    "train: removed flag": ("train.py", "--task NIL-A1-Walk --ablation no_video",
                            "--ablation was removed; write the setting env.imitation.reward.ablation=no_video instead"),
    "probe: control rate": ("probe_reward.py", "--task NIL-A1-Walk --control_hz 33",
                            "control_hz=33 does not divide the 200 Hz physics"),
    "probe: policy without checkpoint": ("probe_reward.py", "--task NIL-A1-Walk --behaviours reference policy",
                                         "--behaviours policy scores a trained policy: give its --checkpoint"),
    "generate: unknown robot": ("generate_reference.py", "--robot atlas --out {tmp}/ref", "unknown robot 'atlas'"),
    "generate: corrupt video": ("generate_reference.py", "--robot h1 --e0 {tmp}/e0.png --e0-mask {tmp}/e0_mask.png "
                                "--video {tmp}/corrupt.mp4 --segmenter background --out {tmp}/ref",
                                "unreadable video {tmp}/corrupt.mp4"),
    "benchmark: unknown robot": ("benchmark.py", "--robots no_such_robot", "Unknown robot 'no_such_robot'"),
    "benchmark: unknown flag": ("benchmark.py", "--robots h1 --speed 3", "unrecognized arguments: --speed 3"),
    "ship: missing checkpoint": ("ship_policy.py", "--task NIL-A1-Walk --checkpoint {tmp}/nowhere/model_1.pt --name x",
                                 "No checkpoint at {tmp}/nowhere/model_1.pt"),
    "list_envs: missing README": ("list_envs.py", "--readme {tmp}/README.md",
                                  "No such file or directory: '{tmp}/README.md'"),
}
# The one case that starts the simulator: a bundle of the right robot seen by another camera is refused when the
# env loads it (inside Isaac Lab's launch_simulation, which prints the traceback of any exception but SystemExit).
SIMULATOR_CASES = {
    "bundle for another camera": ("train.py", "--task NIL-H1-Walk --preset cpu-smoke --reference {tmp}/h1_bundle "
                                  "--max_iterations 1", "camera differs in yaw_deg"),
}


def make_inputs(tmp) -> None:
    """The bad inputs: a truncated checkpoint, a checkpoint of another task, a folder with a bundle.json of another
    robot, a bundle seen from another camera, a corrupt video, a first frame and its mask."""
    import cv2

    from nil_ext.assets.robot_cfg import robot_model_info
    from nil_ext.reference.bundle import ReferenceBundle
    from nil_ext.reference.quality import quality_report
    from nil_ext.tasks.walk.walk_env_cfg import walk_env_cfg

    for name, content in (("corrupt", None), ("h1_run", "NIL-H1-Walk"), ("a1_run", "NIL-A1-Walk")):
        os.makedirs(os.path.join(tmp, name))
        path = os.path.join(tmp, name, "model_5.pt")
        if content is None:
            torch.save({"iteration": 5, "alg": {"w": torch.zeros(1000)}}, path)
            with open(path, "r+b") as f:
                f.truncate(os.path.getsize(path) // 2)
        else:
            torch.save({"agent": "bro", "task": content, "iteration": 5}, path)
    os.makedirs(os.path.join(tmp, "a1_bundle"))
    with open(os.path.join(tmp, "a1_bundle", "bundle.json"), "w") as f:
        f.write('{"format": "nil_ext.reference_bundle", "format_version": 1, "robot": "a1"}')
    camera = walk_env_cfg("h1", "cpu-smoke").imitation.camera.to_dict(robot_model_info("h1").base_pos[2])
    frames, masks = np.zeros((20, 64, 64, 3), np.uint8), np.zeros((20, 64, 64), bool)
    masks[:, 20:50, 28:36] = True
    ReferenceBundle(frames, masks, 25.0, "h1", {**camera, "yaw_deg": camera["yaw_deg"] + 30},
                    quality=quality_report(masks)).save(os.path.join(tmp, "h1_bundle"))
    with open(os.path.join(tmp, "corrupt.mp4"), "wb") as f:
        f.write(b"\x00" * 100)
    cv2.imwrite(os.path.join(tmp, "e0.png"), np.where(masks[0, ..., None], 200, 0).astype(np.uint8))
    cv2.imwrite(os.path.join(tmp, "e0_mask.png"), masks[0].astype(np.uint8) * 255)


def run_case(tmp, script: str, arguments: str, in_process: bool = False) -> subprocess.CompletedProcess:
    arguments = arguments.format(tmp=tmp).split()
    return run_in_process(tmp, script, arguments) if in_process else run_script(tmp, script, arguments)


FRESH_PROCESS = {next(name for name, (s, _, _) in CASES.items() if s == script) for script, _, _ in CASES.values()}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, menagerie_available):
    tmp = str(tmp_path_factory.mktemp("bad_inputs"))
    make_inputs(tmp)
    return tmp


@pytest.fixture(scope="module")
def outcomes(inputs):
    """Every case of :data:`CASES`: the fresh processes three at a time (each is mostly Python's start and imports)
    while the rest run here, one after another."""
    with pytest.MonkeyPatch.context() as patch, ThreadPoolExecutor(max_workers=3) as pool:
        patch.delenv("NIL_DEBUG", raising=False)
        futures = {name: pool.submit(run_case, inputs, script, arguments)
                   for name, (script, arguments, _) in CASES.items() if name in FRESH_PROCESS}
        results = {name: run_case(inputs, script, arguments, in_process=True)
                   for name, (script, arguments, _) in CASES.items() if name not in FRESH_PROCESS}
        return results | {name: future.result() for name, future in futures.items()}


def check_refusal(result: subprocess.CompletedProcess, message: str) -> None:
    shown = f"stdout:\n{result.stdout[-2000:]}\nstderr:\n{result.stderr[-3000:]}"
    assert result.returncode == 2, shown
    assert "Traceback" not in result.stderr, shown
    errors = [line for line in result.stderr.splitlines() if line.startswith("[ERROR]")]
    assert len(errors) == 1 and message in errors[0], shown


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_input_is_refused_in_one_line(name, outcomes, inputs):
    script, _, message = CASES[name]
    check_refusal(outcomes[name], message.format(tmp=inputs))


@pytest.mark.parametrize("name", list(SIMULATOR_CASES))
def test_a_bad_input_found_inside_the_simulation_is_refused_in_one_line(name, inputs):
    script, arguments, message = SIMULATOR_CASES[name]
    check_refusal(run_case(inputs, script, arguments), message.format(tmp=inputs))


def test_every_script_has_a_case():
    scripts = {s for s, _, _ in [*CASES.values(), *SIMULATOR_CASES.values()]}
    shipped = {f for f in os.listdir(os.path.join(REPO, "scripts")) if f.endswith(".py")}
    assert shipped <= scripts, shipped - scripts


def test_nil_debug_shows_the_traceback(monkeypatch):
    from nil_ext import cli
    from nil_ext.assets import UnknownRobotError

    monkeypatch.setenv("NIL_DEBUG", "1")
    with pytest.raises(UnknownRobotError):  # raised through cli.run: Python prints its traceback
        cli.run(load_script("benchmark.py").main, ["--robots", "nope"])
