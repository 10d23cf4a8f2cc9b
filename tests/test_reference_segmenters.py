"""Segmenters: the background colour model recovers a synthetic robot; SAM2 propagates a mask prompt."""

import numpy as np
import pytest
from reference_helpers import articulated_clip, save_tiny_sam2

from nil_ext.reference.errors import ReferenceInputError
from nil_ext.reference.quality import iou
from nil_ext.reference.segmenters import BackgroundSegmenter, Sam2Segmenter, make_segmenter


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


@pytest.mark.parametrize("name", ["background", "sam2"])
def test_empty_first_mask_is_a_clear_error(name):
    frames, truth = articulated_clip(t=8)
    seg = make_segmenter(name, sam2_model="unused", progress=False)
    with pytest.raises(ReferenceInputError, match="first-frame mask is empty"):
        seg(frames, np.zeros_like(truth[0]))


def test_unknown_segmenter():
    with pytest.raises(ReferenceInputError, match="unknown segmenter 'magic'.*sam2, background"):
        make_segmenter("magic")


def test_sam2_propagates_one_mask_per_frame(tmp_path):
    model_dir = save_tiny_sam2(tmp_path / "sam2")
    frames, truth = articulated_clip(t=9, h=48, w=64)
    seg = Sam2Segmenter(str(model_dir), progress=False)
    masks = seg(frames, truth[0])
    assert masks.shape == truth.shape and masks.dtype == bool
    np.testing.assert_array_equal(masks[0], truth[0])
