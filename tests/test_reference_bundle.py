"""ReferenceBundle: exact round trip, atomic writes, clear failures on old or damaged bundles."""

import json

import numpy as np
import pytest
import torch

from nil_ext.reference.bundle import ARRAYS_NAME, JSON_NAME, PREVIEW_NAME, ReferenceBundle
from nil_ext.reference.errors import BundleError

CAMERA = {"width": 40, "height": 30, "distance": 3.0, "height_offset": 0.8, "yaw": 90.0, "fov": 60.0, "mode": "follow"}


def make_bundle(t=9, with_path=True):
    rng = np.random.default_rng(0)
    return ReferenceBundle(
        frames=rng.integers(0, 256, (t, 30, 40, 3), dtype=np.uint8),
        masks=rng.random((t, 30, 40)) > 0.5,
        fps=100.0,
        robot="h1",
        camera=dict(CAMERA),
        camera_path=rng.normal(size=(t, 4)) if with_path else None,
        camera_path_confidence=rng.random(t) if with_path else None,
        meta={"prompt": "The H1 agent is walking, camera follows the agent.", "seed": 3, "synthetic": False},
        quality={"score": 0.9},
        embeddings={"timesformer@224x224/clip8/stride4": torch.randn(2, 768)},
    )


def folders(root):
    return sorted(p.name for p in root.iterdir())


def test_round_trip_is_exact(tmp_path):
    b = make_bundle()
    b.save(tmp_path / "ref")
    c = ReferenceBundle.load(tmp_path / "ref")
    np.testing.assert_array_equal(c.frames, b.frames)
    np.testing.assert_array_equal(c.masks, b.masks)
    np.testing.assert_array_equal(c.camera_path, b.camera_path)
    np.testing.assert_array_equal(c.camera_path_confidence, b.camera_path_confidence)
    assert c.masks.dtype == bool and c.frames.dtype == np.uint8
    assert (c.fps, c.robot, c.camera, c.meta, c.quality) == (b.fps, b.robot, b.camera, b.meta, b.quality)
    assert c.embeddings.keys() == b.embeddings.keys()
    for k in b.embeddings:
        assert torch.equal(c.embeddings[k], b.embeddings[k])
    assert folders(tmp_path) == ["ref"]  # no temp folder left
    assert (tmp_path / "ref" / PREVIEW_NAME).stat().st_size > 0


def test_without_camera_path_or_embeddings(tmp_path):
    b = make_bundle(with_path=False)
    b.embeddings = {}
    c = ReferenceBundle.load(b.save(tmp_path / "ref"))
    assert c.camera_path is None and c.embeddings == {}


def test_overwrite_replaces_atomically(tmp_path):
    make_bundle(t=9).save(tmp_path / "ref")
    with pytest.raises(FileExistsError):
        make_bundle(t=10).save(tmp_path / "ref")
    make_bundle(t=10).save(tmp_path / "ref", overwrite=True)
    assert ReferenceBundle.load(tmp_path / "ref").num_frames == 10
    assert folders(tmp_path) == ["ref"]


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("nil_ext.reference.video_io.write_preview", boom)
    with pytest.raises(OSError, match="disk full"):
        make_bundle().save(tmp_path / "ref")
    assert folders(tmp_path) == []


def test_older_format_version_fails_clearly(tmp_path):
    path = make_bundle().save(tmp_path / "ref")
    doc = json.loads((path / JSON_NAME).read_text())
    doc["format_version"] = 0
    (path / JSON_NAME).write_text(json.dumps(doc))
    with pytest.raises(BundleError, match=r"version 0.*generate_reference\.py"):
        ReferenceBundle.load(path)


def test_missing_or_corrupt_file_fails_clearly(tmp_path):
    path = make_bundle().save(tmp_path / "ref")
    data = (path / ARRAYS_NAME).read_bytes()
    (path / ARRAYS_NAME).write_bytes(data[:-10] + b"0123456789")
    with pytest.raises(BundleError, match=r"arrays\.npz does not match.*generate_reference\.py"):
        ReferenceBundle.load(path)
    (path / ARRAYS_NAME).unlink()
    with pytest.raises(BundleError, match=r"lacks arrays\.npz.*generate_reference\.py"):
        ReferenceBundle.load(path)
    with pytest.raises(BundleError, match="not a reference bundle"):
        ReferenceBundle.load(tmp_path / "nowhere")


def test_missing_preview_is_fine(tmp_path):
    path = make_bundle().save(tmp_path / "ref")
    (path / PREVIEW_NAME).unlink()
    assert ReferenceBundle.load(path).num_frames == 9


def test_check_compatible_names_both():
    b = make_bundle()
    b.check_compatible("h1", {**CAMERA, "prim_path": "/World/cam"})  # extra keys are the task's business
    with pytest.raises(BundleError, match=r"robot 'h1'.*robot 'g1'"):
        b.check_compatible("g1", CAMERA)
    with pytest.raises(BundleError, match=r"camera differs in fov"):
        b.check_compatible("h1", {**CAMERA, "fov": 45.0})


def test_bad_shapes_are_refused():
    b = make_bundle()
    with pytest.raises(ValueError, match="masks"):
        ReferenceBundle(frames=b.frames, masks=b.masks[:, :10], fps=100.0, robot="h1", camera=CAMERA)
    with pytest.raises(ValueError, match="frames"):
        ReferenceBundle(frames=b.frames.astype(np.float32), masks=b.masks, fps=100.0, robot="h1", camera=CAMERA)


def test_retimed_to_half_the_rate_keeps_every_other_frame_and_drops_the_embeddings():
    b = make_bundle(t=9)
    half = b.retimed(50.0)
    assert half.fps == 50.0 and half.num_frames == 5
    np.testing.assert_array_equal(half.frames, b.frames[::2])
    np.testing.assert_array_equal(half.masks, b.masks[::2])
    np.testing.assert_allclose(half.camera_path[:, :3], b.camera_path[::2, :3])
    np.testing.assert_allclose(half.camera_path_confidence, b.camera_path_confidence[::2])
    assert half.embeddings == {}, "cached clips were timed for 100 fps"
    assert half.meta["retimed_from_fps"] == 100.0 and half.robot == b.robot and half.camera == b.camera
    assert b.num_frames == 9 and b.embeddings, "the original is untouched"
    assert b.retimed(100.0) is b


def test_retimed_to_a_higher_rate_interpolates_between_frames():
    b = make_bundle(t=5, with_path=False)
    faster = b.retimed(200.0)
    assert faster.num_frames == 9 and faster.camera_path is None
    np.testing.assert_array_equal(faster.frames[::2], b.frames)  # the original frames stay where they were
    assert faster.masks.dtype == bool
