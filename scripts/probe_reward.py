"""Probe a task's reward: does it rank good motion above bad? (Video rewards fail silently.)

    ./isaaclab.sh -p scripts/probe_reward.py --task NIL-A1-Walk
    ./isaaclab.sh -p scripts/probe_reward.py --task NIL-H1-Walk --preset cpu --json probe.json --strict
    ./isaaclab.sh -p scripts/probe_reward.py --task NIL-H1-Walk --reward alive=0.5 --reward silhouette=1

Scores, with the task's OWN reward (its reward manager: every term, weighted as configured, --ablation and --reward
included), one episode of every env for each behaviour: the reference replayed kinematically (``reference``), at
half speed (``half_speed``), time-reversed (``backwards``), zero action (``standing``), uniform random actions
(``random``) and a scripted fall (``falling``). The camera is the play-mode one, on the reference's path at its own
speed. Prints a markdown table (return, each term's episode sum, mean IoU, the env reward of
nil_ext.evaluation.env_reward) and warns when the reward does not rank reference > half_speed > standing > random,
with falling lowest (--strict: exit 1 then). The replays need the reference's robot states: a scripted walk has them; a bundle made
from a video does not, and they are skipped with a note.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from isaaclab.app import launch_simulation

from nil_ext.evaluation.env_reward import episode_steps
from nil_ext.evaluation.probe import BEHAVIOURS, add_replay_writer, markdown_table, ranking_problems, run_probe
from nil_ext.rewards import ABLATIONS
from nil_ext.tasks.walk.walk_env_cfg import PROFILES
from nil_ext.task_loading import (
    add_sim_args,
    control_rate_hz,
    import_tasks,
    load_cfg,
    resolve_device,
    set_reward_weights,
)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", required=True, help="a walk task, e.g. NIL-A1-Walk")
    p.add_argument("--robot_config", "--robot-config", default=None, help="robot file (TOML) of a robot outside assets/robots")
    p.add_argument("--reference", default=None, help="reference bundle folder (default: the robot's scripted demo)")
    p.add_argument("--preset", default="cpu-smoke", choices=["cpu-smoke", "cpu", "gpu"])
    p.add_argument("--num_envs", type=int, default=None,
                   help="envs per behaviour (default: the preset's, at most 50 in play mode)")
    p.add_argument("--steps", type=int, default=None, help="control steps per episode (default: the evaluation's)")
    p.add_argument("--profile", default=None, choices=sorted(PROFILES),
                   help="the walk profile to probe, as train.py's (default: walk; paper: the paper's rate and reward)")
    p.add_argument("--control_hz", type=float, default=None,
                   help="policy and reward rate, as train.py's (default: the profile's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--behaviours", nargs="+", default=list(BEHAVIOURS), choices=BEHAVIOURS)
    p.add_argument("--ablation", default=None, choices=sorted(ABLATIONS),
                   help="probe one of the paper's ablation rows, e.g. no_reg")
    p.add_argument("--reward", action="append", default=None, metavar="TERM=WEIGHT",
                   help="set a reward term's weight, as train.py's --reward (e.g. alive=0.5)")
    p.add_argument("--json", default=None, help="write the results here")
    p.add_argument("--strict", action="store_true", help="exit 1 when the reward ranks the behaviours wrongly")
    add_sim_args(p)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    task_id = import_tasks(args.task, args.robot_config)
    env_cfg = load_cfg(task_id, "env_cfg_entry_point", preset=args.preset, num_envs=args.num_envs,
                       control_hz=args.control_hz, profile=args.profile)
    env_cfg.play_mode()  # the reference's own camera path at full speed, as evaluate.py judges policies
    env_cfg.sim.device = resolve_device(args.device, env_cfg.sim.device)
    env_cfg.set_reference(args.reference)
    if args.ablation is not None:
        env_cfg.imitation.reward = dataclasses.replace(env_cfg.imitation.reward, ablation=args.ablation)
    set_reward_weights(env_cfg, args.reward)
    add_replay_writer(env_cfg)

    with launch_simulation(env_cfg, args):
        import gymnasium as gym

        from nil_ext.assets.robots import get_robot_spec

        env = gym.make(task_id, cfg=env_cfg)
        steps = args.steps or episode_steps(get_robot_spec(env_cfg.robot_name).quadruped, env.unwrapped.step_dt)
        results = run_probe(env, steps, seed=args.seed, names=args.behaviours, progress=True)
        manager = env.unwrapped.reward_manager
        weights = {name: manager.get_term_cfg(name).weight for name in manager.active_terms}
        env.close()

    print(markdown_table(task_id, results))
    problems = ranking_problems({r.name: r.return_mean for r in results if not r.skipped})
    for r in results:
        if r.skipped:
            print(f"[NOTE] {r.name} skipped: {r.note}")
    for problem in problems:
        print(f"[WARN] The reward ranks the behaviours wrongly: {problem}.")
    if not problems:
        print("[INFO] The reward ranks reference > half_speed > standing > random, falling lowest.")
    report = {"task": task_id, "preset": args.preset, "ablation": args.ablation, "weights": weights,
              "reference": env_cfg.imitation.reference, "camera_mode": env_cfg.imitation.camera.mode,
              "control_hz": control_rate_hz(env_cfg),
              "num_envs": env_cfg.scene.num_envs, "steps": steps, "seed": args.seed,
              "results": [r.to_dict() for r in results], "ranking_problems": problems}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
        print(f"[INFO] Results: {args.json}")
    return 1 if problems and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
