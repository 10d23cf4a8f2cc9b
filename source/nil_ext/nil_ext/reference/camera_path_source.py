"""A bundle's camera path, from the first source that gives one: a file, a speed, the video's ground, the robot's
stance feet. What cannot be had is said in one line, and the bundle is saved without a path."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .camera_path import (
    CameraPathError,
    GroundCamera,
    estimate_camera_path,
    load_camera_path_file,
    resample_confidence,
    speed_path,
)
from .errors import ReferenceInputError
from .feet_speed import feet_velocity, robot_travel_in_view, velocity_path
from .floor_lines import sampled_vanishing_points, tilt_changes, turn_changes
from .options import CameraPathOptions
from .retiming import output_times, retime_path

FEET_CAMERA_PATH = (
    "not estimable from the ground ({reason}); taken from the robot's stance feet instead: a constant "
    "{speed:.2f} m/s. Give --reference_speed V (m/s) or --camera-path FILE if you know better"
)

NO_CAMERA_PATH = (
    "the camera path cannot be estimated from the video: {reason}. The bundle is saved without one, so the walk "
    "tasks' default camera mode reference_path will refuse it: remake it with --reference_speed V (the camera "
    "moves at V m/s along the robot's start heading) or --camera-path FILE (.npy or .csv of x, y, z per frame), "
    "or train with --camera_mode follow_agent"
)


def check_camera_path_options(options: CameraPathOptions) -> None:
    """Refuse a bad choice or a bad file now, not after hours of generating."""
    if options.speed is not None and options.file is not None:
        raise ReferenceInputError("give at most one of a reference speed (--reference_speed) and a camera path file")
    if options.speed is not None and not np.isfinite(options.speed):
        raise ReferenceInputError(f"the reference speed must be a number of m/s, got {options.speed}")
    if options.file is not None:
        load_camera_path_file(options.file, 2)


def choose_camera_path(frames, masks, src_fps: float, control_fps: float, camera: dict[str, Any], robot: str,
                       options: CameraPathOptions, exact_path: np.ndarray | None = None):
    """(path (T, 4), confidence (T,) or None, eye path (T, 5) or None, meta) at the control rate, T = the retimed
    frame count. The path is where a camera that follows the reference's robot goes (the pace terms and the task
    camera read it); the eye path, where the clip's own camera went when the video shows it (estimated from the
    ground: a camera that stands, turns and tilts; x, y, z, heading and the tilt below the first frame's), so that
    the task camera sees the robot as the clip did (nearing, growing). ``exact_path``: the path the simulator rendered along (source "scripted"), taken unless a file or a
    speed is given. The path is None when nothing gives one (meta says why; a warning names the options)."""
    if options.file is None and options.speed is None:
        if exact_path is not None:
            path = retime_path(np.asarray(exact_path), src_fps, control_fps)
            return path, None, None, {"camera_path_source": "scripted"}
        if not options.estimate:
            return None, None, None, {}
    num_frames = len(output_times(len(frames), src_fps, control_fps))
    base_height = robot_base_height(robot) if options.base_height is None else options.base_height
    try:
        geometry = GroundCamera.from_camera(camera, base_height)
    except CameraPathError as err:
        geometry, no_geometry = None, str(err)
    if options.file is not None:
        path = load_camera_path_file(options.file, num_frames, geometry)
        return path, np.ones(num_frames), None, {"camera_path_source": "file", "camera_path_file": str(options.file)}
    if options.speed is not None:
        path = speed_path(num_frames, control_fps, options.speed, geometry)
        return path, np.ones(num_frames), None, {"camera_path_source": "speed", "reference_speed": options.speed}
    if geometry is None:
        reason = no_geometry
    else:
        points = sampled_vanishing_points(frames, masks)
        tilt = tilt_changes(frames, masks, geometry.focal_px, points=points)
        turn = turn_changes(frames, masks, geometry.tilted(tilt, len(masks)), points=points)
        for change, what in ((tilt, "tilting"), (turn, "turning")):
            if change is not None:
                print(f"camera path: the floor's lines show the camera {what} {math.degrees(change[-1]):+.1f} deg "
                      "over the clip (read frame by frame)", flush=True)
        try:
            estimate = estimate_camera_path(frames, masks, src_fps, geometry, tilt, turn)
        except Exception as err:  # noqa: BLE001 - an estimator failure on one video must not lose the masks made
            reason = f"the estimator failed on this video ({type(err).__name__}: {str(err).strip().splitlines()[0]})"
        else:
            if estimate.ok:
                path = with_robot_travel(estimate.path, masks, src_fps, geometry, tilt)
                path = retime_path(path, src_fps, control_fps)
                eye_path = retime_path(np.column_stack([estimate.path, estimate.tilt]), src_fps, control_fps)
                confidence = resample_confidence(estimate.confidence, src_fps, control_fps)
                return path, confidence, eye_path, {
                    "camera_path_source": "estimated", "camera_tilt_deg": round(math.degrees(estimate.tilt[-1]), 2),
                    "camera_turn_deg": round(math.degrees(estimate.path[-1, 3] - estimate.path[0, 3]), 2),
                    "camera_turn_source": "floor lines" if turn is not None else "ground motion"}
            reason = estimate.reason
        feet = feet_velocity(masks, src_fps, geometry, tilt)
        if feet.velocity is not None:
            print(f"camera path: {FEET_CAMERA_PATH.format(reason=reason, speed=feet.speed)}", flush=True)
            path = velocity_path(len(masks), src_fps, feet.velocity, geometry)
            path = retime_path(with_robot_travel(path, masks, src_fps, geometry, tilt), src_fps, control_fps)
            return path, np.full(num_frames, feet.agreement), None, {
                "camera_path_source": "feet", "camera_path_note": reason, "feet_speed": round(feet.speed, 4)}
        reason += f"; nor from the robot's feet: {feet.reason}"
    print(f"warning: {NO_CAMERA_PATH.format(reason=reason)}", flush=True)
    return None, None, None, {"camera_path_source": None, "camera_path_note": reason}


def with_robot_travel(path: np.ndarray, masks, fps: float, geometry: GroundCamera,
                      tilt: np.ndarray | None = None) -> np.ndarray:
    """The camera's path plus the robot's own travel in its view: the reference robot's path, as the task camera
    (which follows the robot) replays it."""
    path = np.array(path, dtype=np.float64)
    travel = robot_travel_in_view(masks, fps, geometry, turned=path[:, 3] - path[0, 3], tilt=tilt)
    if travel is None:
        return path
    path[:, :2] += travel
    return path


def robot_base_height(robot: str) -> float | None:
    """The robot's start base height from its MJCF (no simulator), or None when the robot cannot be read."""
    from ..assets import MenagerieNotFoundError, MjcfError, UnknownRobotError, get_robot_spec
    from ..assets.robot_model import read_robot_info

    try:
        spec = get_robot_spec(robot)
        return float(read_robot_info(spec, spec.model_dir()).base_pos[2])
    except (UnknownRobotError, MenagerieNotFoundError, MjcfError, OSError):
        return None
