"""Benchmarks, as JSON that compares run to run (medians, milliseconds per call).

    ./isaaclab.sh -p scripts/benchmark.py                        # scenes: four robots, 64/128/224 px, 4 and 16 envs
    ./isaaclab.sh -p scripts/benchmark.py --robots h1 --num_envs 64 --resolutions 64 --out bench.json
    ./isaaclab.sh -p scripts/benchmark.py --what reward          # the reward alone: encoder vs the rest
    ./isaaclab.sh -p scripts/benchmark.py --what env --robots h1 # a NIL task's control step: physics+render+reward
    ./isaaclab.sh -p scripts/benchmark.py --what segmenters --robots h1 a1  # Stage 1 masks on composited videos
    ./isaaclab.sh -p scripts/benchmark.py --what train --robots h1 --preset cpu  # one BRO training iteration
    ./isaaclab.sh -p scripts/benchmark.py --what encoder_memory --device cuda     # the video term's memory on a GPU

scene: physics steps/s and camera frames/s (rgb + masks); each case builds a fresh scene and warms up (Warp
compiles kernels on first use) before timing. reward: ms per control step of the encoder forward and of the rest
of the reward (buffers, IoU, penalties) for a tiny TimeSformer at 64/112 px and TimeSformer-base (random weights)
at 224 px. env: ms per control step of a NIL walk task (cpu-smoke preset, IoU + penalties) and the share of it
spent rendering and computing the reward. segmenters: the robot's scripted walk rendered from an unseen
viewpoint (front-left, above), pasted over each kind of new background with a panning camera (the masks are
the truth); mean IoU and ms/frame of the "background" and "grabcut" segmenters prompted with the true first
mask, and the IoU of `first_frame_mask` with no prompt (auto), a box (the true box grown 8 %) and one click
(the robot pixel nearest its centroid); null where it refused.
train: one BRO training iteration of a walk task and preset (e.g. H1, ``cpu``), for the settings
before and after each speed-up, side by side in one run: ms per iteration, of it the env step (physics, render
and reward, the other managers) and the updates, transitions/s, and each variant's ``speedup`` over the first.
encoder_memory (CUDA): TimeSformer-base (random weights, bf16) over 4,096 envs' clips at 224 px, in the chunks the
``gpu`` preset picks for this card and in half of them: torch's peak memory for each, and what one more clip in a
chunk adds, beside the figure nil_ext.rewards.gpu_sizing sizes chunks with.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import statistics
import sys
import time
from argparse import RawDescriptionHelpFormatter

import torch

from nil_ext import cli


def parse_args(argv=None):
    p = cli.ArgumentParser(description=__doc__, formatter_class=RawDescriptionHelpFormatter)
    p.add_argument("--what", choices=["scene", "reward", "env", "segmenters", "train", "encoder_memory"], default="scene")
    p.add_argument("--robots", nargs="+", default=["h1", "g1", "talos", "a1"])
    p.add_argument("--resolutions", nargs="+", type=int, default=[64, 128, 224])
    p.add_argument("--num_envs", nargs="+", type=int, default=None,
                   help="default: 4 16 (encoder_memory: 4096, the gpu preset's on a large card)")
    p.add_argument("--steps", type=int, default=50, help="timed physics steps per case")
    p.add_argument("--frames", type=int, default=10, help="timed renders per case")
    p.add_argument("--video_size", type=int, default=224, help="segmenters: frame size of the videos")
    p.add_argument("--video_frames", type=int, default=120, help="segmenters: frames per video")
    p.add_argument("--preset", default="cpu", help="train: the task preset")
    p.add_argument("--iterations", type=int, default=40, help="train: timed training iterations per variant")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", help="also write the JSON here")
    args = p.parse_args(argv)
    args.num_envs = args.num_envs or ([4096] if args.what == "encoder_memory" else [4, 16])
    if args.what in ("scene", "env", "segmenters", "train"):  # an unknown robot is said before anything is built
        from nil_ext.assets.robots import get_robot_spec

        for robot in args.robots:
            get_robot_spec(robot)
    return args


def _timed(fn, repeats: int, device: str) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return times


def bench_case(robot: str, num_envs: int, resolution: int, steps: int, frames: int, device: str) -> dict:
    from nil_ext.scene.camera import FollowCameraCfg
    from nil_ext.scene.robot_scene import open_robot_scene

    camera = FollowCameraCfg(width=resolution, height=resolution)
    with open_robot_scene(robot, num_envs=num_envs, camera=camera, device=device) as scene:
        scene.step(5)
        scene.render()  # warm-up: kernel compilation and first-render setup
        step_s = _timed(scene.step, steps, device)
        render_s = _timed(scene.render, frames, device)
    step_ms = 1000 * statistics.median(step_s)
    render_ms = 1000 * statistics.median(render_s)
    return {
        "robot": robot,
        "num_envs": num_envs,
        "resolution": resolution,
        "physics_step_ms": round(step_ms, 3),
        "physics_env_steps_per_s": round(num_envs * 1000 / step_ms, 1),
        "render_ms": round(render_ms, 3),
        "camera_frames_per_s": round(num_envs * 1000 / render_ms, 1),
    }


def bench_reward(num_envs: list[int], steps: int, device: str) -> list[dict]:
    import tempfile

    from nil_ext.rewards import VideoEncoder, benchmark_reward
    from nil_ext.rewards.tiny_models import save_tiny_timesformer

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        encoders = {
            "tiny@64": (save_tiny_timesformer(f"{tmp}/tiny64", image_size=64), 64),
            "tiny@112": (save_tiny_timesformer(f"{tmp}/tiny112", image_size=112), 112),
            "base@224": (_random_base_timesformer(f"{tmp}/base"), 224),
        }
        for name, (path, size) in encoders.items():
            encoder = VideoEncoder(str(path), device=device)
            # TimeSformer-base costs seconds per clip on a CPU: time it on few envs there
            counts = num_envs if name != "base@224" or device != "cpu" else [1, 4]
            for n in counts:
                print(f"[benchmark] reward, {name}, {n} envs", flush=True)
                row = benchmark_reward(n, size, encoder, steps=steps if name != "base@224" else 3, device=device)
                row["encoder"] = name
                row["rest_share"] = round(row["rest_ms"] / row["step_ms"], 3)
                results.append(row)
    return results


def bench_encoder_memory(num_envs: int, device: str) -> list[dict]:
    import tempfile

    from nil_ext.errors import UserError
    from nil_ext.rewards import VideoEncoder
    from nil_ext.rewards.gpu_sizing import GIB, clip_bytes, free_bytes, size_gpu_run

    free = free_bytes(device)
    if free is None:
        raise UserError(f"--what encoder_memory measures a CUDA card; {device} is not one (--device cuda)")
    sizes = size_gpu_run(free, num_envs=num_envs)
    with tempfile.TemporaryDirectory() as tmp:
        encoder = VideoEncoder(_random_base_timesformer(f"{tmp}/base"), device=device)
    gen = torch.Generator(device=device).manual_seed(0)
    px, frames = encoder.image_size, encoder.num_frames
    clips = torch.randint(0, 256, (num_envs, frames, 3, px, px), dtype=torch.uint8, device=device, generator=gen)
    encoder.embed_prepared(clips[:8])  # warm-up: kernels chosen, weights in place
    rows = []
    for chunk in (sizes.chunk_size, sizes.chunk_size // 2):
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        held = torch.cuda.memory_allocated(device)
        start = time.perf_counter()
        encoder.embed_prepared(clips, chunk)
        torch.cuda.synchronize(device)
        seconds = time.perf_counter() - start
        rows.append({"num_envs": num_envs, "chunk_size": chunk, "free_gib_at_start": round(free / GIB, 1),
                     "held_gib": round(held / GIB, 2),
                     "peak_allocated_gib": round(torch.cuda.max_memory_allocated(device) / GIB, 2),
                     "peak_reserved_gib": round(torch.cuda.max_memory_reserved(device) / GIB, 2),
                     "clips_per_s": round(num_envs / seconds, 1)})
    full, half = rows
    clips_apart = full["chunk_size"] - half["chunk_size"]
    for key in ("allocated", "reserved"):  # what one more clip in a chunk adds, from the two peaks
        grown = full[f"peak_{key}_gib"] - half[f"peak_{key}_gib"]
        full[f"per_clip_{key}_mib"] = round(grown * 1024 / max(clips_apart, 1), 1)
    full["per_clip_model_mib"] = round(clip_bytes(px, frames) / 2**20, 1)
    full["preset_estimate_gib"] = round(sizes.need_bytes / GIB, 1)  # with the simulator's share, not measured here
    return rows


def _random_base_timesformer(path: str) -> str:
    """TimeSformer-base's architecture with random weights (the real checkpoint cannot be assumed offline)."""
    from transformers import TimesformerConfig, TimesformerModel

    from nil_ext.rewards.tiny_models import save_tiny_timesformer

    save_tiny_timesformer(path)  # writes the preprocessor config; the model is replaced below
    TimesformerModel(TimesformerConfig()).save_pretrained(path)
    return path


def bench_env(robots: list[str], num_envs: list[int], steps: int, device: str) -> list[dict]:
    from isaaclab.envs import ManagerBasedRLEnv

    from nil_ext.tasks.walk.walk_env_cfg import walk_env_cfg

    results = []
    with cli.launch_simulation(walk_env_cfg(robots[0], "cpu-smoke"), {}):
        for robot in robots:
            for n in num_envs:
                print(f"[benchmark] env, {robot}, {n} envs", flush=True)
                cfg = walk_env_cfg(robot, "cpu-smoke", num_envs=n, device=device)
                cfg.set_reference(None)
                env = ManagerBasedRLEnv(cfg)
                env.reset()
                actions = torch.zeros(n, env.action_manager.total_action_dim, device=env.device)
                env.step(actions)
                reward_s = []
                compute = env.reward_manager.compute  # the step's render and every reward term, once per step

                def timed_rewards(dt, compute=compute, reward_s=reward_s):
                    start = time.perf_counter()
                    value = compute(dt)
                    reward_s.append(time.perf_counter() - start)
                    return value

                env.reward_manager.compute = timed_rewards
                step_s = _timed(lambda env=env, actions=actions: env.step(actions), steps, device)
                env.close()
                step_ms = 1000 * statistics.median(step_s)
                render_reward_ms = 1000 * statistics.median(reward_s[-steps:])
                results.append({
                    "robot": robot,
                    "num_envs": n,
                    "control_step_ms": round(step_ms, 2),
                    "env_steps_per_s": round(n * 1000 / step_ms, 1),
                    "render_and_reward_ms": round(render_reward_ms, 2),
                    "render_and_reward_share": round(render_reward_ms / step_ms, 3),
                })
    return results


TRAIN_VARIANTS = {
    # name: settings over the preset's (the first row is the cpu preset before the speed-ups)
    "before": {"plane_collider": False, "overlap_env_step": False, "num_envs": 64, "rgb": True},
    "plane_ground": {"plane_collider": True, "overlap_env_step": False, "num_envs": 64, "rgb": True},
    "plane_ground+overlap": {"plane_collider": True, "overlap_env_step": True, "num_envs": 64, "rgb": True},
    "plane_ground+overlap+128_envs": {"plane_collider": True, "overlap_env_step": True, "num_envs": 128, "rgb": True},
    "plane_ground+overlap+128_envs+masks_only": {"plane_collider": True, "overlap_env_step": True, "num_envs": 128,
                                                 "rgb": False},
}


def bench_train(robot: str, preset: str, iterations: int) -> list[dict]:
    """Time BRO training iterations of ``robot``'s walk task for each of :data:`TRAIN_VARIANTS`. Physics, render
    and reward are timed by wrapping the env's own calls (on the env's thread); updates by wrapping the runner's."""
    from isaaclab.envs import ManagerBasedRLEnv

    from nil_ext.agents.bro import OffPolicyRunner
    from nil_ext.agents.vec_env import IsaacLabVecEnv
    from nil_ext.scene.scene_cfg import ground_cfg
    from nil_ext.tasks.walk.agents import bro_walk_cfg
    from nil_ext.tasks.walk.walk_env_cfg import walk_env_cfg

    results = []
    with cli.launch_simulation(walk_env_cfg(robot, preset), {}):
        for name, variant in TRAIN_VARIANTS.items():
            print(f"[benchmark] train, {robot}, {preset}, {name}", flush=True)
            cfg = walk_env_cfg(robot, preset, num_envs=variant["num_envs"])
            cfg.scene.ground = ground_cfg(cfg.scene.num_envs, cfg.scene.env_spacing,
                                          plane_collider=variant["plane_collider"])
            cfg.imitation.camera = dataclasses.replace(cfg.imitation.camera, rgb=variant["rgb"])
            cfg.scene.camera = cfg.imitation.camera.sensor_cfg()
            cfg.set_reference(None)
            env = ManagerBasedRLEnv(cfg)
            agent = bro_walk_cfg(robot, preset)
            agent.overlap_env_step, agent.learning_starts, agent.progress_bar = variant["overlap_env_step"], 2, False
            runner = OffPolicyRunner(IsaacLabVecEnv(env), agent, log_dir=None, device=cfg.sim.device)
            timers = {key: [] for key in ("iteration", "env_step", "physics", "rewards", "commands", "update")}
            _time_calls(env.sim, "step", timers["physics"])
            _time_calls(env.reward_manager, "compute", timers["rewards"])  # renders and scores the step
            _time_calls(env.command_manager, "compute", timers["commands"])
            _time_calls(runner.env, "step", timers["env_step"])
            _time_calls(runner, "_update", timers["update"])
            runner.learn(10)  # warm-up: first updates, Warp's kernels
            for values in timers.values():
                values.clear()
            for _ in range(iterations):
                start = time.perf_counter()
                runner.learn(1)
                timers["iteration"].append(time.perf_counter() - start)
            env.close()
            ms = {key: 1000 * statistics.median(values) for key, values in timers.items()}
            physics_ms = ms["physics"] * cfg.decimation
            results.append({
                "variant": name, "robot": robot, "preset": preset, "num_envs": cfg.scene.num_envs,
                "control_hz": round(1 / (cfg.sim.dt * cfg.decimation), 3), "updates_per_step":
                agent.algorithm.updates_per_step, "iteration_ms": round(ms["iteration"], 1),
                "env_step_ms": round(ms["env_step"], 1), "physics_ms": round(physics_ms, 1),
                "render_and_reward_ms": round(ms["rewards"] + ms["commands"], 1),
                "other_managers_ms": round(ms["env_step"] - physics_ms - ms["rewards"] - ms["commands"], 1),
                "updates_ms": round(ms["update"], 1),
                "transitions_per_s": round(cfg.scene.num_envs * 1000 / ms["iteration"], 1),
            })
    for row in results:
        row["speedup"] = round(row["transitions_per_s"] / results[0]["transitions_per_s"], 2)
    return results


def _time_calls(obj, method: str, into: list) -> None:
    """Record the duration of every call of ``obj.method`` (an instance attribute shadowing the method)."""
    call = getattr(obj, method)

    def timed(*args, **kwargs):
        start = time.perf_counter()
        out = call(*args, **kwargs)
        into.append(time.perf_counter() - start)
        return out

    setattr(obj, method, timed)


def bench_segmenters(robots: list[str], size: int, num_frames: int, shift=(1.5, 0.3)) -> list[dict]:
    import numpy as np

    from nil_ext.reference.errors import ReferenceInputError
    from nil_ext.reference.prompts import RobotPrompt, first_frame_mask
    from nil_ext.reference.scripted import render_scripted_reference
    from nil_ext.reference.segmenters import BackgroundSegmenter, GrabCutSegmenter
    from nil_ext.reference.synthetic_videos import BACKGROUNDS, composite
    from nil_ext.scene.camera import FollowCameraCfg

    def iou(a, b):
        return float((a & b).sum() / max((a | b).sum(), 1))

    results = []
    for robot in robots:
        camera = FollowCameraCfg(width=size, height=size, yaw_deg=-40.0, height_offset=0.6)
        frames, truth, *_ = render_scripted_reference(robot, camera, num_frames=num_frames)
        ys, xs = np.nonzero(truth[0])
        px, py = round(0.08 * np.ptp(xs)) + 1, round(0.08 * np.ptp(ys)) + 1
        box = (max(0, xs.min() - px), max(0, ys.min() - py), min(size, xs.max() + 1 + px), min(size, ys.max() + 1 + py))
        k = np.argmin((ys - ys.mean()) ** 2 + (xs - xs.mean()) ** 2)
        prompts = {"auto": None, "box": RobotPrompt(box=box), "point": RobotPrompt(points=[(int(xs[k]), int(ys[k]))])}
        for background in BACKGROUNDS:
            print(f"[benchmark] segmenters, {robot}, {background}", flush=True)
            video = composite(frames, truth, background, camera_shift_px_per_frame=shift, seed=0)
            row = {"robot": robot, "background": background, "size": size, "frames": num_frames}
            for seg in (BackgroundSegmenter(progress=False), GrabCutSegmenter(progress=False)):
                start = time.perf_counter()
                masks = seg(video, truth[0])
                row[f"{seg.name}_ms_per_frame"] = round(1000 * (time.perf_counter() - start) / num_frames, 1)
                row[f"{seg.name}_iou"] = round(float(np.mean([iou(m, g) for m, g in zip(masks, truth, strict=True)])), 3)
            row["grabcut_fallbacks"] = seg.fallbacks
            for name, prompt in prompts.items():
                try:
                    row[f"first_frame_{name}_iou"] = round(iou(first_frame_mask(video[0], prompt), truth[0]), 3)
                except ReferenceInputError:
                    row[f"first_frame_{name}_iou"] = None
            results.append(row)
    return results


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.what == "segmenters":
        _report("segmenters", bench_segmenters(args.robots, args.video_size, args.video_frames), args)
        return
    if args.what == "reward":
        _report("reward", bench_reward(args.num_envs, args.steps, args.device), args)
        return
    if args.what == "encoder_memory":
        _report("encoder_memory", bench_encoder_memory(max(args.num_envs), args.device), args)
        return
    if args.what == "train":
        _report("train", bench_train(args.robots[0], args.preset, args.iterations), args)
        return
    if args.what == "env":
        _report("nil_env", bench_env(args.robots, args.num_envs, args.steps, args.device), args)
        return
    cases = [(r, n, res) for r in args.robots for n in args.num_envs for res in args.resolutions]
    results = []
    for i, (robot, n, res) in enumerate(cases):
        print(f"[benchmark] {i + 1}/{len(cases)}: {robot}, {n} envs, {res} px", flush=True)
        results.append(bench_case(robot, n, res, args.steps, args.frames, args.device))
    _report("robot_scene", results, args)


def _report(name: str, results: list[dict], args) -> None:
    report = {
        "benchmark": name,
        "device": args.device,
        "torch_threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "results": results,
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    sys.exit(cli.run(main))
