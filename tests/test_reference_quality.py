"""Quality report: flags masks that vanish or jump, and ranks a clean clip above a broken one."""

import numpy as np
from reference_helpers import articulated_clip

from nil_ext.reference.quality import quality_gate, quality_report


def test_clean_clip_scores_high_and_flags_nothing():
    _, masks = articulated_clip(t=12)
    r = quality_report(masks, masks[0])
    assert r["jump_frames"] == [] and r["vanished_frames"] == []
    assert r["first_frame_iou"] == 1.0 and r["score"] > 0.8
    assert len(r["area_fraction"]) == 12 and len(r["consecutive_iou"]) == 11


def test_vanish_and_jump_are_flagged_and_lower_the_score():
    _, masks = articulated_clip(t=12)
    broken = masks.copy()
    broken[4] = False  # vanished
    broken[8] = np.roll(masks[8], 40, axis=1)  # jumped elsewhere
    broken[10] |= np.roll(masks[10], 50, axis=1)  # grabbed something else too
    r = quality_report(broken, masks[0])
    assert r["vanished_frames"] == [4]
    assert {4, 5, 8, 9, 10, 11} <= set(r["jump_frames"])
    assert r["score"] < quality_report(masks, masks[0])["score"] - 0.2


def test_motion_costs_no_score():
    _, masks = articulated_clip(t=12)
    still = np.repeat(masks[:1], 12, axis=0)
    assert quality_report(masks, masks[0])["score"] >= quality_report(still, masks[0])["score"] - 0.1


def test_a_sliver_or_a_blob_is_off_the_robots_shape_and_fails_the_gate():
    _, masks = articulated_clip(t=12)
    robot = masks[0]
    assert quality_report(masks, masks[0], robot=robot)["off_shape_frames"] == []
    broken = masks.copy()
    ys, xs = np.nonzero(masks[0])
    for k in range(3, 12):  # a thin vertical sliver, then a small blob: the case of a wrong prompt
        broken[k] = False
        if k < 7:
            broken[k, ys.min() : ys.max(), xs.mean().astype(int) : xs.mean().astype(int) + 2] = True
        else:
            broken[k, ys.mean().astype(int) : ys.mean().astype(int) + 6, xs.mean().astype(int) : xs.mean().astype(int) + 6] = True
    r = quality_report(broken, masks[0], robot=robot)
    assert r["off_shape_frames"] == list(range(3, 12)) and "width" in r["off_shape_first"]
    gate = quality_gate(r)
    assert not gate["passed"] and "off-shape" in gate["reason"]
