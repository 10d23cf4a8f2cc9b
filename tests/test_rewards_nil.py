"""The NIL reward's maths on a synthetic walker: S_video over time (ClipSimilarity: shapes, per-env resets, held
scores), the meaning of S_video + S_iou, the ablation settings."""

import math
from dataclasses import replace

import pytest
import torch
from reward_helpers import render_walker, tiny_encoder

from nil_ext.rewards import (
    ABLATIONS,
    ClipSimilarity,
    NilRewardCfg,
    embedding_cache_key,
    mask_iou,
    reference_clip_embeddings,
)

T = 16
CFG = NilRewardCfg(clip_len=8, clip_stride=2)


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    return tiny_encoder(tmp_path_factory)


@pytest.fixture(scope="module")
def walker():
    return render_walker(T, 64)


@pytest.fixture(scope="module")
def ref_embeddings(walker, encoder):
    return reference_clip_embeddings(encoder, *walker, CFG.clip_len, CFG.stride)


def make(encoder, ref_embeddings, num_envs, cfg=CFG):
    return ClipSimilarity(encoder, ref_embeddings, num_envs, cfg.clip_len, cfg.stride, cfg.video_every_k,
                          cfg.chunk_size)


def test_cache_key_and_default_stride():
    assert NilRewardCfg().stride == 2  # round(50 / 24)
    assert NilRewardCfg(control_fps=100, source_fps=25).stride == 4
    key = embedding_cache_key("facebook/timesformer-base-finetuned-k400", 224, 224, 8, 2)
    assert key == "facebook/timesformer-base-finetuned-k400@224x224/clip8/stride2"


@pytest.mark.parametrize("num_envs", [1, 64])
def test_step_shapes_and_finite(walker, encoder, ref_embeddings, num_envs):
    video = make(encoder, ref_embeddings, num_envs)
    frames, masks = walker
    for k in range(3):
        index = torch.full((num_envs,), k)
        value = video(frames[k].expand(num_envs, -1, -1, -1), masks[k].expand(num_envs, -1, -1), index)
        assert value.shape == (num_envs,) and torch.isfinite(value).all()
    assert ref_embeddings.shape == (T, 32)


def test_reset_touches_only_its_envs(walker, encoder, ref_embeddings):
    n = 4
    video = make(encoder, ref_embeddings, n)
    frames, masks = walker
    for k in range(5):
        video(frames[k].expand(n, -1, -1, -1), masks[k].expand(n, -1, -1), torch.full((n,), k))
    buf_before, count_before = video.buffer.frames.clone(), video.buffer.count.clone()

    video.reset(torch.tensor([2]))
    others = torch.tensor([0, 1, 3])
    assert torch.equal(video.buffer.frames, buf_before)
    assert video.buffer.count[2] == 0 and torch.equal(video.buffer.count[others], count_before[others])
    assert video.held[2] == 0 and (video.held[others] != 0).all()


def test_replayed_reference_scores_best(walker, encoder, ref_embeddings):
    """An agent replaying the reference beats one shifted in time, one shifted in space, and a frozen one."""
    frames, masks = walker
    index = torch.arange(T)
    agents = {
        "replay": (frames, masks),
        "late": (frames[(index - 4).clamp(min=0)], masks[(index - 4).clamp(min=0)]),
        "moved": (frames.roll(6, dims=2), masks.roll(6, dims=2)),
        "frozen": (frames[:1].expand(T, -1, -1, -1), masks[:1].expand(T, -1, -1)),
    }
    n = len(agents)
    video = make(encoder, ref_embeddings, n)
    agent_frames = torch.stack([f for f, _ in agents.values()], 1)  # (T, n, H, W, 3)
    agent_masks = torch.stack([m for _, m in agents.values()], 1)
    returns = {key: torch.zeros(n) for key in ("total", "iou", "video")}
    for k in range(T):
        frame = torch.full((n,), k)
        s_video = video(agent_frames[k], agent_masks[k], frame)
        s_iou = mask_iou(agent_masks[k], masks[frame])
        for key, value in (("video", s_video), ("iou", s_iou), ("total", s_video + s_iou)):
            returns[key] += value
        if k == 0:  # the replay's clips are the reference's own clips, frame for frame
            assert torch.equal(
                video.buffer.clips()[0], encoder.prepare_frames(frames[:1], masks[:1]).expand(8, -1, -1, -1)
            )
    assert torch.allclose(returns["iou"][0], torch.tensor(float(T)))
    assert torch.allclose(returns["video"][0], torch.tensor(float(T)), atol=1e-4)
    assert torch.all(returns["total"][0] > returns["total"][1:]), returns["total"]


def test_video_every_k_holds_between_encoder_runs(walker, encoder, ref_embeddings, monkeypatch):
    frames, masks = walker
    video = make(encoder, ref_embeddings, 2, replace(CFG, video_every_k=3))
    calls = []
    original = encoder.embed_prepared
    monkeypatch.setattr(encoder, "embed_prepared", lambda clips, *args: calls.append(1) or original(clips, *args))
    index = torch.zeros(2, dtype=torch.long)
    values = [video(frames[:2], masks[:2], index) for _ in range(7)]
    assert len(calls) == 3  # steps 0, 3, 6
    assert torch.equal(values[1], values[0]) and torch.equal(values[2], values[0])
    video.reset(torch.tensor([1]))
    held = video(frames[:2], masks[:2], index)
    assert held[1] == 0 and held[0] == values[6][0]


@pytest.mark.parametrize("ablation", list(ABLATIONS))
def test_ablations_set_the_switches(ablation):
    cfg = NilRewardCfg(ablation=ablation)
    assert (cfg.use_video, cfg.use_iou, cfg.use_penalties) == ABLATIONS[ablation]
    with pytest.raises(ValueError, match="not in"):
        NilRewardCfg(ablation="nope")


def test_rejects_stale_embeddings_and_clip_length_mismatch(encoder):
    with pytest.raises(ValueError, match="stale"):
        make(encoder, torch.zeros(T + 1, 31), 1)
    with pytest.raises(ValueError, match="clip_len"):
        make(encoder, torch.zeros(T, 32), 1, replace(CFG, clip_len=4))


def test_the_speed_term_has_a_slope_at_every_pace_and_peaks_at_the_references():
    """nil_speed: exp(-(v / v_ref - 1)^2 / 2 0.3^2) per second, v along the reference's travel (a sideways or
    backward step earns less than standing at a right angle), whatever the curriculum's camera speed."""
    from types import SimpleNamespace

    from nil_ext.tasks.mdp.rewards import nil_speed

    velocity = torch.tensor([[1.25, 0.0, 0.0], [0.71, 0.0, 0.0], [0.0, 1.25, 0.0], [-1.25, 0.0, 0.0], [1.6, 0.0, 0.0]])
    data = SimpleNamespace(root_lin_vel_w=SimpleNamespace(torch=velocity))
    command = SimpleNamespace(robot=SimpleNamespace(data=data), travel_dir=torch.tensor([1.0, 0.0]),
                              reference_speed=1.25, camera_speed=torch.tensor(0.3), require_camera_path=lambda what: None)
    env = SimpleNamespace(step_dt=0.04, command_manager=SimpleNamespace(get_term=lambda name: command))
    per_step = nil_speed(env) * env.step_dt
    assert per_step[0].item() == pytest.approx(1.0)
    assert per_step[1].item() == pytest.approx(0.36, abs=0.02)  # the shipped H1's pace still has a slope
    assert per_step[2].item() == pytest.approx(math.exp(-1 / 0.18))  # sideways counts as standing
    assert per_step[3] < per_step[2] and per_step[4] < per_step[0]
