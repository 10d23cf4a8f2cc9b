"""Benchmark the robot scenes: physics steps/s and camera frames/s (rgb + masks), as JSON.

    ./isaaclab.sh -p scripts/benchmark.py                       # four robots, 64/128/224 px, 4 and 16 envs
    ./isaaclab.sh -p scripts/benchmark.py --robots h1 --num-envs 64 --resolutions 64 --out bench.json

Each case builds a fresh scene, warms up (Warp compiles kernels on first use), then times `--steps` physics
steps and `--frames` renders separately; the JSON gives medians and per-call milliseconds so runs compare.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--robots", nargs="+", default=["h1", "g1", "talos", "a1"])
    p.add_argument("--resolutions", nargs="+", type=int, default=[64, 128, 224])
    p.add_argument("--num-envs", nargs="+", type=int, default=[4, 16])
    p.add_argument("--steps", type=int, default=50, help="timed physics steps per case")
    p.add_argument("--frames", type=int, default=10, help="timed renders per case")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", help="also write the JSON here")
    return p.parse_args(argv)


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


def main(argv=None) -> None:
    args = parse_args(argv)
    cases = [(r, n, res) for r in args.robots for n in args.num_envs for res in args.resolutions]
    results = []
    for i, (robot, n, res) in enumerate(cases):
        print(f"[benchmark] {i + 1}/{len(cases)}: {robot}, {n} envs, {res} px", flush=True)
        results.append(bench_case(robot, n, res, args.steps, args.frames, args.device))
    report = {
        "benchmark": "robot_scene",
        "device": args.device,
        "torch_threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "physics_dt": 0.005,
        "results": results,
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
