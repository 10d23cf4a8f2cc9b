"""The focal length and the camera's tilt from a floor's lines (nil_ext.reference.floor_lines): right on a grid seen
at an angle, none where the floor cannot tell it (plain, a flat picture, a grid seen along one of its axes)."""

import math

import numpy as np
import pytest

from nil_ext.reference.camera_path import GroundCamera
from nil_ext.reference.floor_lines import floor_focal, tilt_changes, turn_changes
from nil_ext.reference.synthetic_videos import make_background
from nil_ext.reference.web_clip import perspective_floor

SIZE, FOCAL = 256, 290.0


def grid_frames(yaws_deg, pitch_down=0.35):
    """Frames of the web clip's perspective grid floor from an eye 1.8 m up, turned by each yaw (and looking down by
    each ``pitch_down``, the tangent of its tilt, where that is a sequence)."""
    eye = np.array([0.3, -0.2, 1.8])
    frames = []
    for yaw, down in zip(np.radians(yaws_deg), np.broadcast_to(pitch_down, len(yaws_deg)), strict=True):
        target = eye + [math.cos(yaw), math.sin(yaw), -down]
        frames.append(np.clip(perspective_floor(eye, target, FOCAL, SIZE), 0, 255).astype(np.uint8))
    return np.stack(frames)


@pytest.mark.parametrize("pitch_down", [0.15, 0.35])
def test_a_grid_seen_at_an_angle_gives_the_focal_length_and_the_tilt(pitch_down):
    frames = grid_frames(np.linspace(25.0, 45.0, 6), pitch_down)
    found = floor_focal(frames, np.zeros(frames.shape[:3], bool))
    assert found.ok, found.reason
    assert found.focal_px == pytest.approx(FOCAL, rel=0.03)
    assert found.fov_deg == pytest.approx(math.degrees(2 * math.atan(SIZE / 2 / FOCAL)), abs=1.5)
    assert found.pitch_deg == pytest.approx(math.degrees(math.atan(pitch_down)), abs=0.5)


def test_a_camera_tilting_as_the_robot_nears_is_read_frame_by_frame():
    """Issue 43: a clip's camera tilts down to keep a nearing robot in view (the web-like clip: 8.4 -> 14.5 deg);
    the horizon of each frame's floor lines tells how far, relative to the first frame, within half a degree."""
    tilt_deg = 8.0 + 6.0 * np.linspace(0.0, 1.0, 24) ** 1.5
    frames = grid_frames(np.linspace(30.0, 50.0, 24), np.tan(np.radians(tilt_deg)))
    found = tilt_changes(frames, np.zeros(frames.shape[:3], bool), FOCAL)
    assert found is not None and found.shape == (24,)
    np.testing.assert_allclose(np.degrees(found), tilt_deg - tilt_deg[0], atol=0.5)
    plain = np.stack([make_background("light_floor", SIZE, SIZE, seed=s) for s in range(8)])
    assert tilt_changes(plain, np.zeros(plain.shape[:3], bool), FOCAL) is None  # no horizon seen: not guessed


def test_a_camera_turning_to_follow_the_robot_is_read_frame_by_frame():
    """Issue 43: a clip's camera that stands turns ever faster to keep a nearing robot in view (the web-like clip:
    65.6 deg in 4 s). The floor's vanishing points are fixed directions, so each frame's tells the turn since the
    first, past the grid's 45-degree symmetry, within half a degree; a floor without two families tells none."""
    yaw_deg = 30.0 + 50.0 * np.linspace(0.0, 1.0, 24) ** 1.5
    frames = grid_frames(yaw_deg)
    camera = GroundCamera(width=SIZE, height=SIZE, focal_px=FOCAL, eye_height=1.8, pitch=math.atan(0.35),
                          heading=math.radians(yaw_deg[0]), distance=3.0)
    no_robot = np.zeros(frames.shape[:3], bool)
    found = turn_changes(frames, no_robot, [camera] * len(frames))
    assert found is not None and found.shape == (24,)
    np.testing.assert_allclose(np.degrees(found), yaw_deg - yaw_deg[0], atol=0.5)
    plain = np.stack([make_background("light_floor", SIZE, SIZE, seed=s) for s in range(8)])
    assert turn_changes(plain, np.zeros(plain.shape[:3], bool), [camera] * 8) is None


@pytest.mark.parametrize("floor", ["plain", "flat_grid", "grid_along_its_axis"])
def test_a_floor_that_cannot_tell_gives_none(floor):
    if floor == "grid_along_its_axis":  # the joints across the view are parallel in the image: one vanishing point
        frames = grid_frames([0.0] * 4)
    else:  # a flat picture's "across" lines are parallel too; a plain floor has no lines
        kind = "light_floor" if floor == "plain" else "grid_floor"
        frames = np.stack([make_background(kind, SIZE, SIZE, seed=s) for s in range(4)])
    found = floor_focal(frames, np.zeros(frames.shape[:3], bool))
    assert not found.ok and found.focal_px is None
    assert "frames" in found.reason


def test_the_import_bounds_the_camera_search_by_the_view_it_knows():
    """--camera_fov: auto takes the floor's FOV (+-6 %) and, given the robot's first mask, the elevation its horizon
    tells (+-4 deg: the tilt plus the robot's place below the centre), a number the user's FOV (+-2 deg), any the
    search's whole ranges; a FOV that is no angle is refused."""
    from nil_ext.reference.errors import ReferenceInputError
    from nil_ext.reference.video_import import _known_view

    frames = grid_frames(np.linspace(25.0, 45.0, 6))
    truth = math.degrees(2 * math.atan(SIZE / 2 / FOCAL))
    bounds, source = _known_view(frames, "auto")
    lo, hi = bounds["fov_deg"]
    assert lo < truth < hi and hi - lo < 0.15 * truth and source.startswith("floor lines")
    assert "elevation_deg" not in bounds  # no robot to look at
    robot = np.zeros((SIZE, SIZE), bool)
    robot[SIZE // 2 + 10 : SIZE // 2 + 70, 120:136] = True  # its middle 40 px below the centre: 7.9 deg further down
    low, high = _known_view(frames, "auto", robot)[0]["elevation_deg"]
    assert (low + high) / 2 == pytest.approx(math.degrees(math.atan(0.35)) + math.degrees(math.atan(40 / FOCAL)),
                                             abs=0.6)
    assert _known_view(frames, "any") == ({}, "searched")
    assert _known_view(frames, 60.0) == ({"fov_deg": (58.0, 62.0)}, "given")
    plain = np.stack([make_background("light_floor", SIZE, SIZE, seed=s) for s in range(4)])
    assert _known_view(plain, "auto", robot) == ({}, "searched")
    with pytest.raises(ReferenceInputError, match="degrees"):
        _known_view(frames, 200.0)
