"""Issue 43: a clip whose camera path cannot be read from the ground ends in a clear line and a fallback, never a
traceback: the camera's speed from the robot's stance feet (a standing foot is a point of the ground)."""

import math

import cv2
import numpy as np
import pytest

from nil_ext.reference import camera_path_source
from nil_ext.reference.builder import build_bundle
from nil_ext.reference.camera_path import GroundCamera
from nil_ext.reference.feet_speed import feet_velocity
from nil_ext.reference.options import CameraPathOptions, OutputOptions
from nil_ext.reference.sources import SimulatorFrames

CAMERA = {"width": 160, "height": 120, "distance": 3.0, "height_offset": 0.6, "fov": 60.0}
BASE_HEIGHT = 1.0
FPS = 25.0


def stepping_robot(speed=1.25, num_frames=50, step_m=0.5, sliding=False, camera_still=False):
    """Plain grey frames (no ground texture: the estimator refuses) with a dark 'robot' whose lowest point stands on
    the ground at its stance foot: feet planted every `step_m` metres along the heading while the camera follows at
    `speed`. `sliding`: the foot slides with the camera at a wobbling offset instead (no stance). `camera_still`: the
    camera stands where it started and the robot walks away from it, along its line of sight."""
    cam = GroundCamera.from_camera(CAMERA, BASE_HEIGHT)
    start = cam.start()
    forward = np.array([math.cos(cam.heading), math.sin(cam.heading)])
    heading = forward if camera_still else np.array([1.0, 0.0])
    frames = np.full((num_frames, cam.height, cam.width, 3), 150, np.uint8)
    masks = np.zeros((num_frames, cam.height, cam.width), bool)
    base = start[:2] + cam.distance * forward  # the robot's base on the ground
    side = np.array([-forward[1], forward[0]])
    for k in range(num_frames):
        eye = start[:2] + (0.0 if camera_still else speed * k / FPS) * heading
        walked = speed * k / FPS
        robot = base + walked * heading
        if sliding:
            foot = robot + 0.3 * math.sin(k / 1.7) * heading + 0.2 * math.cos(k / 2.3) * side
        else:
            foot = base + math.floor(walked / step_m + 0.5) * step_m * heading
        x, y = cam.to_pixels(foot - eye)
        x, y = int(round(float(x))), int(round(float(y)))
        masks[k, max(0, y - 50) : y, max(0, x - 5) : x + 6] = True
        frames[k][masks[k]] = 30
    return frames, masks


def estimated(frames, masks):
    """A bundle of these frames whose camera path is estimated (the ground is plain: the feet, or nothing)."""
    return build_bundle("h1", SimulatorFrames(frames, masks, FPS, CAMERA), camera_path=CameraPathOptions(
        base_height=BASE_HEIGHT), output=OutputOptions(progress=False))


def test_the_feet_give_the_camera_speed_when_the_ground_is_plain(capsys):
    frames, masks = stepping_robot()
    b = estimated(frames, masks)
    out = capsys.readouterr().out
    assert b.meta["camera_path_source"] == "feet", out
    assert "textured ground" in b.meta["camera_path_note"] and "stance feet" in out and "--reference_speed" in out
    assert b.quality["camera_path"]["mean_speed"] == pytest.approx(1.25, rel=0.1)


def test_a_robot_walking_away_from_a_camera_that_stands_still_has_its_own_pace(capsys):
    """The camera path stands for the robot's travel (the task camera follows it). A clip's camera that stands still
    moves no ground (the feet read 0 m/s); the robot's own travel in view, from where its feet meet the ground,
    gives its 1.25 m/s, and the path runs along its line of sight."""
    frames, masks = stepping_robot(num_frames=40, camera_still=True)
    b = estimated(frames, masks)
    assert b.meta["camera_path_source"] == "feet" and b.meta["feet_speed"] < 0.1, capsys.readouterr().out
    assert b.quality["camera_path"]["mean_speed"] == pytest.approx(1.25, rel=0.1)
    cam = GroundCamera.from_camera(CAMERA, BASE_HEIGHT)
    travel = b.camera_path[-1, :2] - b.camera_path[0, :2]
    assert travel @ np.array([math.cos(cam.heading), math.sin(cam.heading)]) > 0.95 * np.hypot(*travel)


def test_feet_that_slide_say_nothing():
    frames, masks = stepping_robot(sliding=True)
    feet = feet_velocity(masks, FPS, GroundCamera.from_camera(CAMERA, BASE_HEIGHT))
    assert feet.velocity is None and "agree" in feet.reason


def test_an_estimator_failure_is_a_line_and_the_fallback_not_a_traceback(monkeypatch, capsys):
    def crash(*_args, **_kwargs):
        raise cv2.error("OpenCV: (-215:Assertion failed) dst.cols < SHRT_MAX in function 'remap'")

    monkeypatch.setattr(camera_path_source, "estimate_camera_path", crash)
    frames, masks = stepping_robot()
    b = estimated(frames, masks)
    assert b.meta["camera_path_source"] == "feet" and "estimator failed" in b.meta["camera_path_note"]
    frames, masks = stepping_robot(sliding=True)  # and without feet to go by: no path, and the options named
    b = estimated(frames, masks)
    assert b.camera_path is None and "--reference_speed" in capsys.readouterr().out
