"""Train an agent on a registered task: BRO (default; nil_ext's off-policy runner) or PPO (rsl_rl).

    python scripts/train.py --task <Gym-Id> [--agent bro|ppo] [--num_envs N] [--max_iterations K] [--seed S]
    python scripts/train.py --task <Gym-Id> --resume [--checkpoint logs/bro/<experiment>/<run>/model_1000.pt]
    python scripts/train.py --task NIL-H1-Walk env.rewards.alive.weight=0 agent.algorithm.gamma=0.995
    torchrun --nproc_per_node=2 scripts/train.py --task <Gym-Id> --distributed

Tasks come from the ``isaaclab.tasks`` entry points (nil_ext registers its tasks there) or, written as
``module:Gym-Id``, from importing ``module`` first. A task's gym kwargs name its configs:
``env_cfg_entry_point``, ``bro_cfg_entry_point`` and ``rsl_rl_cfg_entry_point``. Settings of those configs are
overrides, ``env.PATH=VALUE`` / ``agent.PATH=VALUE``, anywhere on the line, as Isaac Lab's scripts take them. Runs
are logged under ``logs/<agent>/<experiment>/<timestamp>/`` with the resolved configs in ``params/`` and, in
``params/overrides.json``, what rebuilds the env (the task, its factory's arguments, the overrides), which play.py
and evaluate.py replay.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from datetime import datetime

import gymnasium as gym
import torch
from isaaclab.envs import DirectRLEnvCfg, ManagerBasedRLEnvCfg

from nil_ext import cli
from nil_ext.agents.bro import OffPolicyRunner
from nil_ext.agents.vec_env import IsaacLabVecEnv
from nil_ext.overrides import apply_overrides
from nil_ext.rewards.gpu_sizing import check_env_cfg
from nil_ext.run_failure import closing, exit_promptly
from nil_ext.task_loading import (
    add_sim_args,
    check_reference,
    import_tasks,
    latest_checkpoint,
    load_cfg,
    read_checkpoint,
    recorded_factory_args,
    resolve_device,
    save_run_settings,
)
from nil_ext.tasks.walk.walk_env_cfg import PROFILES

CFG_ENTRY_POINTS = {"bro": "bro_cfg_entry_point", "ppo": "rsl_rl_cfg_entry_point"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = cli.ArgumentParser(description=__doc__.splitlines()[0], overrides=True)
    parser.add_argument("--task", required=True, help="Gym id, or module:Gym-Id to import module first.")
    parser.add_argument("--robot_config", default=None,
                        help="Robot file (TOML) of a robot outside assets/robots; --task NIL-Walk then trains its walk.")
    parser.add_argument("--agent", choices=sorted(CFG_ENTRY_POINTS), default="bro")
    parser.add_argument("--num_envs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--max_iterations", type=int, default=None)
    parser.add_argument("--resume", action="store_true", help="Continue from --checkpoint, else the latest one.")
    parser.add_argument("--checkpoint", default=None, help="Checkpoint file to resume from (implies --resume).")
    parser.add_argument("--video", action="store_true", help="Record videos (Isaac Lab envs).")
    parser.add_argument("--video_length", type=int, default=None)
    parser.add_argument("--video_interval", type=int, default=None)
    parser.add_argument("--distributed", action="store_true", help="One process per GPU under torchrun.")
    parser.add_argument("--preset", default=None, help="Task preset, e.g. 'gpu' or 'cpu-smoke' (NIL tasks).")
    parser.add_argument("--reference", default=None, help="Reference bundle folder (NIL tasks; default: scripted demo).")
    parser.add_argument("--camera_mode", default=None, choices=["follow_agent", "reference_path", "fixed"],
                        help="How the NIL camera moves (default: the task's, reference_path).")
    parser.add_argument("--profile", default=None, choices=sorted(PROFILES),
                        help="NIL walk tasks: 'track' (default: imitate, and the policy observes where the reference's "
                             "robot is and which way it goes), 'clock' (track, and a clock at the reference's stride, "
                             "read from its masks), 'imitate' (25 Hz control, action scale 0.25, alive, "
                             "silhouette, pose, pace and heading terms on), 'walk' (imitate without pose, pace and heading) or "
                             "'paper' (the paper's 100 Hz control and reward).")
    parser.add_argument("--control_hz", type=float, default=None,
                        help="Policy and reward rate (NIL tasks; default: the profile's, 25 Hz; the paper's is 100). "
                             "The reference is retimed to it. A factory argument, not an override: it sets the "
                             "decimation and the render interval together.")
    parser.add_argument("--run_name", default=None, help="Suffix of the run's log folder (<timestamp>_<run_name>).")
    parser.add_argument("--eval_steps", type=int, default=None,
                        help="Steps of the side-by-side evaluation episode after training (default: a full episode).")
    add_sim_args(parser)  # --device, --viz, ...
    return parser.parse_args(argv)


def make_env(task_id: str, env_cfg, args: argparse.Namespace, log_dir: str):
    """Create the task and return it as a vectorised env (nil_ext.agents.vec_env's interface)."""
    if args.video and isinstance(env_cfg, (ManagerBasedRLEnvCfg, DirectRLEnvCfg)):
        from isaaclab_rl.entrypoints.common import apply_video_recording  # Isaac Lab's own recorder setup

        apply_video_recording(env_cfg, log_dir, args)
    elif args.video:
        print("[WARN] --video records Isaac Lab envs only; ignored for this task.")
    env = gym.make(task_id, cfg=env_cfg)
    if hasattr(env.unwrapped, "get_observations"):  # already vectorised in our interface (test tasks)
        return env.unwrapped
    return IsaacLabVecEnv(env)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    task_id = import_tasks(args.task, args.robot_config, args.checkpoint)

    factory = {"preset": args.preset, "camera_mode": args.camera_mode, "control_hz": args.control_hz,
               "profile": args.profile}
    env_cfg = load_cfg(task_id, "env_cfg_entry_point", **factory)
    agent_cfg = load_cfg(task_id, CFG_ENTRY_POINTS[args.agent], preset=args.preset)
    overrides = apply_overrides({"env": env_cfg, "agent": agent_cfg}, args.overrides)
    if hasattr(env_cfg, "set_reference"):  # NIL tasks: the user's reference, or the robot's scripted demo
        env_cfg.set_reference(args.reference)
        check_reference(env_cfg)
    rank = int(os.getenv("RANK", "0")) if args.distributed else 0
    if args.num_envs is not None:
        env_cfg.scene.num_envs = args.num_envs
    if args.seed is not None:
        agent_cfg.seed = args.seed
    if args.max_iterations is not None:
        agent_cfg.max_iterations = args.max_iterations
    if args.run_name is not None:
        agent_cfg.run_name = args.run_name
    device = resolve_device(args.device, agent_cfg.device)
    if args.distributed and torch.device(device).type == "cuda":
        device = f"cuda:{int(os.getenv('LOCAL_RANK', '0'))}"
    agent_cfg.device = env_cfg.sim.device = device
    check_env_cfg(env_cfg, device)  # a GPU run that would not fit is refused here, before the simulator starts
    env_cfg.seed = agent_cfg.seed + rank  # different envs on every process; the runner offsets its own seed
    if hasattr(env_cfg, "compute_final_obs"):
        env_cfg.compute_final_obs = True  # bootstrap time-outs from the true last observation

    experiment_dir = os.path.abspath(os.path.join("logs", args.agent, agent_cfg.experiment_name))
    log_dir = os.path.join(experiment_dir, datetime.now().strftime("%Y-%m-%d_%H-%M-%S"))
    if agent_cfg.run_name:
        log_dir += f"_{agent_cfg.run_name}"
    resume_path = args.checkpoint or (latest_checkpoint(experiment_dir) if args.resume else None)
    if resume_path is not None:  # a missing, corrupt or foreign checkpoint is said before the simulator starts
        read_checkpoint(resume_path, task_id if args.agent == "bro" else "", args.agent)

    is_isaaclab_env = isinstance(env_cfg, (ManagerBasedRLEnvCfg, DirectRLEnvCfg))  # test tasks need no simulator
    # the env is closed before the simulation, after a failure too (run_failure.closing)
    with (cli.launch_simulation(env_cfg, args) if is_isaaclab_env else contextlib.nullcontext(),
          closing(make_env(task_id, env_cfg, args, log_dir)) as env):
        if args.agent == "bro":
            agent_cfg.task_name = task_id
            runner = OffPolicyRunner(env, agent_cfg, log_dir=log_dir, device=device)
        else:
            from isaaclab_rl.rsl_rl import check_rsl_rl_version, create_rsl_rl_runner, handle_deprecated_rsl_rl_cfg

            agent_cfg = handle_deprecated_rsl_rl_cfg(agent_cfg, check_rsl_rl_version())
            runner = create_rsl_rl_runner(env, agent_cfg, log_dir=log_dir)
        if resume_path is not None:
            print(f"[INFO] Resuming from {resume_path}")
            runner.load(resume_path)
        if rank == 0:
            save_configs(log_dir, env_cfg, agent_cfg)
            save_run_settings(os.path.join(log_dir, "params"), task_id,
                              recorded_factory_args(task_id, env_cfg, factory), overrides, env_cfg)
        runner.learn(num_learning_iterations=agent_cfg.max_iterations)
        if args.agent == "bro" and rank == 0:
            print(f"[INFO] Exported policy: {runner.export_policy(os.path.join(log_dir, 'exported'))}")
            if hasattr(env_cfg, "imitation") and not runner.stop_requested:  # a stopped run exits promptly
                record_side_by_side(env, runner.get_inference_policy(), log_dir, args.eval_steps)


def record_side_by_side(env, policy, log_dir: str, steps: int | None) -> None:
    """One evaluation episode of the trained policy: a reference | agent | masks video and its numbers."""
    from nil_ext.evaluation.metrics import task_metrics
    from nil_ext.evaluation.rollout import run_episode
    from nil_ext.evaluation.video import write_video
    from nil_ext.tasks.mdp import imitation_term

    metrics = task_metrics(env.unwrapped)  # whole-body tasks: success instead of the walking reward
    stats = run_episode(env.env, policy, record=True, max_steps=steps, metrics=metrics)
    every = max(1, round(0.04 / env.unwrapped.step_dt))  # 25 fps in real time
    path = write_video(stats.frames[::every], os.path.join(log_dir, "videos", "side_by_side.mp4"), fps=25)
    score = (f"success {stats.extra['success'].mean():.2f}" if metrics is not None
             else f"env reward {stats.env_reward.mean():.1f} (per episode), speed {stats.forward_speed.mean():.2f} m/s")
    state = imitation_term(env)
    if state.camera_mode == "reference_path":  # the curriculum's speed, which this episode was seen with
        score += f", camera at {float(state.camera_speed):.2f} x the reference's speed"
    print(f"[INFO] Side-by-side video: {path}\n"
          f"       {score}, mask IoU {stats.mean_iou.mean():.3f}, falls {int(stats.fell.sum())}/{len(stats.fell)}")


def save_configs(log_dir: str, env_cfg, agent_cfg) -> None:
    """Write the resolved configs as JSON (and YAML, with Isaac Lab's writer) into ``log_dir/params``."""
    from isaaclab.utils.io import dump_yaml

    params = os.path.join(log_dir, "params")
    os.makedirs(params, exist_ok=True)
    for name, cfg in (("env", env_cfg), ("agent", agent_cfg)):
        data = cfg.to_dict() if hasattr(cfg, "to_dict") else dict(vars(cfg))
        with open(os.path.join(params, f"{name}.json"), "w") as f:
            json.dump(data, f, indent=2, default=str)
        dump_yaml(os.path.join(params, f"{name}.yaml"), data)


if __name__ == "__main__":
    exit_promptly(cli.run(main))  # a failed run goes within seconds, whatever its threads and device are doing
