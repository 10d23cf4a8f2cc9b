"""n-step returns (``BroCfg.n_step``): the batched window against a plain per-env loop, one-step BRO unchanged,
and the runner storing n-step transitions from a real (pendulum) env."""

import pytest
import torch
from bro_helpers import BatchedPendulum, PendulumEnvCfg, one_torch_thread, pendulum_bro_cfg  # noqa: F401

from nil_ext.agents.bro import OffPolicyRunner
from nil_ext.agents.bro.n_step import NStepWindow

GAMMA = 0.9


def per_env_reference(steps, n, gamma):
    """The transitions of every start step t with t + n - 1 < T, env by env, written as the definition says."""
    out = []
    for t in range(len(steps) - n + 1):
        for e in range(steps[0]["obs"].shape[0]):
            if not steps[t]["stored"][e]:
                continue
            ret, m = 0.0, 0
            for k in range(n):
                s = steps[t + k]
                if not s["stored"][e]:
                    break
                ret += gamma**k * float(s["rewards"][e])
                m = k + 1
                if s["done"][e]:
                    break
            last = steps[t + m - 1]
            out.append((t, e, ret, last["next_obs"][e].tolist(), float(last["terminated"][e]), gamma**m))
    return out


def random_steps(num_steps=12, num_envs=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    steps = []
    for t in range(num_steps):
        done = torch.rand(num_envs, generator=g) < 0.25
        steps.append({
            "obs": torch.full((num_envs, 2), float(t)) + torch.arange(num_envs)[:, None] * 100.0,
            "actions": torch.rand(num_envs, 1, generator=g),
            "rewards": torch.randn(num_envs, generator=g),
            "next_obs": torch.randn(num_envs, 2, generator=g),
            "terminated": done & (torch.rand(num_envs, generator=g) < 0.5),
            "done": done,
            "stored": torch.rand(num_envs, generator=g) > 0.15,  # non-finite data, truncations without final obs
        })
    for s in steps:
        s["rewards"][~s["stored"]] = float("nan")  # what is not stored must not leak into a return
    return steps


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_window_matches_the_definition_env_by_env(n):
    steps = random_steps()
    window, got = NStepWindow(n, GAMMA), []
    for s in steps:
        out = window.push(s["obs"], s["actions"], s["rewards"], s["next_obs"], s["terminated"], s["done"], s["stored"])
        if out is not None:
            obs, _, ret, next_obs, terminated, discount = out
            for row in range(len(obs)):
                e = int(obs[row, 0].item() // 100)  # obs encode (step, env): t + 100 e
                t = int(obs[row, 0].item() - 100 * e)
                got.append((t, e, float(ret[row]), next_obs[row].tolist(), float(terminated[row]), float(discount[row])))
    want = per_env_reference(steps, n, GAMMA)
    assert [g[:2] for g in got] == [w[:2] for w in want]
    for g, w in zip(got, want, strict=True):
        assert g[2] == pytest.approx(w[2], rel=1e-5, abs=1e-6), (g, w)
        assert g[3] == pytest.approx(w[3]) and g[4] == w[4] and g[5] == pytest.approx(w[5], rel=1e-6), (g, w)
    if n == 1:  # one-step: every stored step at once, discount gamma
        assert len(got) == sum(int(s["stored"].sum()) for s in steps)
        assert all(g[5] == pytest.approx(GAMMA) for g in got)


def test_n_step_below_one_is_refused():
    with pytest.raises(ValueError, match="n_step must be at least 1"):
        NStepWindow(0, GAMMA)


def test_runner_stores_n_step_returns_from_the_env():
    """Pendulum rewards are negative every step: a 3-step return is about three of them, discounted by gamma^3,
    and the episode's last steps (time-out after 10) sum fewer."""
    cfg = pendulum_bro_cfg(learning_starts=10_000, task_name="Bro-Pendulum-v0")
    cfg.algorithm.n_step = 3
    runner = OffPolicyRunner(BatchedPendulum(PendulumEnvCfg(max_episode_length=10)), cfg)
    runner.learn(20)
    size = len(runner.buffer)
    assert size == (20 - 2) * 4  # each step is complete two steps later
    discount, rewards = runner.buffer.discount[:size], runner.buffer.rewards[:size]
    gamma = cfg.algorithm.gamma
    # per env: steps 1-8 of an episode see 3 steps, step 9 two, step 10 (the time-out) one
    assert sorted(set(discount.round(decimals=6).tolist())) == pytest.approx([gamma**3, gamma**2, gamma], rel=1e-6)
    assert ((discount - gamma**3).abs() < 1e-6).sum() == 4 * (8 + 8)  # the first 8 steps of both episodes
    assert (rewards < 0).all() and runner.buffer.terminated[:size].sum() == 0
