"""Align the task camera to a video's first frame with the simulator's batched renderer (one camera pose per env).

The search itself is camera_alignment.py (no simulator); this opens one scene of ``cfg.batch_envs`` robots in their
start pose and renders the poses it asks for. Only one simulation can be open per process: from a process that
holds one (or must not start one), use :func:`align_camera_in_subprocess`, which runs
``python -m nil_ext.tools align-camera ROBOT MASK.npy OUT.json [--frame FRAME.npy] [--cfg JSON]``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tempfile
from dataclasses import asdict
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from ..child_process import run_tool
from .camera_alignment import (
    DEFAULT_APERTURE,
    CameraAlignment,
    CameraSearchCfg,
    pose_offsets,
    render_geometry,
    search_camera,
)


def search_env_spacing(cfg: CameraSearchCfg, base_height: float) -> float:
    """Env spacing such that no other env's robot can stand between a camera and its own robot (they could
    occlude it; behind it they are harmless, since each env's mask holds its own robot only)."""
    max_range = max(cfg.distance_scales) * (2.8 * base_height + 0.3) * 2.0  # refinement may widen the range
    return max_range + 4.0 * base_height + 2.0


def open_search_scene(robot: str, cfg: CameraSearchCfg, video_shape: tuple[int, int], device: str = "cpu"):
    """A scene of ``cfg.batch_envs`` robots in their start pose, the camera at the widest FOV, widely spaced."""
    from ..assets.robot_cfg import robot_model_info
    from ..scene.camera import FollowCameraCfg
    from ..scene.robot_scene import open_robot_scene

    geometry = render_geometry(cfg, video_shape)
    base_height = robot_model_info(robot).base_pos[2]
    camera = FollowCameraCfg(width=geometry.render_width, height=geometry.render_height,
                             focal_length=geometry.focal_length(), horizontal_aperture=DEFAULT_APERTURE, mode="fixed")
    return open_robot_scene(robot, cfg.batch_envs, camera, device, env_spacing=search_env_spacing(cfg, base_height))


class SceneRenderer:
    """The RenderFn of camera_alignment over an open search scene: poses in chunks of its env count."""

    def __init__(self, scene):
        self.scene = scene

    def __call__(self, poses: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        from ..scene.camera import aim_camera

        n = self.scene.num_envs
        rgbs, masks = [], []
        for chunk in poses.split(n):
            k = len(chunk)
            padded = torch.cat([chunk, chunk[-1:].expand(n - k, 3)]) if k < n else chunk  # every env renders anyway
            offsets = pose_offsets(padded).to(self.scene.device, torch.float32)
            aim_camera(self.scene.camera, self.scene.base_pos, offsets)
            rgb, mask = self.scene.render()
            rgbs.append(rgb[:k].cpu().clone())  # clone: the camera's buffer is reused by the next render
            masks.append(mask[:k].cpu().clone())
        return torch.cat(rgbs), torch.cat(masks)


def align_camera(
    robot: str,
    video_mask: np.ndarray,
    video_frame: np.ndarray | None = None,
    cfg: CameraSearchCfg | None = None,
    device: str = "cpu",
    progress: bool = True,
) -> CameraAlignment:
    """The task camera (a FollowCameraCfg dict, at the mask's size) from which ``robot``'s start pose looks most like
    ``video_mask`` (H, W) bool, the video's first-frame mask at the task camera's size. Opens a simulation:
    the process must not hold one. Does not refuse: call ``.check(cfg.min_iou)`` on the result."""
    cfg = cfg or CameraSearchCfg()
    mask = np.asarray(video_mask).astype(bool)
    with open_search_scene(robot, cfg, mask.shape, device) as scene:
        return align_in_scene(scene, robot, mask, video_frame, cfg, progress)


def align_in_scene(scene, robot: str, video_mask, video_frame=None, cfg: CameraSearchCfg | None = None,
                   progress: bool = True) -> CameraAlignment:
    """:func:`align_camera` in a scene from :func:`open_search_scene` (opened for this cfg and mask size): several
    masks of one aspect ratio, one simulation."""
    from ..assets.robot_cfg import robot_model_info

    cfg = cfg or CameraSearchCfg()
    base_height = robot_model_info(robot).base_pos[2]

    def search(pose: str) -> CameraAlignment:
        found = search_camera(SceneRenderer(scene), video_mask, video_frame, cfg, base_height=base_height,
                              base_range=2.8 * base_height + 0.3, robot=robot, progress=progress)
        return dataclasses.replace(found, pose=pose)

    def search_poses(poses) -> None:
        for pose, joint_pos in poses:
            scene.hold_joint_positions(joint_pos)
            results.append(search(pose))

    results = [search("start pose")]
    if results[0].iou < cfg.gait_search_below and cfg.gait_poses > 0:
        start_joint_pos = scene.robot.data.joint_pos.torch.clone()
        n = cfg.gait_poses
        search_poses(gait_poses(robot, scene, [k / n for k in range(n)]))
        best = max(results[1:], key=lambda r: r.iou, default=None)
        if best is not None and best.iou < cfg.gait_search_below:
            # still not a clear fit: a real clip's stride is caught between our phases, its arms swing more or less
            phase = best.gait_phase
            search_poses(gait_poses(robot, scene, [phase - 0.5 / n, phase + 0.5 / n]))
            phase = max(results[1:], key=lambda r: r.iou).gait_phase
            search_poses(gait_poses(robot, scene, [phase, phase], arm_scales=ARM_SCALES))
        scene.hold_joint_positions(start_joint_pos)
    best = max(results, key=lambda r: r.iou)
    return dataclasses.replace(best, seconds=round(sum(r.seconds for r in results), 2),
                               candidates=sum(r.candidates for r in results),
                               poses_searched=[{"pose": r.pose, "iou": round(r.iou, 3)} for r in results])


ARM_SCALES = (0.0, 2.0)  # the arms held still, or swinging twice the scripted gait's amplitude
ARM_JOINTS = re.compile(r".*(shoulder|elbow|arm).*")


def gait_poses(robot: str, scene, phases: list[float], arm_scales=None) -> list[tuple[str, torch.Tensor]]:
    """Poses of the robot's scripted gait at these phases (stride fractions), at full swing: (label, joint positions
    (num_envs, J)). ``arm_scales`` (one per phase): the arms' swing times this. Empty for a robot whose gait does not
    move its joints."""
    from .scripted import gait_of, scripted_motion

    gait = gait_of(robot)
    if not phases or not gait.swing:
        return []
    data = scene.robot.data
    ramp_done = 1.0  # s: past the gait's swing ramp
    out = []
    for k, phase in enumerate(phases):
        scale = 1.0 if arm_scales is None else arm_scales[k]
        swing = {j: (a * scale if ARM_JOINTS.fullmatch(j) else a, ph) for j, (a, ph) in gait.swing.items()}
        times = torch.tensor([ramp_done + (phase % 1.0) / gait.frequency])
        _, joint_pos = scripted_motion(dataclasses.replace(gait, swing=swing), scene.robot.joint_names,
                                       data.root_pose_w.torch[0].clone(), data.default_joint_pos.torch[0].clone(),
                                       data.joint_pos_limits.torch[0], times)
        label = f"scripted gait at {Fraction(phase % 1.0).limit_denominator(64)} stride"
        label += "" if scale == 1.0 else f", arms swinging {scale:g}x"
        out.append((label, joint_pos[0].expand(scene.num_envs, -1).clone()))
    return out


def align_camera_in_subprocess(
    robot: str, video_mask: np.ndarray, video_frame: np.ndarray | None = None, cfg: CameraSearchCfg | None = None
) -> CameraAlignment:
    """:func:`align_camera` in a fresh process: callable whether or not this process holds a simulation."""
    cfg = cfg or CameraSearchCfg()
    with tempfile.TemporaryDirectory(prefix="nil_camera_search_") as tmp:
        tmp = Path(tmp)
        np.save(tmp / "mask.npy", np.asarray(video_mask).astype(bool))
        args = [str(tmp / "mask.npy"), str(tmp / "alignment.json"), "--cfg", json.dumps(asdict(cfg))]
        if video_frame is not None:
            np.save(tmp / "frame.npy", np.asarray(video_frame, dtype=np.uint8))
            args += ["--frame", str(tmp / "frame.npy")]
        print(f"[nil_ext] Aligning the task camera to the video's first frame ({robot}) in a subprocess...", flush=True)
        run_tool("align-camera", robot, *args, what="The camera search")
        out = tmp / "alignment.json"
        if not out.is_file():
            raise RuntimeError(f"The camera search wrote no {out}")
        return CameraAlignment.from_dict(json.loads(out.read_text()))


def simulator_aligner(robot: str, yaw_deg: float | None = None):
    """The builder's camera aligner (options.CameraAligner): the search in a child process, since the caller may have
    rendered e0 already; ``yaw_deg``: search only near this yaw (the user's choice between two tied cameras);
    ``fov_deg`` / ``elevation_deg`` (lo, hi) of a call: search only these (known from the floor or the user)."""

    def align(mask: np.ndarray, frame: np.ndarray, **bounds: tuple[float, float]) -> CameraAlignment:
        cfg = CameraSearchCfg(yaw_deg=yaw_deg, **{k: tuple(v) for k, v in bounds.items()})
        return align_camera_in_subprocess(robot, mask, frame, cfg)

    return align


def search_cfg_from_json(text: str | None) -> CameraSearchCfg:
    """CameraSearchCfg from its fields as JSON (the align-camera tool's --cfg)."""
    fields = json.loads(text) if text else {}
    for key in ("elevation_deg", "distance_scales", "fov_deg"):
        if key in fields:
            fields[key] = tuple(fields[key])
    return CameraSearchCfg(**fields)
