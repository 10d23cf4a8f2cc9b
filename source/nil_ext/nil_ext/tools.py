"""The work that runs in a child process, behind one named entry: ``python -m nil_ext.tools COMMAND ...``.

A process holds at most one simulation, so the library starts one of these when it needs a scene of its own while the
caller may already hold one (a training env asking for its scripted demo, generate_reference.py aligning its camera):

    python -m nil_ext.tools render-scripted ROBOT CAMERA_JSON OUT
    python -m nil_ext.tools render-wholebody ROBOT SKILL CAMERA_JSON OUT
    python -m nil_ext.tools align-camera ROBOT MASK.npy OUT.json [--frame FRAME.npy] [--cfg JSON]

and one for people: ``example-clip OUT.mp4 [--style dark_grid|light_floor] [--aspect 16:9|4:3] [--seconds S]`` writes
a clip like a Kling or Sora export (H1 mid-stride, seen from the front-left; docs/your_own_video.md walks it through).
:func:`nil_ext.child_process.run_tool` is the caller's side. Library modules are not scripts themselves.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .child_process import TOOLS_MODULE  # one spelling of the entry, shared with the caller's side


def _camera_fields(text: str) -> dict:
    """The FollowCameraCfg fields of a bundle's camera dict (which also holds what the camera derives)."""
    from .scene.camera import FollowCameraCfg

    return {k: v for k, v in json.loads(text).items() if k in FollowCameraCfg.__dataclass_fields__}


def _render_scripted(args) -> None:
    from .reference.builder import build_bundle
    from .reference.options import OutputOptions
    from .reference.sources import ScriptedWalk

    build_bundle(args.robot, ScriptedWalk(), task_camera=_camera_fields(args.camera),
                 output=OutputOptions(args.out, progress=False))


def _render_wholebody(args) -> None:
    from .reference.builder import build_bundle
    from .reference.options import OutputOptions
    from .reference.sources import ScriptedWholeBody

    build_bundle(args.robot, ScriptedWholeBody(args.skill), task_camera=_camera_fields(args.camera),
                 output=OutputOptions(args.out, progress=False))


def _align_camera(args) -> None:
    import numpy as np

    from .reference.camera_search import align_camera, search_cfg_from_json

    frame = np.load(args.frame) if args.frame else None
    result = align_camera(args.robot, np.load(args.mask), frame, search_cfg_from_json(args.cfg))
    print(result.summary(), flush=True)
    Path(args.out).write_text(json.dumps(result.to_dict(), indent=2))


def _example_clip(args) -> None:
    from .evaluation.video import write_video
    from .reference.example_clip import render_walk, style_clip

    frames, masks, fps = render_walk(seconds=args.seconds)
    video, _ = style_clip(frames, masks, args.style, args.aspect)
    print(f"wrote {write_video(list(video), args.out, fps)}: {len(video)} frames at {fps:g} fps, "
          f"{video.shape[2]}x{video.shape[1]} px", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {TOOLS_MODULE}", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("render-scripted", help="render a robot's scripted walk as a reference bundle")
    p.add_argument("robot")
    p.add_argument("camera", help="FollowCameraCfg fields as JSON")
    p.add_argument("out", help="bundle folder to write")
    p.set_defaults(run=_render_scripted)
    p = commands.add_parser("render-wholebody", help="render a robot's scripted whole-body skill as a bundle")
    p.add_argument("robot")
    p.add_argument("skill")
    p.add_argument("camera", help="FollowCameraCfg fields as JSON")
    p.add_argument("out", help="bundle folder to write")
    p.set_defaults(run=_render_wholebody)
    p = commands.add_parser("align-camera", help="align the task camera to a video's first-frame robot mask")
    p.add_argument("robot")
    p.add_argument("mask", help=".npy (H, W) bool: the video's first-frame robot mask at the task camera's size")
    p.add_argument("out", help="where to write the CameraAlignment as JSON")
    p.add_argument("--frame", help=".npy (H, W, 3) uint8: the first frame (breaks front/back ties)")
    p.add_argument("--cfg", help="CameraSearchCfg fields as JSON")
    p.set_defaults(run=_align_camera)
    from .reference.example_clip import ASPECTS, STYLES

    p = commands.add_parser("example-clip", help="write a clip like a Kling or Sora export (H1 walking, from elsewhere)")
    p.add_argument("out", help="the mp4 to write")
    p.add_argument("--style", default="dark_grid", choices=list(STYLES))
    p.add_argument("--aspect", default="16:9", choices=list(ASPECTS))
    p.add_argument("--seconds", type=float, default=4.0)
    p.set_defaults(run=_example_clip)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
