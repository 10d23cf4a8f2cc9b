"""Importing videos: mp4, gif, folders of frames, fitted to the camera; clear errors for bad files."""

import imageio.v2 as imageio
import numpy as np
import pytest
from reference_helpers import articulated_clip, write_mp4, write_png

from nil_ext.reference.errors import ReferenceInputError
from nil_ext.reference.video_io import fit_to_camera, load_video, read_video


def test_mp4_gif_and_folder(tmp_path):
    frames, _ = articulated_clip(t=11, h=96, w=128)
    write_mp4(tmp_path / "a.mp4", frames, fps=30)
    imageio.mimsave(tmp_path / "a.gif", list(frames), duration=50)
    (tmp_path / "frames").mkdir()
    for i, f in enumerate(frames):
        write_png(tmp_path / "frames" / f"frame_{i}.png", f)  # frame_10 sorts after frame_9

    mp4, fps = read_video(tmp_path / "a.mp4")
    assert mp4.shape == (11, 96, 128, 3) and fps == pytest.approx(30)
    assert np.abs(mp4.astype(int) - frames).mean() < 6  # lossy, but the same pictures
    gif, fps = read_video(tmp_path / "a.gif")
    assert gif.shape == (11, 96, 128, 3) and fps == pytest.approx(20)
    folder, fps = read_video(tmp_path / "frames", fps=12)
    np.testing.assert_array_equal(folder, frames)
    assert fps == 12

    fitted, _ = load_video(tmp_path / "frames", width=64, height=64)
    assert fitted.shape == (11, 64, 64, 3)


def test_fit_to_camera_crops_centre():
    frames = np.zeros((1, 40, 80, 3), np.uint8)
    frames[:, :, 20:60] = 255  # the centre square
    out = fit_to_camera(frames, 20, 20)
    assert out.shape == (1, 20, 20, 3) and out.min() == 255
    masks = np.zeros((1, 80, 40), np.uint8)
    assert fit_to_camera(masks, 10, 10).shape == (1, 10, 10)


def test_unreadable_empty_and_short_videos_fail_naming_the_file(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(ReferenceInputError, match="bad.mp4"):
        read_video(bad)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ReferenceInputError, match="no frames.*empty"):
        read_video(empty)
    with pytest.raises(ReferenceInputError, match="not found.*missing.mp4"):
        read_video(tmp_path / "missing.mp4")
    frames, _ = articulated_clip(t=5, h=32, w=32)
    write_mp4(tmp_path / "short.mp4", frames)
    with pytest.raises(ReferenceInputError, match=r"short\.mp4 has 5 frames.*at least 8"):
        load_video(tmp_path / "short.mp4", 32, 32)
