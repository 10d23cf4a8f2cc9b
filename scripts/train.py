"""Train an agent on a registered task: BRO (default; nil_ext's off-policy runner) or PPO (rsl_rl).

    python scripts/train.py --task <Gym-Id> [--agent bro|ppo] [--num_envs N] [--max_iterations K] [--seed S]
    python scripts/train.py --task <Gym-Id> --resume [--checkpoint logs/bro/<experiment>/<run>/model_1000.pt]
    torchrun --nproc_per_node=2 scripts/train.py --task <Gym-Id> --distributed

Tasks come from the ``isaaclab.tasks`` entry points (nil_ext registers its tasks there) or, written as
``module:Gym-Id``, from importing ``module`` first. A task's gym kwargs name its configs:
``env_cfg_entry_point``, ``bro_cfg_entry_point`` and ``rsl_rl_cfg_entry_point``. Runs are logged under
``logs/<agent>/<experiment>/<timestamp>/`` with the resolved configs in ``params/``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
from datetime import datetime

import gymnasium as gym
import torch
from isaaclab.app import launch_simulation
from isaaclab.envs import DirectRLEnvCfg, ManagerBasedRLEnvCfg

from nil_ext.agents.bro import OffPolicyRunner
from nil_ext.agents.bro.runner import check_checkpoint
from nil_ext.agents.vec_env import IsaacLabVecEnv
from nil_ext.rewards.nil_reward import ABLATIONS
from nil_ext.tasks.walk.walk_env_cfg import PROFILES
from nil_ext.task_loading import (
    add_sim_args,
    import_tasks,
    latest_checkpoint,
    load_cfg,
    resolve_device,
    set_reward_weights,
)

CFG_ENTRY_POINTS = {"bro": "bro_cfg_entry_point", "ppo": "rsl_rl_cfg_entry_point"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", required=True, help="Gym id, or module:Gym-Id to import module first.")
    parser.add_argument("--robot_config", "--robot-config", default=None,
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
    parser.add_argument("--no_curriculum", action="store_true",
                        help="reference_path camera at the reference's full speed from the start (no speed curriculum).")
    parser.add_argument("--camera_speed", type=float, default=None,
                        help="reference_path camera's starting speed, as a fraction of the reference's (default "
                             "0.3), below which the curriculum never takes it (a resumed run continues from its "
                             "checkpoint's speed).")
    parser.add_argument("--profile", default=None, choices=sorted(PROFILES),
                        help="NIL walk tasks: 'walk' (default: 25 Hz control, action scale 0.25, alive and silhouette "
                             "terms on; what walks) or 'paper' (the paper's 100 Hz control and reward).")
    parser.add_argument("--control_hz", type=float, default=None,
                        help="Policy and reward rate (NIL tasks; default: the profile's, 25 Hz; the paper's is 100). "
                             "The reference is retimed to it.")
    parser.add_argument("--action_scale", type=float, default=None,
                        help="Radians of PD target offset per unit of action (NIL tasks; default: the profile's). "
                             "Play and evaluate take the run's.")
    parser.add_argument("--ablation", default=None, choices=sorted(ABLATIONS),
                        help="Reward terms to keep, as the paper's ablation rows (NIL tasks), e.g. no_video.")
    parser.add_argument("--reward", action="append", default=None, metavar="TERM=WEIGHT",
                        help="Set a reward term's weight (repeatable; NIL tasks), e.g. --reward iou=0.5 or "
                             "--reward alive=0 (one of the profile's two terms beyond the paper).")
    parser.add_argument("--gamma", type=float, default=None,
                        help="BRO discount (default 0.99). Its horizon, ~1 / (1 - gamma) steps, is in steps: 0.99 sees "
                             "~1 s ahead at 100 Hz, ~2 s at 50 Hz.")
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

    env_cfg = load_cfg(task_id, "env_cfg_entry_point", preset=args.preset, camera_mode=args.camera_mode,
                       camera_speed_curriculum=False if args.no_curriculum else None, control_hz=args.control_hz,
                       action_scale=args.action_scale, profile=args.profile)
    agent_cfg = load_cfg(task_id, CFG_ENTRY_POINTS[args.agent], preset=args.preset)
    if hasattr(env_cfg, "set_reference"):  # NIL tasks: the user's reference, or the robot's scripted demo
        env_cfg.set_reference(args.reference)
    if args.ablation is not None:
        if not hasattr(env_cfg, "imitation"):
            raise SystemExit(f"--ablation applies to NIL tasks; {task_id} has no imitation reward.")
        env_cfg.imitation.reward = dataclasses.replace(env_cfg.imitation.reward, ablation=args.ablation)
    set_reward_weights(env_cfg, args.reward)
    if args.camera_speed is not None:
        env_cfg.imitation.camera_speed = args.camera_speed
    rank = int(os.getenv("RANK", "0")) if args.distributed else 0
    if args.num_envs is not None:
        env_cfg.scene.num_envs = args.num_envs
    if args.seed is not None:
        agent_cfg.seed = args.seed
    if args.max_iterations is not None:
        agent_cfg.max_iterations = args.max_iterations
    if args.run_name is not None:
        agent_cfg.run_name = args.run_name
    if args.gamma is not None:
        if args.agent != "bro":
            raise SystemExit("--gamma applies to the BRO agent (--agent bro); PPO's is agent.algorithm.gamma.")
        agent_cfg.algorithm.gamma = args.gamma
    device = resolve_device(args.device, agent_cfg.device)
    if args.distributed and torch.device(device).type == "cuda":
        device = f"cuda:{int(os.getenv('LOCAL_RANK', '0'))}"
    agent_cfg.device = env_cfg.sim.device = device
    env_cfg.seed = agent_cfg.seed + rank  # different envs on every process; the runner offsets its own seed
    if hasattr(env_cfg, "compute_final_obs"):
        env_cfg.compute_final_obs = True  # bootstrap time-outs from the true last observation

    experiment_dir = os.path.abspath(os.path.join("logs", args.agent, agent_cfg.experiment_name))
    log_dir = os.path.join(experiment_dir, datetime.now().strftime("%Y-%m-%d_%H-%M-%S"))
    if agent_cfg.run_name:
        log_dir += f"_{agent_cfg.run_name}"
    resume_path = args.checkpoint or (latest_checkpoint(experiment_dir) if args.resume else None)

    is_isaaclab_env = isinstance(env_cfg, (ManagerBasedRLEnvCfg, DirectRLEnvCfg))  # test tasks need no simulator
    with launch_simulation(env_cfg, args) if is_isaaclab_env else contextlib.nullcontext():
        env = make_env(task_id, env_cfg, args, log_dir)
        if args.agent == "bro":
            agent_cfg.task_name = task_id
            runner = OffPolicyRunner(env, agent_cfg, log_dir=log_dir, device=device)
        else:
            from isaaclab_rl.rsl_rl import check_rsl_rl_version, create_rsl_rl_runner, handle_deprecated_rsl_rl_cfg

            agent_cfg = handle_deprecated_rsl_rl_cfg(agent_cfg, check_rsl_rl_version())
            runner = create_rsl_rl_runner(env, agent_cfg, log_dir=log_dir)
        if resume_path is not None:
            print(f"[INFO] Resuming from {resume_path}")
            if args.agent == "ppo":  # rsl_rl would fail on a BRO checkpoint with a KeyError; say why instead
                state = torch.load(resume_path, map_location="cpu", weights_only=False)
                check_checkpoint(state, resume_path, task="", agent="ppo")
            runner.load(resume_path)
        if rank == 0:
            save_configs(log_dir, env_cfg, agent_cfg)
        runner.learn(num_learning_iterations=agent_cfg.max_iterations)
        if args.agent == "bro" and rank == 0:
            print(f"[INFO] Exported policy: {runner.export_policy(os.path.join(log_dir, 'exported'))}")
            if hasattr(env_cfg, "imitation") and not runner.stop_requested:  # a stopped run exits promptly
                record_side_by_side(env, runner.get_inference_policy(), log_dir, args.eval_steps)
        env.close()


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
    main()
