"""Retiming by optical flow: in-between frames land where the motion puts them, masks stay binary."""

import numpy as np
import pytest

from nil_ext.reference.retiming import output_times, retime, retime_path


def moving_square(t=5, size=64, side=14, step=(8, 2)):
    frames = np.full((t, size, size, 3), 30, np.uint8)
    masks = np.zeros((t, size, size), bool)
    for k in range(t):
        x, y = 6 + step[0] * k, 20 + step[1] * k
        frames[k, y : y + side, x : x + side] = (200, 60, 40)
        masks[k, y : y + side, x : x + side] = True
    return frames, masks


def centroid(mask):
    ys, xs = np.nonzero(mask)
    return xs.mean(), ys.mean()


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_square_lands_where_it_should_at_4x(method):
    frames, masks = moving_square()
    out_f, out_m = retime(frames, masks, 25.0, 100.0, method=method, progress=False)
    assert out_f.shape == (17, 64, 64, 3) and out_m.dtype == bool
    x0, y0 = centroid(masks[0])
    for k in range(len(out_f)):
        want = (x0 + 2.0 * k, y0 + 0.5 * k)  # 8 and 2 px per source frame, 4 outputs per source frame
        for got in (centroid(out_m[k]), centroid(out_f[k, ..., 0] > 115)):
            assert abs(got[0] - want[0]) <= 2 and abs(got[1] - want[1]) <= 2, (k, got, want)
        assert abs(int(out_m[k].sum()) - 14 * 14) <= 20  # the square keeps its size
    np.testing.assert_array_equal(out_f[::4], frames)  # source frames pass through untouched
    np.testing.assert_array_equal(out_m[::4], masks)


def test_output_times_and_path():
    np.testing.assert_allclose(output_times(3, 24.0, 100.0)[:3], [0, 0.24, 0.48])
    assert output_times(121, 24.0, 100.0)[-1] <= 120
    assert len(output_times(121, 24.0, 100.0)) == 501
    path = np.array([[0, 0, 1, 3.0], [1, 0, 1, -3.0]])  # yaw wraps across +-pi
    out = retime_path(path, 1.0, 2.0)
    np.testing.assert_allclose(out[1, :3], [0.5, 0, 1])
    assert abs(abs(out[1, 3]) - np.pi) < 0.2


def test_unknown_method_is_refused():
    frames, masks = moving_square()
    with pytest.raises(ValueError, match="unknown retiming method"):
        retime(frames, masks, 25, 100, method="magic")
