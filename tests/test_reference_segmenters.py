"""Segmenters: the background colour model recovers a synthetic robot; SAM2 propagates a mask prompt."""

import numpy as np
import pytest
from reference_helpers import articulated_clip, save_tiny_sam2

from nil_ext.reference.errors import ReferenceInputError
from nil_ext.reference.prompts import RobotPrompt
from nil_ext.reference.quality import iou
from nil_ext.reference.segmenters import BackgroundSegmenter, GrabCutSegmenter, Sam2Segmenter, make_segmenter
from nil_ext.reference.synthetic_videos import composite


def test_background_segmenter_recovers_the_shape():
    frames, truth = articulated_clip(t=16)
    masks = BackgroundSegmenter(progress=False)(frames, truth[0])
    assert masks.shape == truth.shape and masks.dtype == bool
    ious = [iou(m, g) for m, g in zip(masks, truth, strict=True)]
    assert min(ious) > 0.9, ious


def test_background_segmenter_ignores_a_distant_blob():
    frames, truth = articulated_clip(t=10)
    frames[5:, 5:15, -15:-5] = (200, 50, 40)  # something robot-coloured appears far away
    masks = BackgroundSegmenter(progress=False)(frames, truth[0])
    assert not masks[5:, 5:15, -15:-5].any()
    assert min(iou(m, g) for m, g in zip(masks, truth, strict=True)) > 0.9


@pytest.mark.parametrize("name", ["background", "sam2", "grabcut"])
def test_empty_first_mask_is_a_clear_error(name):
    frames, truth = articulated_clip(t=8)
    seg = make_segmenter(name, sam2_model="unused", progress=False)
    with pytest.raises(ReferenceInputError, match="first-frame mask is empty"):
        seg(frames, np.zeros_like(truth[0]))


def test_unknown_segmenter():
    with pytest.raises(ReferenceInputError, match="unknown segmenter 'magic'.*sam2, background, grabcut"):
        make_segmenter("magic")


def test_sam2_propagates_one_mask_per_frame(tmp_path):
    model_dir = save_tiny_sam2(tmp_path / "sam2")
    frames, truth = articulated_clip(t=9, h=48, w=64)
    seg = Sam2Segmenter(str(model_dir), progress=False)
    masks = seg(frames, truth[0])
    assert masks.shape == truth.shape and masks.dtype == bool
    np.testing.assert_array_equal(masks[0], truth[0])
    # a user's box and click on frame 0 instead of a mask (a video made elsewhere)
    ys, xs = np.nonzero(truth[0])
    prompt = RobotPrompt(box=(xs.min(), ys.min(), xs.max() + 1, ys.max() + 1), points=[(int(xs[0]), int(ys[0]))])
    masks = seg(frames[:3], truth[0], prompt=prompt)
    assert masks.shape == truth[:3].shape and masks.dtype == bool
    with pytest.raises(ReferenceInputError, match="outside the 64x48 frame"):
        seg(frames, truth[0], prompt=RobotPrompt(box=(0, 0, 65, 10)))


def _ious(masks, truth):
    return np.array([iou(m, g) for m, g in zip(masks, truth, strict=True)])


def test_grabcut_beats_the_colour_model_on_a_moving_textured_background(walking_robot_clip):
    frames, truth = walking_robot_clip
    video = composite(frames, truth, "texture", camera_shift_px_per_frame=(1.5, 0.3), seed=0)
    grabcut = GrabCutSegmenter(progress=False)
    new = _ious(grabcut(video, truth[0]), truth)
    old = _ious(BackgroundSegmenter(progress=False)(video, truth[0]), truth)
    # measured at 96 px: grabcut 0.94 mean (min 0.93), background 0.78
    assert new.mean() > 0.88 and new.min() > 0.8, np.round(new, 2)
    assert new.mean() > old.mean() + 0.08, (new.mean(), old.mean())
    assert grabcut.fallbacks <= 3


def test_grabcut_lets_the_robot_leave_the_frame(walking_robot_clip):
    frames, truth = walking_robot_clip
    frames, truth = frames[:24].copy(), truth[:24].copy()
    for k in range(len(frames)):  # the robot walks out to the right, 5 px a frame
        shift = 5 * k
        frames[k] = np.roll(frames[k], shift, axis=1)
        truth[k] = np.roll(truth[k], shift, axis=1)
        truth[k, :, :shift] = False  # no wrap-around: what leaves on the right is gone
    video = composite(frames, truth, "grid_floor", seed=1)
    masks = GrabCutSegmenter(progress=False)(video, truth[0])
    assert masks.shape == truth.shape and masks.dtype == bool
    gone = truth.sum((1, 2)) == 0
    assert gone.any() and masks[gone].sum() <= 0.05 * truth[0].sum()
    visible = truth.sum((1, 2)) > 0.5 * truth[0].sum()
    assert _ious(masks[visible], truth[visible]).mean() > 0.7
