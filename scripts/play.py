"""Play a trained NIL policy for one episode: a side-by-side video, a plot of every reward term, and the exported
policy (TorchScript + ONNX, checked against each other) with the observation / action layout a robot needs.

    ./isaaclab.sh -p scripts/play.py --task NIL-H1-Walk                      # latest logs/bro/nil_h1_walk checkpoint
    ./isaaclab.sh -p scripts/play.py --task NIL-H1-Walk --checkpoint logs/bro/nil_h1_walk/<run>/model_1500.pt
    ./isaaclab.sh -p scripts/play.py --task NIL-H1-Walk --viz viser          # then in the browser, looping (kit-less)
    ./isaaclab.sh -p scripts/play.py --task NIL-H1-Walk --viz newton_gl      # then in Newton's window (needs a display)
    ./isaaclab.sh -p scripts/play.py --task NIL-H1-Walk --viz kit            # also in the Isaac viewer (Isaac Sim, GPU)
    ./isaaclab.sh -p scripts/play.py --task NIL-H1-Walk env.imitation.camera.mode=fixed  # an override of the env

The env is the one the checkpoint's run trained in: its params/overrides.json (task factory arguments and
overrides, written by train.py) is replayed, then Isaac Lab's play mode, then the overrides given here.

Writes beside the checkpoint: ``play/side_by_side.mp4`` (reference | agent | masks with IoU, real time, 256 px
panels: ``--video_size``), ``play/strip.png`` (four moments of it), ``play/rewards.png`` (each reward term and the
environment reward per step), and ``exported/policy.pt``,
``exported/policy.onnx``, ``exported/observation_layout.json``; for a policy shipped in ``policies/<name>/``, the same
files under ``logs/play/<name>/`` (the shipped folder stays as committed; ``--output_dir`` chooses). With ``--viz viser`` or ``--viz newton_gl`` it then
keeps playing the policy's episode in the viewer, in real time, until Ctrl-C (or ``--loops`` episodes); viser's side
panel shows the recorded side-by-side frame (reference | agent | masks) of each step.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from argparse import RawDescriptionHelpFormatter

import numpy as np
import torch

from nil_ext import cli
from nil_ext.task_loading import (
    add_sim_args,
    check_reference,
    import_tasks,
    latest_checkpoint,
    load_cfg,
    read_checkpoint,
    resolve_device,
    run_env_cfg,
    run_settings,
    trained_reference,
)

ONNX_TOLERANCE = 1e-4
SHIPPED_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "policies")


def parse_args(argv=None):
    p = cli.ArgumentParser(description=__doc__, formatter_class=RawDescriptionHelpFormatter, overrides=True)
    p.add_argument("--task", required=True)
    p.add_argument("--robot_config", default=None,
                   help="robot file (TOML) of a robot outside assets/robots (default: the one the checkpoint's run used)")
    p.add_argument("--checkpoint", help="BRO checkpoint (model_*.pt); default: the latest of logs/bro/<experiment>")
    p.add_argument("--preset", default=None, help="task preset (default: the checkpoint run's, else cpu-smoke)")
    p.add_argument("--camera_mode", default=None, choices=["follow_agent", "reference_path", "fixed"],
                   help="default: the checkpoint run's, else the task's")
    p.add_argument("--reference", default=None,
                   help="reference bundle folder (default: the one the run trained on, while it exists and the "
                        "preset is the run's; else the scripted demo)")
    p.add_argument("--output_dir", default=None,
                   help="folder for play/ and exported/ (default: the checkpoint's; for a policy shipped in policies/, "
                        "logs/play/<policy>)")
    p.add_argument("--steps", type=int, default=None, help="control steps (default: a full episode)")
    p.add_argument("--video_size", type=int, default=256,
                   help="side of the side-by-side video's panels in px (a camera of the training camera's view at this "
                        "size, for the video only; training's own camera keeps its size)")
    p.add_argument("--viz_port", type=int, default=8080, help="--viz viser: the browser viewer's port (default 8080)")
    p.add_argument("--loops", type=int, default=None,
                   help="--viz viser/newton_gl: episodes to show after the recorded one (default: until Ctrl-C or the "
                        "viewer's window closes)")
    add_sim_args(p)  # --device, --viz, ...
    return p.parse_args(argv)


def find_checkpoint(task_id: str, args) -> str:
    """--checkpoint, or the latest model_*.pt under logs/bro/<experiment_name>; exit with advice when none."""
    if args.checkpoint:
        return os.path.abspath(args.checkpoint) if os.path.isfile(args.checkpoint) else args.checkpoint
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


def output_root(checkpoint: str, given: str | None) -> str:
    """The folder that gets ``play/`` and ``exported/``: ``--output_dir``, else the checkpoint's own; for a policy
    shipped in ``policies/``, ``logs/play/<policy>/``, so that playing one leaves the clone as it was."""
    if given:
        return os.path.abspath(given)
    folder = os.path.dirname(os.path.abspath(checkpoint))
    if os.path.dirname(folder) == SHIPPED_DIR:
        return os.path.abspath(os.path.join("logs", "play", os.path.basename(folder)))
    return folder


def check_viewer(args) -> None:
    """The viewer's needs, checked before building anything: --viz kit needs Isaac Sim and a GPU, --viz viser the
    viser package and a free port, --viz newton_gl a display."""
    viewers = args.visualizer or []
    if "kit" in viewers:
        check_kit()
    if "viser" in viewers:
        try:
            import viser  # noqa: F401
        except ImportError as err:
            sys.exit(f"[ERROR] --viz viser needs the viser package ({err}); requirements/pins.txt pins it.\n"
                     "  Rebuild the environment:  ./isaaclab.sh --install")
        with socket.socket() as probe:  # viser would quietly take the next free port; say so instead
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("0.0.0.0", args.viz_port))
            except OSError as err:
                sys.exit(f"[ERROR] --viz viser cannot serve on port {args.viz_port}: {err.strerror}. "
                         "Pick another with --viz_port N.")
    if "newton_gl" in viewers and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        sys.exit("[ERROR] --viz newton_gl opens a window and needs a display (DISPLAY is unset).\n"
                 "  Headless, use --viz viser: the same scene in a browser (http://localhost:8080).")


def check_kit() -> None:
    from isaaclab_physx.app import KitLauncher

    missing = [what for what, ok in (("Isaac Sim", KitLauncher.is_available()),
                                     ("a CUDA GPU", torch.cuda.is_available())) if not ok]
    if missing:
        sys.exit(
            f"[ERROR] --viz kit opens the Isaac viewer, which needs {' and '.join(missing)} (not found here).\n"
            "  Install Isaac Sim into this environment on a GPU machine:  ./isaaclab.sh -p -m pip install "
            "'isaaclab[isaacsim]'\n"
            "  Without it, drop --viz: play.py then writes play/side_by_side.mp4 (reference | agent | masks), "
            "which works everywhere; --viz viser shows the episode in a browser."
        )


def configure_viewer(env_cfg, args) -> None:
    """--viz viser on --viz_port, looking at the robot from the front-right (the first env starts at the origin)."""
    if "viser" in (args.visualizer or []):
        from isaaclab_visualizers.viser import ViserVisualizerCfg

        h = env_cfg.scene.robot.init_state.pos[2]  # base height: the view scales with the robot
        env_cfg.sim.visualizer_cfgs = ViserVisualizerCfg(port=args.viz_port, eye=(3 * h, -3 * h, 1.5 * h),
                                                         lookat=(0.5 * h, 0.0, 0.7 * h))


@torch.inference_mode()
def serve_viewer(env, policy, frames: list[np.ndarray], loops: int | None, port: int) -> None:
    """--viz viser / newton_gl: play the policy's episode again and again in real time, as many steps as the recorded
    one, while the viewer is open (viser: until Ctrl-C), at most ``loops`` times. viser's side panel shows the
    recorded side-by-side frame (reference | agent | masks) of each step."""
    unwrapped = env.unwrapped
    panel = viser_image(unwrapped.sim, frames[0])
    if panel is not None:
        print(f"[INFO] Viewer: http://localhost:{port}  (Ctrl-C stops)", flush=True)
    episode = 0
    try:
        while unwrapped.sim.is_running() and (loops is None or episode < loops):
            obs, _ = env.reset()
            for frame in frames:
                start = time.monotonic()
                obs, *_ = env.step(policy(obs["policy"]))
                if panel is not None:
                    panel.image = frame
                time.sleep(max(0.0, unwrapped.step_dt - (time.monotonic() - start)))
            episode += 1
            print(f"[INFO] Viewer: episode {episode} played", flush=True)
    except KeyboardInterrupt:
        print("[INFO] Viewer stopped")


def viser_image(sim, image: np.ndarray):
    """An image in the side panel of Isaac Lab's viser viewer (None without one). The one adapter to a private
    handle: written for Isaac Lab 3.0.0 (isaaclab_visualizers' ViserVisualizer), whose visualizer offers no public
    handle on its viser server; this reaches it the way Isaac Lab's own code does (``_viewer._server``)."""
    for viz in sim.visualizers:
        server = getattr(getattr(viz, "_viewer", None), "_server", None)
        if viz.cfg.visualizer_type == "viser" and server is not None:
            return server.gui.add_image(image, label="reference | agent | masks (recorded episode)")
    return None


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
    layout = {
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
        "reference_steps": imitation_term(unwrapped).num_ref_frames,
        "action": {"dim": action_manager.total_action_dim, "terms": actions},
    }
    if "reference" in obs_manager.active_terms["policy"]:  # the track profile: the reference robot's path to observe
        command = imitation_term(unwrapped)
        layout["reference_path"] = {
            "about": ("reference term = the offset from the base to start + travel[step] (m, ground) rotated into "
                      "the base's yaw frame, then cos and sin of travel_yaw - base yaw"),
            "travel": command.camera_travel[:, :2].tolist(), "travel_yaw": command.travel_yaw}
    if "gait_clock" in obs_manager.active_terms["policy"]:  # the clock profile: the reference's stride
        layout["gait_clock"] = {
            "about": ("gait_clock term = cos, sin of 2 pi step / period_steps, then of pi step / period_steps; step = "
                      "control steps since the episode began, at most reference_steps - 1"),
            "period_steps": imitation_term(unwrapped).gait_period().frames}
    return layout


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
    task_id = import_tasks(args.task, args.robot_config, args.checkpoint)
    check_viewer(args)
    checkpoint = find_checkpoint(task_id, args)
    state = read_checkpoint(checkpoint, task_id, "bro")  # missing, corrupt or another task's: said before launching
    run = run_settings(checkpoint)
    preset = args.preset or run.get("factory", {}).get("preset") or "cpu-smoke"
    # the run's env (its factory arguments and overrides), Isaac Lab's PLAY convention (judged with the reference's
    # own camera), then this command line's overrides
    env_cfg = run_env_cfg(task_id, run, args.overrides, preset=preset, num_envs=1, camera_mode=args.camera_mode)
    device = env_cfg.sim.device = resolve_device(args.device, env_cfg.sim.device)
    env_cfg.set_reference(args.reference or trained_reference(run, preset))
    check_reference(env_cfg)
    root = output_root(checkpoint, args.output_dir)
    out_dir, export_dir = os.path.join(root, "play"), os.path.join(root, "exported")
    env_cfg.record_video(args.video_size)
    configure_viewer(env_cfg, args)

    with cli.launch_simulation(env_cfg, args):
        import gymnasium as gym

        from nil_ext.agents.bro import OffPolicyRunner
        from nil_ext.agents.vec_env import IsaacLabVecEnv
        from nil_ext.evaluation.plots import plot_reward_terms
        from nil_ext.evaluation.rollout import run_episode
        from nil_ext.evaluation.video import write_strip, write_video

        env = gym.make(task_id, cfg=env_cfg)
        runner = OffPolicyRunner(IsaacLabVecEnv(env), state["cfg"], log_dir=None, device=device)
        runner.load(checkpoint, load_optimizer=False)
        print(f"[INFO] Playing {checkpoint} (iteration {state['iteration']}) on {task_id}, preset {preset}, "
              f"camera {env_cfg.imitation.camera.mode}")

        stats = run_episode(env, runner.get_inference_policy(), record=True, max_steps=args.steps)
        every = max(1, round(0.04 / env.unwrapped.step_dt))  # 25 fps in real time
        video = write_video(stats.frames[::every], os.path.join(out_dir, "side_by_side.mp4"), fps=25)
        strip = write_strip(stats.frames, os.path.join(out_dir, "strip.png"))
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
        print(
            f"[INFO] Episode: {len(stats.frames)} steps, env reward {stats.env_reward[0]:.1f} (sum), "
            f"mask IoU {stats.mean_iou[0]:.3f}, fell: {bool(stats.fell[0])}\n"
            f"[INFO] Side-by-side video: {video}\n"
            f"[INFO] Strip:              {strip}\n"
            f"[INFO] Reward plot:        {plot}\n"
            f"[INFO] TorchScript policy: {files['torchscript']}\n"
            f"[INFO] ONNX policy:        {files['onnx']}\n"
            f"[INFO] Observation layout: {layout_path}",
            flush=True,
        )
        if {"viser", "newton_gl"} & set(args.visualizer or []):
            serve_viewer(env, runner.get_inference_policy(), stats.frames, args.loops, args.viz_port)
        env.close()


if __name__ == "__main__":
    sys.exit(cli.run(main))
