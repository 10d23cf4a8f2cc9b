r"""Probe a task's reward: does it rank good motion above bad? (Video rewards fail silently.)

    ./isaaclab.sh -p scripts/probe_reward.py --task NIL-A1-Walk
    ./isaaclab.sh -p scripts/probe_reward.py --task NIL-H1-Walk --preset cpu --json probe.json --strict
    ./isaaclab.sh -p scripts/probe_reward.py --task NIL-H1-Walk env.rewards.alive.weight=0.5
    ./isaaclab.sh -p scripts/probe_reward.py --task NIL-H1-Walk --checkpoint logs/bro/nil_h1_walk/<run>/model_N.pt
    ./isaaclab.sh -p scripts/probe_reward.py --task NIL-H1-Walk --checkpoint policies/h1_walk/model_30000.pt \
        --behaviours reference short_stride policy standing    # a trained policy beside them, term by term

Scores, with the task's OWN reward (its reward manager: every term, weighted as configured, overrides included;
with --checkpoint, the reward that checkpoint's run trained with: its params/overrides.json replayed), one episode of every env for each behaviour: the reference replayed kinematically (``reference``), at
half speed (``half_speed``), turned 90 degrees to the camera along the same path (``turned``), time-reversed (``backwards``), zero action (``standing``), uniform random actions
(``random``) and a scripted fall (``falling``); on request the reference with each joint held where the actions reach
(``within_actions``), with a third of its joint swing at its pace (``short_stride``: feet close together, as a
shuffling policy walks), that short stride stepped 1.6x as often along the same path (``quick_steps``: as H1's trained
policies step), and the --checkpoint's own deterministic policy (``policy``: where a trained policy stands
between the reference and the floors, term by term). The camera is the play-mode one, on the reference's path at its own
speed. Prints a markdown table (return, each term's episode sum, mean IoU, the env reward of
nil_ext.evaluation.env_reward) and warns when the reward does not rank reference > half_speed > standing > random,
the reference above its turned copy, with falling lowest (--strict: exit 1 then). The replays need the reference's robot states: a scripted walk has them; a bundle made
from a video does not, and they are skipped with a note.
"""

from __future__ import annotations

import json
import sys
from argparse import RawDescriptionHelpFormatter

from nil_ext import cli
from nil_ext.errors import CheckpointError, UserError
from nil_ext.evaluation.env_reward import episode_steps
from nil_ext.evaluation.probe import (
    BEHAVIOURS,
    OPTIONAL,
    add_replay_writer,
    markdown_table,
    ranking_checked,
    ranking_problems,
    run_probe,
)
from nil_ext.task_loading import (
    add_sim_args,
    check_reference,
    control_rate_hz,
    import_tasks,
    read_checkpoint,
    resolve_device,
    run_env_cfg,
    run_settings,
    trained_reference,
)
from nil_ext.tasks.walk.walk_env_cfg import PROFILES


def parse_args(argv=None):
    p = cli.ArgumentParser(description=__doc__, formatter_class=RawDescriptionHelpFormatter, overrides=True)
    p.add_argument("--task", required=True, help="a walk task, e.g. NIL-A1-Walk")
    p.add_argument("--robot_config", default=None, help="robot file (TOML) of a robot outside assets/robots")
    p.add_argument("--checkpoint", default=None,
                   help="probe the env and reward this checkpoint's run trained with (its params/overrides.json); "
                        "the behaviour 'policy' is the checkpoint's own deterministic policy")
    p.add_argument("--reference", default=None, help="reference bundle folder (default: the robot's scripted demo)")
    p.add_argument("--preset", default=None, choices=["cpu-smoke", "cpu", "gpu"],
                   help="default: the --checkpoint run's, else cpu-smoke")
    p.add_argument("--num_envs", type=int, default=None,
                   help="envs per behaviour (default: the preset's, at most 50 in play mode)")
    p.add_argument("--steps", type=int, default=None, help="control steps per episode (default: the evaluation's)")
    p.add_argument("--profile", default=None, choices=sorted(PROFILES),
                   help="the walk profile to probe, as train.py's (default: track; imitate and clock: its reward, the same; walk; "
                        "paper: the paper's rate and reward)")
    p.add_argument("--control_hz", type=float, default=None,
                   help="policy and reward rate, as train.py's (default: the profile's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--behaviours", nargs="+", default=list(BEHAVIOURS), choices=BEHAVIOURS + OPTIONAL,
                   help="not by default: within_actions (the reference with each joint held where the actions reach), "
                        "short_stride (a third of its joint swing, at its pace), quick_steps (that short stride stepped 1.6x "
                        "as often, along the same path), policy (the --checkpoint's own)")
    p.add_argument("--json", default=None, help="write the results here")
    p.add_argument("--strict", action="store_true", help="exit 1 when the reward ranks the behaviours wrongly")
    add_sim_args(p)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if "policy" in args.behaviours and not args.checkpoint:
        raise UserError("--behaviours policy scores a trained policy: give its --checkpoint (a train.py model_N.pt).")
    task_id = import_tasks(args.task, args.robot_config, args.checkpoint)
    if "policy" in args.behaviours:  # missing, corrupt or another task's: said before the simulator starts
        read_checkpoint(args.checkpoint, task_id, "bro")
    run = run_settings(args.checkpoint) if args.checkpoint else {}
    if args.checkpoint and not run:
        raise CheckpointError(f"--checkpoint {args.checkpoint}: no params/ beside it to take the run's settings "
                              "from; give the model_N.pt of a train.py run.")
    preset = args.preset or run.get("factory", {}).get("preset") or "cpu-smoke"
    # the run's env when given (else the task's), the reference's own camera path at full speed (play mode, as
    # evaluate.py judges policies), then this command line's overrides
    env_cfg = run_env_cfg(task_id, run, args.overrides, preset=preset,
                          num_envs=args.num_envs, control_hz=args.control_hz, profile=args.profile)
    env_cfg.sim.device = resolve_device(args.device, env_cfg.sim.device)
    env_cfg.set_reference(args.reference or trained_reference(run, preset))
    check_reference(env_cfg)
    add_replay_writer(env_cfg)

    with cli.launch_simulation(env_cfg, args):
        import gymnasium as gym

        from nil_ext.agents.vec_env import IsaacLabVecEnv
        from nil_ext.assets.robots import get_robot_spec
        from nil_ext.evaluation.rollout import checkpoint_policies

        env = gym.make(task_id, cfg=env_cfg)
        steps = args.steps or episode_steps(get_robot_spec(env_cfg.robot_name).quadruped, env.unwrapped.step_dt)
        policy = None
        if "policy" in args.behaviours:
            policy = checkpoint_policies(args.checkpoint, IsaacLabVecEnv(env), env_cfg.sim.device)[0]
        results = run_probe(env, steps, seed=args.seed, names=args.behaviours, progress=True, policy=policy)
        manager = env.unwrapped.reward_manager
        weights = {name: manager.get_term_cfg(name).weight for name in manager.active_terms}
        env.close()

    print(markdown_table(task_id, results))
    returns = {r.name: r.return_mean for r in results if not r.skipped}
    problems = ranking_problems(returns)
    for r in results:
        if r.skipped:
            print(f"[NOTE] {r.name} skipped: {r.note}")
    for problem in problems:
        print(f"[WARN] The reward ranks the behaviours wrongly: {problem}.")
    if not problems:
        checked = ranking_checked(returns)
        print(f"[INFO] The reward ranks {checked} as expected." if checked else
              "[INFO] Fewer than two behaviours with an expected rank were scored: no ranking checked.")
    report = {"task": task_id, "preset": preset, "ablation": env_cfg.imitation.reward.ablation, "weights": weights,
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
    sys.exit(cli.run(main))
