"""NilReward: shapes, per-env resets, the meaning of the reward on a synthetic walker, ablations."""

from dataclasses import replace

import pytest
import torch
from reward_helpers import render_walker, tiny_encoder

from nil_ext.rewards import (
    ABLATIONS,
    PENALTY_NAMES,
    NilReward,
    NilRewardCfg,
    PenaltyInputs,
    embedding_cache_key,
    mask_iou,
    weigh,
)

T = 16
CFG = NilRewardCfg(clip_len=8, clip_stride=2)
WEIGHTS = {"video": 1.0, "iou": 1.0, **dict.fromkeys(PENALTY_NAMES, 0.1)}  # the tasks' defaults


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    return tiny_encoder(tmp_path_factory)


@pytest.fixture(scope="module")
def walker():
    return render_walker(T, 64)


@pytest.fixture(scope="module")
def ref_embeddings(walker, encoder):
    return NilReward(CFG, *walker, num_envs=1, device="cpu", encoder=encoder).ref_embeddings


def make(walker, encoder, num_envs, cfg=CFG, ref_embeddings=None):
    return NilReward(cfg, *walker, num_envs=num_envs, device="cpu", encoder=encoder, ref_embeddings=ref_embeddings)


def penalty_inputs(n, scale=1.0):
    g = torch.Generator().manual_seed(1)
    return PenaltyInputs(
        torques=scale * torch.randn(n, 6, generator=g) * 20,
        effort_limit=torch.full((6,), 40.0),
        action=scale * torch.rand(n, 6, generator=g),
        prev_action=torch.zeros(n, 6),
        ang_vel_b=scale * torch.randn(n, 3, generator=g),
        foot_vel_w=scale * torch.randn(n, 2, 3, generator=g),
        foot_contact=torch.ones(n, 2, dtype=torch.bool),
        projected_gravity_b=torch.tensor([0.1 * scale, 0.0, -1.0]).expand(n, 3),
    )


def test_cache_key_and_default_stride():
    assert NilRewardCfg().stride == 2  # round(50 / 24)
    assert NilRewardCfg(control_fps=100, source_fps=25).stride == 4
    key = embedding_cache_key("facebook/timesformer-base-finetuned-k400", 224, 224, 8, 2)
    assert key == "facebook/timesformer-base-finetuned-k400@224x224/clip8/stride2"


@pytest.mark.parametrize("num_envs", [1, 64])
def test_step_shapes_and_finite(walker, encoder, ref_embeddings, num_envs):
    reward = make(walker, encoder, num_envs, ref_embeddings=ref_embeddings)
    frames, masks = walker
    for k in range(3):
        out = reward.step(
            frames[k].expand(num_envs, -1, -1, -1), masks[k].expand(num_envs, -1, -1), penalty_inputs(num_envs)
        )
    out.update(weigh(out, WEIGHTS))
    for name, value in out.items():
        assert value.shape == (num_envs,) and torch.isfinite(value).all(), name
    assert torch.allclose(out["total"], out["weighted/video"] + out["weighted/iou"] + out["weighted/penalty"])
    assert (out["weighted/silhouette"] == 0).all() and (out["raw/silhouette"] == 1).all()  # weighed 0, same masks
    penalty = sum(0.1 * out[f"raw/{name}"] for name in PENALTY_NAMES)
    assert torch.allclose(out["weighted/penalty"], penalty) and (penalty < 0).all()
    assert reward.ref_embeddings.shape == (T, 32)
    assert reward.cache_key == f"{encoder.model_id}@64x64/clip8/stride2"


def test_reset_touches_only_its_envs(walker, encoder, ref_embeddings):
    n = 4
    reward = make(walker, encoder, n, ref_embeddings=ref_embeddings)
    frames, masks = walker
    for k in range(5):
        reward.step(frames[k].expand(n, -1, -1, -1), masks[k].expand(n, -1, -1))
    t_before = reward.t.clone()
    buf_before, count_before = reward.buffer.frames.clone(), reward.buffer.count.clone()

    reward.reset(torch.tensor([2]))
    others = torch.tensor([0, 1, 3])
    assert reward.t[2] == 0 and torch.equal(reward.t[others], t_before[others])
    assert torch.equal(reward.buffer.frames, buf_before)
    assert reward.buffer.count[2] == 0 and torch.equal(reward.buffer.count[others], count_before[others])


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
    reward = make(walker, encoder, n, ref_embeddings=ref_embeddings)
    agent_frames = torch.stack([f for f, _ in agents.values()], 1)  # (T, n, H, W, 3)
    agent_masks = torch.stack([m for _, m in agents.values()], 1)
    returns = {key: torch.zeros(n) for key in ("total", "raw/iou", "raw/video")}
    for k in range(T):
        out = reward.step(agent_frames[k], agent_masks[k])
        out.update(weigh(out, WEIGHTS))
        for key in returns:
            returns[key] += out[key]
        if k == 0:  # the replay's clips are the reference's own clips, frame for frame
            assert torch.equal(
                reward.buffer.clips()[0], reward.encoder.prepare_frames(frames[:1], masks[:1]).expand(8, -1, -1, -1)
            )
    assert torch.allclose(returns["raw/iou"][0], torch.tensor(float(T)))
    assert torch.allclose(returns["raw/video"][0], torch.tensor(float(T)), atol=1e-4)
    assert torch.all(returns["total"][0] > returns["total"][1:]), returns["total"]
    assert reward.done_mask().all()


def test_done_and_loop(walker, encoder, ref_embeddings):
    frames, masks = walker
    for loop in (False, True):
        reward = make(walker, encoder, 2, replace(CFG, loop=loop, use_video=False))
        reward.reset()
        for _ in range(T):
            assert not reward.done_mask().any()
            reward.step(frames[:2], masks[:2])
        assert reward.done_mask().all() != loop
        out = reward.step(frames[:2], masks[:2])  # past the end: the last frame (no loop) or frame 0 (loop)
        expected = masks[0 if loop else T - 1].expand(2, -1, -1)
        assert torch.allclose(out["raw/iou"], mask_iou(masks[:2], expected))
        reward.reset(torch.tensor([0]))
        assert reward.done_mask().tolist() == [False, not loop]


def test_video_every_k_holds_between_encoder_runs(walker, encoder, ref_embeddings, monkeypatch):
    frames, masks = walker
    reward = make(walker, encoder, 2, replace(CFG, video_every_k=3), ref_embeddings)
    calls = []
    original = encoder.embed_prepared
    monkeypatch.setattr(encoder, "embed_prepared", lambda clips, *args: calls.append(1) or original(clips, *args))
    values = [reward.step(frames[:2], masks[:2])["raw/video"] for _ in range(7)]
    assert len(calls) == 3  # steps 0, 3, 6
    assert torch.equal(values[1], values[0]) and torch.equal(values[2], values[0])
    reward.reset(torch.tensor([1]))
    held = reward.step(frames[:2], masks[:2])["raw/video"]
    assert held[1] == 0 and held[0] == values[6][0]


@pytest.mark.parametrize("ablation", list(ABLATIONS))
def test_ablations_switch_streams_off(walker, encoder, ref_embeddings, ablation):
    use_video, use_iou, use_penalties = ABLATIONS[ablation]
    cfg = replace(CFG, ablation=ablation, encoder_id="nil-ext-tests/never-loaded")
    # With video off no encoder is built (cfg.encoder_id names no model).
    reward = make(walker, encoder if use_video else None, 2, cfg, ref_embeddings if use_video else None)
    frames, masks = walker
    out = weigh(reward.step(frames[3:5], masks[3:5], penalty_inputs(2)), WEIGHTS)
    assert (out["weighted/video"] != 0).all() == use_video
    assert (out["weighted/iou"] != 0).all() == use_iou
    assert (out["weighted/penalty"] != 0).all() == use_penalties
    assert (reward.encoder is not None) == use_video


def test_agent_masks_at_other_resolution(walker, encoder):
    frames, masks = walker
    reward = make(walker, encoder, 1, replace(CFG, use_video=False))
    big = masks[:1].repeat_interleave(2, 1).repeat_interleave(2, 2)
    assert torch.allclose(reward.step(frames[:1], big)["raw/iou"], torch.ones(1))


def test_rejects_stale_embeddings_and_clip_length_mismatch(walker, encoder):
    with pytest.raises(ValueError, match="stale"):
        make(walker, encoder, 1, ref_embeddings=torch.zeros(T + 1, 32))
    with pytest.raises(ValueError, match="clip_len"):
        make(walker, encoder, 1, replace(CFG, clip_len=4))


def test_weigh_adds_the_streams_beyond_the_paper_only_when_weighted():
    raw = {"raw/video": torch.tensor([0.5]), "raw/iou": torch.tensor([0.2]), "raw/silhouette": torch.tensor([0.8]),
           "raw/alive": torch.tensor([1.0]), **{f"raw/{name}": torch.tensor([-0.5]) for name in PENALTY_NAMES}}
    paper = weigh(raw, WEIGHTS)["total"]
    assert torch.allclose(paper, torch.tensor([0.5 + 0.2 - 0.25]))
    ours = weigh(raw, {**WEIGHTS, "silhouette": 1.0, "alive": 0.5})
    assert torch.allclose(ours["total"], paper + 0.8 + 0.5)
    assert torch.allclose(ours["weighted/alive"], torch.tensor([0.5]))
