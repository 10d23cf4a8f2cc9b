"""S_video, S_iou, S_silhouette and the penalties on controlled inputs."""

import pytest
import torch
import torch.nn.functional as F
from reward_helpers import render_walker, tiny_encoder

from nil_ext.rewards import (
    action_rate_penalty,
    ang_vel_penalty,
    foot_slip_penalty,
    joint_torque_penalty,
    mask_iou,
    silhouette_closeness,
    tilt_penalty,
    video_similarity,
)
from nil_ext.rewards.similarity import resize_mask


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    return tiny_encoder(tmp_path_factory)


def test_identical_clips_give_video_similarity_one(encoder):
    frames, masks = render_walker(8, 64)
    clip, clip_mask = frames[None].repeat(3, 1, 1, 1, 1), masks[None].repeat(3, 1, 1, 1)
    emb = encoder(clip, clip_mask)
    ref = encoder(frames[None], masks[None]).expand(3, -1)
    assert torch.allclose(video_similarity(emb, ref), torch.ones(3), atol=1e-5)
    assert torch.allclose(video_similarity(emb, -emb), -torch.ones(3), atol=1e-5)


def test_mask_iou_cases():
    a = torch.zeros(4, 8, 8, dtype=torch.bool)
    b = torch.zeros_like(a)
    a[0, :4], b[0, :4] = True, True  # identical
    a[1, :4], b[1, 4:] = True, True  # disjoint
    a[2, :4], b[2, :2] = True, True  # b inside a: 16 / 32
    # a[3], b[3] both empty
    iou = mask_iou(a, b)
    assert iou.shape == (4,) and iou.dtype == torch.float32
    assert torch.allclose(iou, torch.tensor([1.0, 0.0, 0.5, 1.0]))


def test_silhouette_closeness_pays_before_overlap_and_falls_with_distance():
    """A robot-like bar 20 rows high, the agent's copy shifted right by 0..16 px: IoU is 0 from 4 px on, the
    silhouette term keeps falling with the distance (1 at 0, e^-1/2 at sigma = 5 px = 0.25 heights)."""
    shifts = torch.arange(0, 17, 2)
    ref = torch.zeros(len(shifts), 32, 48, dtype=torch.bool)
    ref[:, 6:26, 10:14] = True
    agent = torch.stack([r.roll(int(s), dims=1) for r, s in zip(ref, shifts, strict=True)])
    closeness = silhouette_closeness(agent, ref)
    expected = torch.exp(-(shifts / 20.0).square() / (2 * 0.25**2))
    assert torch.allclose(closeness, expected, atol=1e-5)
    assert (closeness[1:] < closeness[:-1]).all() and mask_iou(agent, ref)[2:].eq(0).all()
    assert closeness[6] > 0.05  # 12 px away (0.6 heights), no overlap: still pays
    lying = torch.zeros(1, 32, 48, dtype=torch.bool)
    lying[0, 22:26, 10:30] = True  # the same robot on the ground: centroid 8 rows lower, 8 columns on
    assert silhouette_closeness(lying, ref[:1]) < 0.2


def test_silhouette_closeness_reads_zero_without_a_robot_in_view():
    ref = torch.zeros(2, 16, 16, dtype=torch.bool)
    ref[:, 4:12, 6:9] = True
    agent = ref.clone()
    agent[0] = False  # the agent left the view
    assert silhouette_closeness(agent, ref).tolist() == [0.0, 1.0]
    assert silhouette_closeness(ref, torch.zeros_like(ref)).tolist() == [0.0, 0.0]


def test_resize_mask_keeps_iou_of_upsampled_masks():
    a = torch.rand(2, 16, 16) > 0.5
    up = a.repeat_interleave(4, 1).repeat_interleave(4, 2)
    assert torch.equal(resize_mask(up, (16, 16)), a)


def test_penalties_are_zero_at_rest_and_nonpositive():
    n, j = 64, 12
    g = torch.Generator().manual_seed(0)
    limit = torch.full((j,), 50.0)
    rest = {
        "torque": joint_torque_penalty(torch.zeros(n, j), limit),
        "action_rate": action_rate_penalty(torch.full((n, j), 0.3), torch.full((n, j), 0.3)),
        "ang_vel": ang_vel_penalty(torch.zeros(n, 3)),
        "foot_slip": foot_slip_penalty(torch.randn(n, 4, 3, generator=g), torch.zeros(n, 4, dtype=torch.bool)),
        "tilt": tilt_penalty(torch.tensor([0.0, 0.0, -1.0]).expand(n, 3)),
    }
    for name, value in rest.items():
        assert value.shape == (n,) and torch.all(value == 0), name

    moving = {
        "torque": joint_torque_penalty(torch.randn(n, j, generator=g) * 200, limit),
        "action_rate": action_rate_penalty(
            torch.rand(n, j, generator=g) * 2 - 1, torch.rand(n, j, generator=g) * 2 - 1
        ),
        "ang_vel": ang_vel_penalty(torch.randn(n, 3, generator=g) * 10),
        "foot_slip": foot_slip_penalty(torch.randn(n, 4, 3, generator=g) * 5, torch.ones(n, 4, dtype=torch.bool)),
        "tilt": tilt_penalty(torch.randn(n, 3, generator=g)),
    }
    for name, value in moving.items():
        assert torch.all(value <= 0) and torch.all(value >= -1) and torch.any(value < 0), name


def test_penalty_scales():
    assert torch.allclose(joint_torque_penalty(torch.full((1, 3), 50.0), torch.full((3,), 50.0)), torch.tensor([-1.0]))
    assert torch.allclose(action_rate_penalty(torch.ones(1, 2), -torch.ones(1, 2)), torch.tensor([-1.0]))
    assert torch.allclose(tilt_penalty(torch.tensor([[1.0, 0.0, 0.0]])), torch.tensor([-0.5]))
    assert torch.allclose(tilt_penalty(torch.tensor([[0.0, 0.0, 1.0]])), torch.tensor([-1.0]))
    # Vertical foot motion is not slip; horizontal motion of a foot in the air is not slip either.
    vel = torch.tensor([[[0.0, 0.0, 3.0], [0.5, 0.0, 0.0]]])
    assert torch.allclose(foot_slip_penalty(vel, torch.tensor([[True, False]])), torch.tensor([0.0]))
    assert torch.allclose(foot_slip_penalty(vel, torch.tensor([[False, True]]), scale=0.5), torch.tensor([-0.5]))


def test_pose_iou_ignores_where_the_robot_is_and_sees_its_shape():
    from nil_ext.rewards import pose_iou

    ref = torch.zeros(4, 32, 32, dtype=torch.bool)
    ref[:, 4:28, 14:18] = True  # a thin upright robot in profile
    agent = torch.zeros_like(ref)
    agent[0, 4:28, 14:18] = True  # the same, the same place
    agent[1, 2:26, 3:7] = True  # the same shape elsewhere in the image
    agent[2, 4:28, 10:22] = True  # the same height, three times as wide: turned to the camera
    # agent[3] empty: out of view
    score = pose_iou(agent, ref)
    assert score[0] == pytest.approx(1.0) and score[1] == pytest.approx(1.0)
    assert score[2] == pytest.approx(4 / 12)
    assert score[3] == 0.0
    assert mask_iou(agent[1:2], ref[1:2]) == 0.0  # the plain IoU sees no overlap at all


def test_centred_masks_cut_what_leaves_the_image_and_keep_empty_masks_empty():
    from nil_ext.rewards.similarity import centre_masks

    m = torch.zeros(2, 8, 8, dtype=torch.bool)
    m[0, 0:2, 0:2] = True
    out = centre_masks(m)
    assert out[0].sum() == 4 and out[0, 3:5, 3:5].all()  # moved to the centre (centroid 0.5 -> 3.5), nothing lost
    assert not out[1].any()


def robot(feet_apart: int, torso_width: int = 4, x: int = 16) -> torch.Tensor:
    """A 32-row stick figure in profile: a torso (rows 0-15) and two legs from the hip (row 16) to feet that are
    ``feet_apart`` columns apart."""
    m = torch.zeros(64, 64, dtype=torch.bool)
    m[4:20, x - torso_width // 2 : x + torso_width // 2] = True
    for row in range(20, 36):
        spread = round((row - 20) / 15 * feet_apart / 2)
        m[row, x - spread - 1 : x - spread + 1] = True
        m[row, x + spread - 1 : x + spread + 1] = True
    return m


def test_shape_closeness_sees_the_stride_and_a_turned_torso_wherever_the_robot_is():
    from nil_ext.rewards import band_spreads, pose_iou, shape_closeness

    ref = robot(feet_apart=16)[None].expand(5, -1, -1)
    agent = torch.stack([robot(16, x=40), robot(8), robot(0), robot(16, torso_width=12), torch.zeros(64, 64).bool()])
    score = shape_closeness(agent, ref)
    assert score[0] == pytest.approx(1.0)  # the same posture elsewhere in the image
    assert 1.0 > score[1] > score[2] > 0.0  # half the stride pays more than feet together
    assert score[3] < 0.5  # a torso three times as wide: turned to the camera
    assert score[4] == 0.0  # out of view
    spreads = band_spreads(agent[:3])
    assert spreads[0, -1] > spreads[1, -1] > spreads[2, -1]  # the lowest slice is the stride
    assert torch.allclose(spreads[:, 0], spreads[0, 0].expand(3))  # the torso's slice is not
    iou = pose_iou(agent, ref)  # centred IoU: thin legs overlap about as little at half the stride as at none
    assert score[1] / score[2] > 10 > iou[1] / iou[2]


def test_soft_iou_pays_for_a_stride_widening_where_the_plain_iou_does_not():
    """Legs two pixels wide: the plain IoU of a stride widening towards the reference's pays less than feet together
    until the stride is three quarters of the reference's (the legs leave the overlap before they reach the
    reference's); the blurred masks' IoU pays more from a quarter on, and more at every step after it. It still
    falls with distance and reads 0 out of view."""
    from nil_ext.rewards import soft_mask_iou

    strides = [0, 4, 8, 12, 16]
    agent = torch.stack([robot(f) for f in strides] + [robot(16, x=24), torch.zeros(64, 64).bool()])
    ref = robot(16)[None].expand(len(agent), -1, -1)
    plain, soft = mask_iou(agent, ref), soft_mask_iou(agent, ref, sigma_px=3.0)
    assert plain[1] < plain[0] and plain[2] < plain[0]  # the plain IoU's dip: a wider stride pays less at first
    assert (soft[2:5] > soft[1:4]).all() and soft[1] > soft[0]  # blurred: more at every step towards the stride
    assert soft[4] == pytest.approx(1.0)
    assert soft[5] < soft[4] and soft[6] == 0.0  # the same posture 8 px off pays less; out of view pays nothing
    assert soft_mask_iou(agent[6:], agent[6:]).item() == 1.0  # nothing in view on either side: they agree


def arms(angle_deg: float) -> torch.Tensor:
    """The stick figure standing (8 rows lower, so that a raised arm stays in the image), its arm (from the shoulder
    at row 14, 12 px long) raised ``angle_deg`` from hanging down (0) through pointing forward (90) to straight up
    (180)."""
    import math

    m = robot(feet_apart=0).roll(8, 0)
    for r in range(13):
        row = 14 + round(r * math.cos(math.radians(angle_deg)))
        col = 16 + round(r * math.sin(math.radians(angle_deg)))
        m[row, col : col + 2] = True
    return m


def test_motion_iou_pays_for_the_move_and_nothing_for_standing_still():
    """A whole-body skill from its first frame: the reference raises its arm straight up. The plain IoU pays standing
    still (arm down) more than half of the reference's; the IoU of what changed since the first frame pays it
    nothing, and more the higher the arm goes. Before the reference moves, standing still is right: 1."""
    from nil_ext.rewards import motion_iou, soft_mask_iou

    first, ref = arms(0), arms(180)
    agent = torch.stack([arms(a) for a in (0, 45, 90, 135, 180)])
    refs = ref[None].expand(len(agent), -1, -1)
    plain, moved = mask_iou(agent, refs), motion_iou(agent, refs, first, sigma_px=2.0)
    assert plain[0] > 0.5 * plain[4] and plain[1] < plain[0]  # standing earns most of it; raising the arm, less
    assert moved[0] == 0.0 and moved[4] == pytest.approx(1.0)
    assert (moved[1:] > moved[:-1]).all()  # every step of the arm's way up pays more
    assert (motion_iou(agent, refs, first, sigma_px=0.0) <= moved + 1e-6).all()  # unblurred: the same, harder
    still = motion_iou(first[None], first[None], first)  # the reference has not moved yet, nor has the agent
    assert still.item() == 1.0 and motion_iou(agent[2:3], first[None], first).item() == 0.0
    assert soft_mask_iou(agent[:1], refs[:1]) > 0.5  # blurring alone does not take standing's pay away


def test_transport_pays_every_step_of_a_raise_and_of_the_way_back_to_the_reference():
    """The arm on its way up, and the whole robot a few columns off the reference's place: where the IoU pays the
    arm down as much as half way up and every place without overlap alike, the transport's closeness rises at every
    step. Its distance is in robot heights (a shift of the whole mask by k columns is k / height); an empty mask on
    either side reads 0."""
    from nil_ext.rewards import marginal_transport, transport_closeness

    ref = arms(180)
    agent = torch.stack([arms(a) for a in (0, 45, 90, 135, 180)])
    refs = ref[None].expand(len(agent), -1, -1)
    raised = transport_closeness(agent, refs)
    assert (raised[1:] > raised[:-1]).all() and raised[-1] == pytest.approx(1.0)
    assert mask_iou(agent[1:2], refs[:1]) < mask_iou(agent[:1], refs[:1])  # the IoU: half way up pays less than down

    standing = robot(feet_apart=16)
    shifted = torch.stack([standing.roll(k, 1) for k in (0, 4, 20, 32)])
    height = 32.0  # the figure's rows, 4-35
    distance = marginal_transport(shifted, standing[None].expand(4, -1, -1))
    assert distance.tolist() == pytest.approx([0.0, 4 / height, 20 / height, 32 / height])
    closeness = transport_closeness(shifted, standing[None].expand(4, -1, -1))
    assert (closeness[1:] < closeness[:-1]).all() and closeness[-1] > 0  # no overlap at 20 or 32 columns, still paid
    assert mask_iou(shifted[2:3], standing[None]) == mask_iou(shifted[3:4], standing[None]) == 0.0
    empty = torch.zeros_like(standing)[None]
    assert transport_closeness(empty, standing[None]).item() == 0.0
    assert transport_closeness(standing[None], empty).item() == 0.0


def test_transport_is_the_earth_movers_distance_of_the_row_and_column_profiles():
    """Against scipy's 1-D Wasserstein distance on random blobs: rows' plus columns', over the reference's height."""
    from scipy.stats import wasserstein_distance

    from nil_ext.rewards import marginal_transport

    generator = torch.Generator().manual_seed(3)
    a, b = (torch.rand(5, 24, 32, generator=generator) < 0.1 for _ in range(2))
    b[:, :2] = b[:, 22:] = False
    b[:, 2, :] = b[:, 21, :] = True  # the reference spans rows 2-21: 20 rows
    got = marginal_transport(a, b)
    rows, cols = torch.arange(24.0), torch.arange(32.0)
    for i in range(5):
        want = sum(wasserstein_distance(axis, axis, a[i].sum(dim).float(), b[i].sum(dim).float())
                   for axis, dim in ((rows, 1), (cols, 0))) / 20
        assert got[i].item() == pytest.approx(want, rel=1e-4)


def test_gait_period_reads_the_stride_from_the_masks_alone():
    """The gait clock's period comes from the silhouette's repeat: a stick figure whose legs look alike repeats every
    step (half its stride), one with a mark on a leg every stride; a figure that stands, or a clip shorter than two
    repeats, has none. Noisy masks (a few stray pixels a frame, as a segmenter leaves) and the figure's travel across
    the image, or its growing as it walks toward the camera, do not move it."""
    import math

    from nil_ext.rewards import gait_clock, gait_period

    _, masks = render_walker(num_frames=100, period=18)
    generator = torch.Generator().manual_seed(0)
    noisy = masks ^ (torch.rand(masks.shape, generator=generator) < 0.002)
    step = gait_period(noisy, fps=25.0)
    assert step is not None and abs(step.frames - 9.0) < 0.3, step
    marked = masks.clone()
    t = torch.arange(100)
    marked[torch.sin(2 * math.pi * t / 18) > 0.3, 40:44, :] = True  # a band across the legs on one half of the stride
    stride = gait_period(marked, fps=25.0)
    assert stride is not None and abs(stride.frames - 18.0) < 0.3, stride
    growing = torch.zeros(100, 112, 112, dtype=torch.bool)  # walking toward the camera: 1.6x as tall at the end
    for i in range(100):
        side = round(64 * (1 + 0.6 * i / 99))
        growing[i, :side, :side] = F.interpolate(marked[i][None, None].float(), size=(side, side))[0, 0] > 0.5
    approach = gait_period(growing, fps=25.0)
    assert approach is not None and abs(approach.frames - 18.0) < 0.5, approach
    assert gait_period(masks[:1].expand(100, -1, -1), fps=25.0) is None  # standing
    assert gait_period(masks[:15], fps=25.0) is None  # under two repeats of the range's shortest lag
    clock = gait_clock(torch.tensor([0, 9, 18]), 18.0)
    torch.testing.assert_close(clock[:, :2], torch.tensor([[1.0, 0.0], [-1.0, 0.0], [1.0, 0.0]]), atol=1e-5, rtol=0)
    torch.testing.assert_close(clock[2, 2:], torch.tensor([-1.0, 0.0]), atol=1e-5, rtol=0)  # half the frequency


def test_single_stance_time_pays_a_swing_as_long_as_the_reference_s_and_not_quick_steps():
    """The air-time term's maths on contact sequences at 25 Hz: a walk that swings each foot for the reference's
    0.28 s earns more per second than one taking steps a third as long at the same pace, standing (both feet down)
    and hopping (both up, then both down) earn nothing, and no swing earns more than 1 a step."""
    from nil_ext.rewards import foot_mode_time, single_stance_time

    dt, swing_s = 0.04, 0.28

    def mean_reward(left_down: list[bool], right_down: list[bool]) -> float:
        contact = torch.tensor([left_down, right_down]).T  # (T, 2)
        mode_time, last, total = torch.zeros(1, 2), torch.ones(1, 2, dtype=torch.bool), []
        for c in contact:
            mode_time = foot_mode_time(mode_time, last, c[None], dt)
            last = c[None]
            total.append(single_stance_time(mode_time, c[None], swing_s))
        value = torch.cat(total)
        assert ((value >= 0) & (value <= 1)).all()
        return float(value.mean())

    def walk(swing_steps: int, double_steps: int, n: int = 120) -> float:
        cycle = [True] * double_steps + [False] * swing_steps  # left: stance, then its swing
        left = (cycle + [True] * (swing_steps + double_steps))[:n] * n
        right = ([True] * (swing_steps + 2 * double_steps) + [False] * swing_steps)[:n] * n
        return mean_reward(left[:n], right[:n])

    long_strides, quick_steps = walk(swing_steps=7, double_steps=2), walk(swing_steps=2, double_steps=1)
    assert long_strides > 2 * quick_steps > 0
    assert mean_reward([True] * 50, [True] * 50) == 0.0  # standing
    assert mean_reward([True, False] * 25, [True, False] * 25) == 0.0  # hopping on both feet
    assert mean_reward([False] * 50, [True] * 50) == pytest.approx(1.0, abs=0.3)  # a foot held up: capped at 1
