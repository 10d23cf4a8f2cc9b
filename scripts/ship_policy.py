"""Ship a trained policy into policies/<name>/, where users play it from a fresh clone.

    python scripts/ship_policy.py --task NIL-H1-Walk --checkpoint logs/bro/nil_h1_walk/<run>/model_7800.pt --name h1_walk

Writes policies/<name>/: the checkpoint without its optimiser states (what playing and evaluating load; a few MB;
its curricula's progress stays, so that a fine-tune from it goes on from there),
the run's params/ with machine paths made portable (the reference bundle becomes the task's default, the robot's
scripted demo, which every clone renders the same), then runs play.py (exported/ TorchScript + ONNX and their
observation layout, play/ side-by-side video and reward plot with the camera on the reference's path at its full
speed, strip.png: four moments of the episode) and
evaluate.py (evaluation.json: the policy against the random and standing floors, 16 episodes, reference camera at
full speed) on the shipped copy, so that what is shipped is what was judged.

A checkpoint already in policies/<name>/ is judged again in place (after the reference or the evaluation changed):
play.py and evaluate.py run on it, nothing is copied.

    python scripts/ship_policy.py --task NIL-H1-Walk --checkpoint policies/h1_walk/model_30000.pt --name h1_walk
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from argparse import RawDescriptionHelpFormatter

import torch

from nil_ext import cli
from nil_ext.errors import CheckpointError, UserError
from nil_ext.task_loading import RUN_SETTINGS_FILE, imitation_settings, read_checkpoint, run_settings

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args(argv=None):
    p = cli.ArgumentParser(description=__doc__, formatter_class=RawDescriptionHelpFormatter)
    p.add_argument("--task", required=True, help="the task the policy was trained on, e.g. NIL-H1-Walk")
    p.add_argument("--checkpoint", required=True, help="model_*.pt of a training run (params/ beside it)")
    p.add_argument("--name", required=True, help="folder name under policies/, e.g. h1_walk")
    p.add_argument("--overwrite", action="store_true", help="replace an existing policies/<name>/")
    p.add_argument("--skip_evaluation", action="store_true", help="copy and play only (no evaluation.json)")
    return p.parse_args(argv)


def portable(value, cache: str):
    """``value`` (a params tree) with this machine's paths replaced: the checkout's by paths relative to it, the
    nil_ext cache's by ``<nil_ext cache>/...``."""
    if isinstance(value, dict):
        return {k: portable(v, cache) for k, v in value.items()}
    if isinstance(value, list):
        return [portable(v, cache) for v in value]
    if isinstance(value, str) and os.path.isabs(value):
        if value.startswith(REPO + os.sep):
            return os.path.relpath(value, REPO)
        if value.startswith(cache + os.sep):
            return "<nil_ext cache>/" + os.path.relpath(value, cache)
    return value


def copy_run(checkpoint: str, out: str) -> str:
    """The checkpoint without optimiser states and the run's params, portable; returns the shipped checkpoint."""
    from isaaclab.utils.io import dump_yaml

    from nil_ext.cache_dir import cache_root

    params = os.path.join(os.path.dirname(checkpoint), "params")
    with open(os.path.join(params, "env.json")) as f:
        env = json.load(f)
    with open(os.path.join(params, "agent.json")) as f:
        agent = json.load(f)
    cache = str(cache_root())
    reference = imitation_settings(env).get("reference")
    if reference and not os.path.abspath(reference).startswith(os.path.join(cache, "references") + os.sep):
        raise UserError(f"The run trained on the reference bundle {reference}, which a fresh clone does not have: "
                        "ship policies trained on the task's default reference (train.py without --reference).")
    imitation_settings(env)["reference"] = None  # the task's default: the robot's scripted demo, rendered on first use
    robot_file = os.path.join(REPO, "assets", "robots", os.path.basename(env.get("robot_config") or ""))
    if os.path.isfile(robot_file):  # one of the checkout's robots (the run may have been started from another copy)
        env["robot_config"] = robot_file
    os.makedirs(os.path.join(out, "params"), exist_ok=True)
    for name, data in (("env", portable(env, cache)), ("agent", portable(agent, cache))):
        with open(os.path.join(out, "params", f"{name}.json"), "w") as f:
            json.dump(data, f, indent=2)
        dump_yaml(os.path.join(out, "params", f"{name}.yaml"), data)
    run = run_settings(checkpoint)  # what play and evaluate replay (read from env.json for runs before overrides)
    run.update(reference=None, robot_config=env["robot_config"])  # as in env.json above
    with open(os.path.join(out, "params", RUN_SETTINGS_FILE), "w") as f:
        json.dump(portable(run, cache), f, indent=2)

    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    state["alg"] = {k: v for k, v in state["alg"].items() if not k.endswith("_opt")}
    # The env's training state stays (the camera curriculum's speed, the actions' widened reach): play and evaluate
    # ignore it, and a fine-tune from the shipped policy goes on from it instead of restarting the curriculum.
    shipped = os.path.join(out, os.path.basename(checkpoint))
    torch.save(state, shipped)
    return shipped


def make_reports_portable(out: str) -> None:
    """The JSON that play and evaluate wrote (exported layout, evaluation) without this machine's paths."""
    from nil_ext.cache_dir import cache_root

    for folder, _, files in os.walk(out):
        for name in (f for f in files if f.endswith(".json")):
            path = os.path.join(folder, name)
            with open(path) as f:
                data = json.load(f)
            with open(path, "w") as f:
                json.dump(portable(data, str(cache_root())), f, indent=2)


def run(script: str, *args: str) -> None:
    command = [sys.executable, os.path.join(REPO, "scripts", script), *args]
    print("[INFO] " + " ".join(command[1:]), flush=True)
    if subprocess.run(command, cwd=REPO).returncode != 0:
        raise UserError(f"scripts/{script} failed on the shipped copy (its message is above); nothing more shipped.")


def main(argv=None) -> None:
    args = parse_args(argv)
    read_checkpoint(args.checkpoint)  # missing or unreadable: said in one line
    if not os.path.isfile(os.path.join(os.path.dirname(args.checkpoint), "params", "env.json")):
        raise CheckpointError(f"'{args.checkpoint}' has no params/env.json beside it: ship a checkpoint of a train.py "
                              "run.")
    out = os.path.join(REPO, "policies", args.name)
    if os.path.dirname(os.path.abspath(args.checkpoint)) == os.path.abspath(out):
        shipped = os.path.relpath(os.path.abspath(args.checkpoint), REPO)  # shipped already: judged again in place
    else:
        if os.path.exists(out):
            if not args.overwrite:
                raise UserError(f"{out} exists; pass --overwrite to replace it.")
            shutil.rmtree(out)
        shipped = os.path.relpath(copy_run(os.path.abspath(args.checkpoint), out), REPO)
    # the camera on the reference's path at full speed, as evaluation judges it: the strip shows pace and posture
    run("play.py", "--task", args.task, "--checkpoint", shipped, "--headless", "--output_dir", out)
    strip = shutil.copy(os.path.join(out, "play", "strip.png"), os.path.join(out, "strip.png"))
    if not args.skip_evaluation:
        run("evaluate.py", "--task", args.task, "--checkpoint", shipped, "--preset", "cpu", "--num_envs", "8",
            "--seeds", "0", "1", "--json", os.path.join(out, "evaluation.json"), "--headless")
    make_reports_portable(out)
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(out) for f in files)
    print(f"[INFO] Shipped {out} ({size / 1e6:.1f} MB): {os.path.relpath(shipped, REPO)}, strip {strip}")


if __name__ == "__main__":
    sys.exit(cli.run(main))
