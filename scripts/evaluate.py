"""Evaluate policies on a NIL task the way the paper reports them, with floors, as a table and JSON.

    ./isaaclab.sh -p scripts/evaluate.py --task NIL-A1-Walk --checkpoint logs/bro/nil_a1_walk/<run>/model_5000.pt
    ./isaaclab.sh -p scripts/evaluate.py --task NIL-H1-Walk --floors_only      # random and standing policies
    ./isaaclab.sh -p scripts/evaluate.py --task NIL-A1-Walk --checkpoint run_seed1/model_2400.pt run_seed2/model_2400.pt
    ./isaaclab.sh -p scripts/evaluate.py --task NIL-G1-Walk --checkpoint <run>/model_6*.pt --seeds 2 3  # pick one
    ./isaaclab.sh -p scripts/evaluate.py --task NIL-A1-Walk --checkpoint ... --sampled  # + the actor's samples
    ./isaaclab.sh -p scripts/evaluate.py --task NIL-A1-Walk --checkpoint ... env.events.reset_base=None  # an override

The env is the one the checkpoints' run trained in (its params/overrides.json, replayed; the checkpoints must agree),
in Isaac Lab's play mode, then the overrides given here.

Metrics per episode (never used in training): the environment reward (LocoMujoco's default task reward, summed
over 400 control steps for humanoids, 300 for A1 at 100 Hz, so that the expert scores 400 / 300), and how closely the
policy imitates: speed ratio (forward speed along the reference's travel over the reference's own speed), mask IoU
with the camera on the reference's path at full speed (pace and posture together), pose IoU (centred masks seen by a
camera that follows the agent: the posture alone), heading error of the base and the torso against the reference's
direction of travel (degrees), video similarity, and falls. Mean +- std over episodes, env seeds and checkpoints
(training seeds; the table's last lines and the JSON also have one row per checkpoint: to pick one of a run's
checkpoints, judge them on
other seeds than those you report, as docs/experiments/2026-11-25-four-robots-defaults.md does). Whole-body tasks
(SitChair, HangBar, BalanceBoard) report their success rate and normalised imitation reward instead
(nil_ext.evaluation.metrics).
"""

from __future__ import annotations

import json
import os
import sys
from argparse import RawDescriptionHelpFormatter

import numpy as np
import torch

from nil_ext import cli
from nil_ext.assets.robots import get_robot_spec
from nil_ext.errors import CheckpointError
from nil_ext.evaluation import EXPERT_SCORE
from nil_ext.evaluation.metrics import task_metrics
from nil_ext.evaluation.rollout import (
    broken_episodes,
    checkpoint_policies,
    random_policy,
    run_episode,
    standing_policy,
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


def parse_args(argv=None):
    p = cli.ArgumentParser(description=__doc__, formatter_class=RawDescriptionHelpFormatter, overrides=True)
    p.add_argument("--task", required=True)
    p.add_argument("--robot_config", default=None,
                   help="robot file (TOML) of a robot outside assets/robots (default: the one the checkpoints' run used)")
    p.add_argument("--checkpoint", nargs="+", default=[],
                   help="BRO checkpoint(s) (model_*.pt); several (one per training seed) pool into one row")
    p.add_argument("--floors_only", action="store_true", help="evaluate only the random and standing policies")
    p.add_argument("--no_floors", action="store_true", help="skip the random and standing policies")
    p.add_argument("--num_envs", type=int, default=4, help="episodes run in parallel per seed")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--preset", default="cpu-smoke")
    p.add_argument("--camera_mode", default=None, choices=["follow_agent", "reference_path", "fixed"])
    p.add_argument("--reference", default=None,
                   help="reference bundle folder (default: the one the checkpoints trained on, while it exists and "
                        "--preset is their run's; else the scripted demo)")
    p.add_argument("--control_hz", type=float, default=None,
                   help="policy rate (default: the checkpoints' run's, else the task's profile's)")
    p.add_argument("--steps", type=int, default=None, help="control steps per episode (default: the paper's)")
    p.add_argument("--sampled", action="store_true",
                   help="also judge the actor's samples (its own noise kept), as a row 'NIL sampled'; the exported "
                        "policy and the 'NIL (BRO)' row act with tanh(mean)")
    p.add_argument("--json", default=None, help="write the results here (default: beside the checkpoint)")
    add_sim_args(p)
    return p.parse_args(argv)


FIDELITY = {  # JSON key -> EpisodeStats field: imitation, not only walking (mean and std over episodes)
    "speed_ratio": "speed_ratio",
    "iou": "mean_iou",
    "pose_iou": "mean_pose_iou",
    "heading_error_deg": "heading_error_deg",
    "torso_heading_error_deg": "torso_heading_error_deg",
    "cadence_ratio": "cadence_ratio",
}


def summarise(name: str, episodes: list) -> dict:
    """One row: the env reward, the fidelity columns (speed ratio: forward speed along the reference's travel over
    the reference's own speed; IoU with the camera on the reference's path; pose IoU, the centred masks seen by a
    camera that follows the agent; heading errors of base and torso in degrees; cadence ratio, the reference's gait
    period over the agent's, over the episodes where the agent's silhouette repeats, ``cadence_found`` the share of
    those) and falls."""
    def values(field: str) -> np.ndarray | None:
        if field == "speed_ratio":
            return np.concatenate([e.forward_speed / e.reference_speed for e in episodes])
        parts = [getattr(e, field) for e in episodes]
        return None if any(p is None for p in parts) else np.concatenate(parts)

    cat = {k: values(k) for k in ("env_reward", "mean_video", "forward_speed", "fell")}
    row = {
        "policy": name,
        "episodes": int(len(cat["env_reward"])),
        "env_reward_mean": float(cat["env_reward"].mean()),
        "env_reward_std": float(cat["env_reward"].std()),
        "video_mean": float(cat["mean_video"].mean()),
        "forward_speed_mean": float(cat["forward_speed"].mean()),
        "reference_speed": float(episodes[0].reference_speed),
        "falls_per_episode": float(cat["fell"].mean()),
        "broken_episodes": broken_episodes(episodes),
    }
    for key, field in FIDELITY.items():
        v = values(field)
        if key == "cadence_ratio" and v is not None:  # nan: no cadence found in that episode (standing, falling)
            row["cadence_found"] = float(np.isfinite(v).mean())
            v = v[np.isfinite(v)]
        row[f"{key}_mean"] = None if v is None or not len(v) else float(v.mean())
        row[f"{key}_std"] = None if v is None or not len(v) else float(v.std())
    return row


def _cell(row: dict, key: str, fmt: str) -> str:
    value = row.get(f"{key}_mean")
    return "-" if value is None or not np.isfinite(value) else format(value, fmt)


def trained_run(checkpoints: list[str], own: tuple[str, ...] = ()) -> dict:
    """The run settings (:func:`~nil_ext.task_loading.run_settings`) the checkpoints were trained with ({}:
    unknown, the task's defaults). A policy acts well only in its own env, so they must agree, but for the
    factory arguments in ``own`` (given on this command line) and the reference (see
    :func:`trained_reference_of`)."""
    runs = {c: run_settings(c) for c in checkpoints}

    def key(run: dict) -> str:
        factory = {k: v for k, v in run.get("factory", {}).items() if k not in own}
        return json.dumps({"factory": factory, "overrides": run.get("overrides", [])}, sort_keys=True)

    kinds = {}
    for checkpoint, run in runs.items():
        kinds.setdefault(key(run), []).append(checkpoint)
    if len(kinds) > 1:
        (a, first), (b, second) = [(paths[0], json.loads(k)) for k, paths in list(kinds.items())[:2]]
        fa, fb = first["factory"], second["factory"]
        differ = [f"{k} {fa.get(k)} vs {fb.get(k)}" for k in sorted({*fa, *fb}) if fa.get(k) != fb.get(k)]
        if first["overrides"] != second["overrides"]:
            differ.append(f"overrides {' '.join(first['overrides']) or 'none'} vs "
                          f"{' '.join(second['overrides']) or 'none'}")
        raise CheckpointError(f"The checkpoints {a} and {b} were trained with different settings "
                              f"({'; '.join(differ)}): evaluate them separately.")
    return next(iter(runs.values()), {})


def trained_reference_of(checkpoints: list[str], preset: str) -> str | None:
    """The reference bundle the checkpoints trained on (None: the task's default); they must agree."""
    references = {trained_reference(run_settings(c), preset) for c in checkpoints} - {None}
    if len(references) > 1:
        raise CheckpointError(f"The checkpoints were trained on different references "
                              f"({', '.join(sorted(references))}); evaluate them separately, or choose one with "
                              "--reference.")
    return references.pop() if references else None


def main(argv=None) -> None:
    args = parse_args(argv)
    task_id = import_tasks(args.task, args.robot_config, next(iter(args.checkpoint), None))
    for checkpoint in args.checkpoint:  # missing, corrupt or another task's: said before the simulator starts
        read_checkpoint(checkpoint, task_id, "bro")
    run = trained_run(args.checkpoint, own=("preset", "camera_mode") + (("control_hz",) if args.control_hz else ()))
    env_cfg = run_env_cfg(task_id, run, args.overrides, preset=args.preset, camera_mode=args.camera_mode,
                          num_envs=args.num_envs, control_hz=args.control_hz)
    device = env_cfg.sim.device = resolve_device(args.device, env_cfg.sim.device)
    env_cfg.set_reference(args.reference or trained_reference_of(args.checkpoint, args.preset))
    check_reference(env_cfg)
    spec = get_robot_spec(env_cfg.robot_name)
    expert = EXPERT_SCORE["quadruped" if spec.quadruped else "humanoid"]

    with cli.launch_simulation(env_cfg, args):
        import gymnasium as gym

        from nil_ext.agents.vec_env import IsaacLabVecEnv

        env = gym.make(task_id, cfg=env_cfg)
        vec_env = IsaacLabVecEnv(env)
        metrics = task_metrics(env.unwrapped)  # the task's own (whole-body: success); None: the walk's table
        summary = metrics.summarise if metrics else summarise
        policies = {}  # name -> one policy per checkpoint (the floors: one)
        if not args.no_floors:
            policies["random"] = [random_policy(vec_env.num_actions)]
            policies["standing"] = [standing_policy(vec_env.num_actions)]
        if args.checkpoint and not args.floors_only:
            loaded = [checkpoint_policies(c, vec_env, device) for c in args.checkpoint]
            policies["NIL (BRO)"] = [mean for mean, _ in loaded]
            if args.sampled:
                policies["NIL sampled"] = [sampled for _, sampled in loaded]
        results, per_checkpoint = [], []
        for name, members in policies.items():
            episodes = []
            for i, policy in enumerate(members):
                own = []
                for seed in args.seeds:
                    torch.manual_seed(seed)
                    env.unwrapped.seed(seed)
                    own.append(run_episode(env, policy, max_steps=args.steps, metrics=metrics))
                episodes += own
                if len(members) > 1:
                    per_checkpoint.append(dict(summary(name, own), checkpoint=args.checkpoint[i]))
            results.append(summary(name, episodes))
        env.close()

    for r in results:
        if r.get("broken_episodes"):
            print(f"[WARN] {r['broken_episodes']} of {r['episodes']} episodes of {r['policy']} ended with the simulation "
                  "non-finite (NaN): counted as falls from that step. The physics blew up (a contact with a prop, "
                  "large actions); the run's TensorBoard Train/nonfinite_env_steps counts the same in training.")
    if metrics is not None:
        print(metrics.table(task_id, results))
    else:
        print(f"\n{task_id} (env reward: LocoMujoco default task reward; expert = {expert:.0f})")
        print(f"{'policy':12s} {'env reward':>18s} {'speed m/s':>9s} {'speed ratio':>11s} {'mask IoU':>9s} "
              f"{'pose IoU':>9s} {'heading°':>9s} {'torso°':>7s} {'cadence':>7s} {'video sim':>9s} {'falls/ep':>9s}")
        for r in results:
            print(f"{r['policy']:12s} {r['env_reward_mean']:9.1f} +- {r['env_reward_std']:5.1f} "
                  f"{r['forward_speed_mean']:9.2f} {_cell(r, 'speed_ratio', '11.2f')} {_cell(r, 'iou', '9.3f')} "
                  f"{_cell(r, 'pose_iou', '9.3f')} {_cell(r, 'heading_error_deg', '9.1f')} "
                  f"{_cell(r, 'torso_heading_error_deg', '7.1f')} {_cell(r, 'cadence_ratio', '7.2f')} "
                  f"{r['video_mean']:9.3f} {r['falls_per_episode']:9.2f}")
        print(f"(speed ratio: over the reference's {results[0]['reference_speed']:.2f} m/s; mask IoU: camera on the "
              "reference's path at full speed; pose IoU: centred masks, camera following the agent; heading: |yaw| "
              "of base and torso against the reference's travel, degrees; cadence: the reference's gait period over "
              "the agent's, both from their silhouettes, in the episodes where the agent's repeats)")
        # one line per checkpoint, named as given (two seeds' model_2400.pt differ): the last checkpoint of a run is
        # not always its best
        for r in per_checkpoint:
            print(f"  {r['policy']}, {r['checkpoint']}: env reward {r['env_reward_mean']:.1f} +- "
                  f"{r['env_reward_std']:.1f}, {r['forward_speed_mean']:.2f} m/s, speed ratio "
                  f"{_cell(r, 'speed_ratio', '.2f')}, IoU {_cell(r, 'iou', '.3f')}, pose IoU "
                  f"{_cell(r, 'pose_iou', '.3f')}, heading {_cell(r, 'heading_error_deg', '.1f')}°, cadence "
                  f"{_cell(r, 'cadence_ratio', '.2f')} ({r.get('cadence_found', 0):.0%} found), "
                  f"falls/ep {r['falls_per_episode']:.2f}")
    report = {"task": task_id, "expert": expert, "camera_mode": env_cfg.imitation.camera.mode,
              "control_hz": control_rate_hz(env_cfg),
              "reference": env_cfg.imitation.reference, "checkpoints": args.checkpoint, "results": results}
    if per_checkpoint:  # one row per training seed, in --checkpoint's order
        report["per_checkpoint"] = per_checkpoint
    if metrics is not None:
        report.update(metrics.report())
    out = args.json or (os.path.join(os.path.dirname(args.checkpoint[0]), "evaluation.json") if args.checkpoint else None)
    if out:
        with open(out, "w") as f:
            json.dump(report, f, indent=2)
        print(f"[INFO] Results: {out}")


if __name__ == "__main__":
    sys.exit(cli.run(main))
