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


def test_the_clip_s_own_camera_path_round_trips_and_retimes(tmp_path):
    b = make_bundle(t=9)
    turn = np.linspace(0.0, 0.6, 9)
    b.eye_path = np.stack([np.full(9, 3.0), np.zeros(9), np.full(9, 1.8), -np.pi / 2 + turn, turn / 6], axis=1)
    c = ReferenceBundle.load(b.save(tmp_path / "ref"))
    np.testing.assert_array_equal(c.eye_path, b.eye_path)
    half = c.retimed(50.0)
    np.testing.assert_allclose(half.eye_path, b.eye_path[::2])
    # a bundle saved before the tilt was read keeps its tilt
    b.eye_path = b.eye_path[:, :4]
    np.testing.assert_array_equal(ReferenceBundle.load(b.save(tmp_path / "old")).eye_path[:, 4], np.zeros(9))
    assert make_bundle().eye_path is None and ReferenceBundle.load(make_bundle().save(tmp_path / "b")).eye_path is None
    with pytest.raises(ValueError, match="eye_path"):
        ReferenceBundle(frames=b.frames, masks=b.masks, fps=100.0, robot="h1", camera=CAMERA, camera_path=b.camera_path,
                        eye_path=b.eye_path[:5])


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
    with pytest.raises(BundleError, match=r"camera differs in fov 60.0 \(this task: 45.0\)") as err:
        b.check_compatible("h1", {**CAMERA, "fov": 45.0})
    assert "\n" not in str(err.value)


def test_another_resolution_fits_and_another_aspect_does_not():
    b = make_bundle()  # 40x30
    b.check_compatible("h1", {**CAMERA, "width": 160, "height": 120})  # the same geometry, 4x the pixels
    b.check_compatible("h1", {**CAMERA, "width": 64, "height": 47})  # 4:3 rounded to whole pixels
    with pytest.raises(BundleError, match=r"camera differs in aspect 40x30 \(this task: 64x36\)") as err:
        b.check_compatible("h1", {**CAMERA, "width": 64, "height": 36})
    assert "\n" not in str(err.value)
    with pytest.raises(BundleError, match=r"width/height \(missing\)"):
        b.check_compatible("h1", {k: v for k, v in CAMERA.items() if k != "width"})


def test_resized_resamples_frames_and_masks_area_preserving():
    """A disk and a thin bar drawn at 224 px, brought to 64 px, against the same shapes drawn at 64 px."""
    import cv2

    def draw(size, thickness):
        m = np.zeros((size, size), np.uint8)
        s = size / 224
        cv2.circle(m, (round(90 * s), round(100 * s)), round(40 * s), 1, -1)
        cv2.line(m, (round(150 * s), round(30 * s)), (round(170 * s), round(200 * s)), 1, thickness)
        return m.astype(bool)

    big = draw(224, 6)  # a 6 px bar at 224 is 1.7 px at 64
    # the truth at 64 px: the same shapes drawn at 14x and each pixel's coverage rounded
    small = cv2.resize(draw(64 * 14, 6 * 4).astype(np.float32), (64, 64), interpolation=cv2.INTER_AREA) >= 0.5
    frames = np.repeat(np.where(big[..., None], 200, 30).astype(np.uint8), 3, -1)
    b = ReferenceBundle(frames=np.stack([frames] * 9), masks=np.stack([big] * 9), fps=100.0, robot="h1",
                        camera={**CAMERA, "width": 224, "height": 224},
                        embeddings={"timesformer@224x224/clip8/stride4": torch.randn(2, 8)})
    r = b.resized(64, 64)
    assert r.size == (64, 64) and r.frames.dtype == np.uint8 and r.masks.dtype == bool
    assert r.camera == {**CAMERA, "width": 64, "height": 64} and r.meta["resized_from"] == [224, 224]
    assert r.embeddings == {} and b.embeddings, "embeddings of the old frames dropped; the original untouched"
    inter, union = (r.masks[0] & small).sum(), (r.masks[0] | small).sum()
    assert inter / union > 0.85, inter / union
    assert r.masks[0].sum() == pytest.approx(big.sum() * (64 / 224) ** 2, rel=0.05)  # the area is kept
    assert r.masks[0][:, 40:52].any(axis=1).sum() >= 40, "the thin bar survives"
    edge = r.frames[0, 28, :, 0]  # antialiased: the disk's edge has intermediate values
    assert ((edge > 40) & (edge < 190)).any()
    back = r.resized(224, 224)
    assert (back.masks[0] & big).sum() / (back.masks[0] | big).sum() > 0.8
    assert b.resized(224, 224) is b


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
