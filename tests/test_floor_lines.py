"""The focal length from a floor's lines (nil_ext.reference.floor_lines): right on a grid seen at an angle, none
where the floor cannot tell it (plain, a flat picture, a grid seen along one of its axes)."""

import math

import numpy as np
import pytest

from nil_ext.reference.floor_lines import floor_focal
from nil_ext.reference.synthetic_videos import make_background
from nil_ext.reference.web_clip import perspective_floor

SIZE, FOCAL = 256, 290.0


def grid_frames(yaws_deg, pitch_down=0.35):
    """Frames of the web clip's perspective grid floor from an eye 1.8 m up, turned by each yaw."""
    eye = np.array([0.3, -0.2, 1.8])
    frames = []
    for yaw in np.radians(yaws_deg):
        target = eye + [math.cos(yaw), math.sin(yaw), -pitch_down]
        frames.append(np.clip(perspective_floor(eye, target, FOCAL, SIZE), 0, 255).astype(np.uint8))
    return np.stack(frames)


def test_a_grid_seen_at_an_angle_gives_the_focal_length():
    frames = grid_frames(np.linspace(25.0, 45.0, 6))
    found = floor_focal(frames, np.zeros(frames.shape[:3], bool))
    assert found.ok, found.reason
    assert found.focal_px == pytest.approx(FOCAL, rel=0.03)
    assert found.fov_deg == pytest.approx(math.degrees(2 * math.atan(SIZE / 2 / FOCAL)), abs=1.5)


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


def test_the_import_bounds_the_camera_search_by_the_fov_it_knows():
    """--camera_fov: auto takes the floor's FOV (+-6 %), a number the user's (+-2 deg), any the search's whole range;
    a FOV that is no angle is refused."""
    from nil_ext.reference.errors import ReferenceInputError
    from nil_ext.reference.video_import import _known_fov

    frames = grid_frames(np.linspace(25.0, 45.0, 6))
    truth = math.degrees(2 * math.atan(SIZE / 2 / FOCAL))
    (lo, hi), source = _known_fov(frames, "auto")
    assert lo < truth < hi and hi - lo < 0.15 * truth and source.startswith("floor lines")
    assert _known_fov(frames, "any") == (None, "searched")
    assert _known_fov(frames, 60.0) == ((58.0, 62.0), "given")
    plain = np.stack([make_background("light_floor", SIZE, SIZE, seed=s) for s in range(4)])
    assert _known_fov(plain, "auto") == (None, "searched")
    with pytest.raises(ReferenceInputError, match="degrees"):
        _known_fov(frames, 200.0)
