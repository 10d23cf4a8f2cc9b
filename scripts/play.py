"""Play a trained NIL policy for one episode: a side-by-side video, a plot of every reward term, and the exported
policy (TorchScript + ONNX, checked against each other) with the observation / action layout a robot needs.

    ./isaaclab.sh -p scripts/play.py --task NIL-H1-Walk                      # latest logs/bro/nil_h1_walk checkpoint
    ./isaaclab.sh -p scripts/play.py --task NIL-H1-Walk --checkpoint logs/bro/nil_h1_walk/<run>/model_1500.pt
    ./isaaclab.sh -p scripts/play.py --task NIL-H1-Walk --viz kit            # also in the Isaac viewer (Isaac Sim, GPU)

Writes beside the checkpoint: ``play/side_by_side.mp4`` (reference | agent | masks with IoU, real time),
``play/rewards.png`` (each reward term and the environment reward per step), and ``exported/policy.pt``,
``exported/policy.onnx``, ``exported/observation_layout.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch
from isaaclab.app import add_launcher_args, launch_simulation

from nil_ext.task_loading import (
    import_tasks,
    latest_checkpoint,
    load_cfg,
    resolve_device,
    run_settings,
    trained_reference,
)

ONNX_TOLERANCE = 1e-4


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", required=True)
    p.add_argument("--checkpoint", help="BRO checkpoint (model_*.pt); default: the latest of logs/bro/<experiment>")
    p.add_argument("--preset", default=None, help="task preset (default: the checkpoint run's, else cpu-smoke)")
    p.add_argument("--camera_mode", default=None, choices=["follow_agent", "reference_path", "fixed"],
                   help="default: the checkpoint run's, else the task's")
    p.add_argument("--reference", default=None,
                   help="reference bundle folder (default: the one the run trained on, while it exists and the "
                        "preset is the run's; else the scripted demo)")
    p.add_argument("--steps", type=int, default=None, help="control steps (default: a full episode)")
    p.add_argument("--headless", action="store_true", help="accepted for habit: runs are headless unless --viz")
    add_launcher_args(p)  # --device, --viz, ...
    return p.parse_args(argv)


def find_checkpoint(task_id: str, args) -> str:
    """--checkpoint, or the latest model_*.pt under logs/bro/<experiment_name>; exit with advice when none."""
    if args.checkpoint:
        if os.path.isfile(args.checkpoint):
            return os.path.abspath(args.checkpoint)
        sys.exit(f"[ERROR] No checkpoint at '{args.checkpoint}'.")
    experiment = load_cfg(task_id, "bro_cfg_entry_point", preset=args.preset or "cpu-smoke").experiment_name
    experiment_dir = os.path.abspath(os.path.join("logs", "bro", experiment))
    try:
        return latest_checkpoint(experiment_dir)
    except FileNotFoundError:
        sys.exit(
            f"[ERROR] No checkpoint found for {task_id}: looked for {experiment_dir}/<run>/model_*.pt "
            f"(logs/ is relative to the current directory).\n"
            f"  Train one:  ./isaaclab.sh -p scripts/train.py --task {task_id} --headless --preset cpu-smoke\n"
            f"  or pass --checkpoint PATH/model_N.pt"
        )


def check_viewer(args) -> None:
    """--viz kit needs Isaac Sim and a GPU; without them say so before building anything."""
    if "kit" not in (args.visualizer or []):
        return
    from isaaclab_physx.app import KitLauncher

    missing = [what for what, ok in (("Isaac Sim", KitLauncher.is_available()),
                                     ("a CUDA GPU", torch.cuda.is_available())) if not ok]
    if missing:
        sys.exit(
            f"[ERROR] --viz kit opens the Isaac viewer, which needs {' and '.join(missing)} (not found here).\n"
            "  Install Isaac Sim into this environment on a GPU machine:  ./isaaclab.sh -p -m pip install "
            "'isaaclab[isaacsim]'\n"
            "  Without it, drop --viz: play.py then writes play/side_by_side.mp4 (reference | agent | masks), "
            "which works everywhere."
        )


def observation_layout(env, task_id: str, checkpoint: str, files: dict) -> dict:
    """What a deployment needs besides the network: observation terms in order, actions, control rate."""
    from nil_ext.tasks.mdp import imitation_term

    unwrapped = env.unwrapped
    obs_manager, action_manager = unwrapped.observation_manager, unwrapped.action_manager
    group_cfg = getattr(unwrapped.cfg.observations, "policy", None)
    terms, start = [], 0
    for name, shape in zip(obs_manager.active_terms["policy"], obs_manager.group_obs_term_dim["policy"], strict=True):
        size = int(np.prod(shape))
        scale = getattr(getattr(group_cfg, name, None), "scale", None)
        terms.append({"name": name, "start": start, "size": size, "scale": 1.0 if scale is None else scale})
        start += size
    actions = []
    for name, size in zip(action_manager.active_terms, action_manager.action_term_dim, strict=True):
        cfg = action_manager.get_term(name).cfg
        term = {"name": name, "type": type(action_manager.get_term(name)).__name__, "size": int(size)}
        if hasattr(cfg, "joint_names"):
            asset = unwrapped.scene[cfg.asset_name]
            ids, joints = asset.find_joints(cfg.joint_names, preserve_order=cfg.preserve_order)
            offset = asset.data.default_joint_pos.torch[0, ids] if getattr(cfg, "use_default_offset", False) else None
            term.update(joint_names=list(joints), scale=cfg.scale,
                        offset=offset.tolist() if offset is not None else cfg.offset)
        if hasattr(cfg, "low_pass_alpha"):  # the deployment must filter the targets the same way
            term["low_pass_alpha"] = cfg.low_pass_alpha
        actions.append(term)
    return {
        "task": task_id,
        "checkpoint": os.path.basename(checkpoint),
        "files": {k: os.path.basename(v) for k, v in files.items()},
        "input": "obs: (batch, obs_dim) raw observations (the exported policy normalises them itself)",
        "output": ("actions: (batch, action_dim) in [-1, 1]; joint position targets = offset + scale * action, then "
                   "low-pass filtered where a term has low_pass_alpha: target += low_pass_alpha * (that - target)"),
        "control_dt": unwrapped.step_dt,
        "physics_dt": unwrapped.physics_dt,
        "observation": {"group": "policy", "dim": start, "terms": terms},
        # phase = control steps since the episode began / (reference_steps - 1), at most 1
        "reference_steps": imitation_term(unwrapped).reward.num_ref_frames,
        "action": {"dim": action_manager.total_action_dim, "terms": actions},
    }


def check_onnx(policy, onnx_path: str, obs_dim: int, n: int = 100) -> float:
    """Max |onnxruntime - torch| over n random observations; exits non-zero above ONNX_TOLERANCE."""
    import onnxruntime as ort

    obs = torch.randn(n, obs_dim, generator=torch.Generator().manual_seed(0)) * 2.0
    with torch.inference_mode():
        expected = policy(obs).numpy()
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    actual = session.run(["actions"], {"obs": obs.numpy()})[0]
    diff = float(np.abs(actual - expected).max())
    print(f"[INFO] ONNX check: max |onnxruntime - torch| = {diff:.3e} over {n} random observations")
    if not diff < ONNX_TOLERANCE:
        sys.exit(f"[ERROR] The ONNX export disagrees with the torch policy: {diff:.3e} >= {ONNX_TOLERANCE:g}.")
    return diff


def main(argv=None) -> None:
    args = parse_args(argv)
    task_id = import_tasks(args.task)
    check_viewer(args)
    checkpoint = find_checkpoint(task_id, args)
    run = run_settings(checkpoint)
    preset = args.preset or run.get("preset") or "cpu-smoke"
    env_cfg = load_cfg(task_id, "env_cfg_entry_point", preset=preset, num_envs=1,
                       camera_mode=args.camera_mode or run.get("camera_mode"), control_hz=run.get("control_hz"),
                       camera_speed_curriculum=False)  # judged with the reference's own camera
    device = env_cfg.sim.device = resolve_device(args.device, env_cfg.sim.device)
    env_cfg.set_reference(args.reference or trained_reference(run, preset))
    out_dir = os.path.join(os.path.dirname(checkpoint), "play")
    export_dir = os.path.join(os.path.dirname(checkpoint), "exported")

    with launch_simulation(env_cfg, args):
        import gymnasium as gym

        from nil_ext.agents.bro import OffPolicyRunner
        from nil_ext.agents.vec_env import IsaacLabVecEnv
        from nil_ext.evaluation.plots import plot_reward_terms
        from nil_ext.evaluation.rollout import run_episode
        from nil_ext.evaluation.video import write_video

        env = gym.make(task_id, cfg=env_cfg)
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
        runner = OffPolicyRunner(IsaacLabVecEnv(env), state["cfg"], log_dir=None, device=device)
        runner.load(checkpoint, load_optimizer=False)
        print(f"[INFO] Playing {checkpoint} (iteration {state['iteration']}) on {task_id}, preset {preset}, "
              f"camera {env_cfg.imitation.camera.mode}")

        stats = run_episode(env, runner.get_inference_policy(), record=True, max_steps=args.steps)
        every = max(1, round(0.04 / env.unwrapped.step_dt))  # 25 fps in real time
        video = write_video(stats.frames[::every], os.path.join(out_dir, "side_by_side.mp4"), fps=25)
        run_name = os.path.join(*checkpoint.split(os.sep)[-2:])
        plot = plot_reward_terms(stats.terms, os.path.join(out_dir, "rewards.png"), dt=env.unwrapped.step_dt,
                                 title=f"{task_id}  {run_name}: reward terms of one episode (env 0)")

        files = runner.export_policy(export_dir)
        diff = check_onnx(runner.get_inference_policy("cpu"), files["onnx"], runner.alg.obs_dim)
        layout = observation_layout(env, task_id, checkpoint, files)
        layout["onnx_max_abs_diff"] = diff
        layout_path = os.path.join(export_dir, "observation_layout.json")
        with open(layout_path, "w") as f:
            json.dump(layout, f, indent=2)
        env.close()

    print(
        f"[INFO] Episode: {len(stats.frames)} steps, env reward {stats.env_reward[0]:.1f} (sum), "
        f"mask IoU {stats.mean_iou[0]:.3f}, fell: {bool(stats.fell[0])}\n"
        f"[INFO] Side-by-side video: {video}\n"
        f"[INFO] Reward plot:        {plot}\n"
        f"[INFO] TorchScript policy: {files['torchscript']}\n"
        f"[INFO] ONNX policy:        {files['onnx']}\n"
        f"[INFO] Observation layout: {layout_path}"
    )


if __name__ == "__main__":
    main()
