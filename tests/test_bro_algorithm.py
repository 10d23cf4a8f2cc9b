"""BRO's update: critic learning, the NaN guard and the full reset."""

import copy

import pytest
import torch
from bro_helpers import (  # noqa: F401 (one_torch_thread is an autouse fixture)
    BatchedPendulum,
    PendulumEnvCfg,
    one_torch_thread,
    pendulum_bro_cfg,
    random_batch,
    small_bro,
)

from nil_ext.agents.bro import OffPolicyRunner
from nil_ext.agents.bro.networks import quantile_huber_loss


def test_quantile_huber_loss_matches_its_definition():
    """rho_tau(u) = |tau - 1{u < 0}| * Huber_kappa(u) / kappa, summed over predicted quantiles, mean elsewhere."""
    taus = torch.tensor([0.25, 0.75])
    td = torch.tensor([[[0.5, -2.0], [-0.5, 3.0]]])  # (B=1, predicted=2, target=2): quadratic and linear parts
    kappa = 1.0
    huber = torch.tensor([[[0.125, 1.5], [0.125, 2.5]]])
    weight = torch.tensor([[[0.25, 0.75], [0.25, 0.75]]])
    expected = (weight * huber / kappa).sum(dim=1).mean()
    assert quantile_huber_loss(td, taus, kappa).item() == pytest.approx(expected.item())
    assert quantile_huber_loss(2 * td, taus, 2.0).item() == pytest.approx(2 * expected.item())  # scale-equivariant


def test_critic_loss_falls_on_a_fixed_batch():
    torch.manual_seed(0)
    alg, batch = small_bro(), random_batch()
    losses = [float(alg.update(batch)["Loss/critic"]) for _ in range(40)]
    assert sum(losses[-5:]) < 0.7 * sum(losses[:5])


def test_update_changes_every_learner_and_keeps_the_target_behind():
    torch.manual_seed(0)
    alg = small_bro()
    before = copy.deepcopy(alg.state_dict())
    metrics = alg.update(random_batch())
    assert set(metrics) >= {"Loss/critic", "Policy/alpha", "Policy/optimism", "Policy/kl_weight"}
    for name in ("actor", "dual_actor", "critic", "target_critic", "optimism", "kl_weight"):
        changed = any(not torch.equal(before[name][k], v) for k, v in alg.state_dict()[name].items())
        assert changed, name
    # Polyak: the target moved by tau of the way, not onto the critic
    critic, target = alg.critic.state_dict(), alg.target_critic.state_dict()
    assert any(not torch.equal(critic[k], target[k]) for k in critic)


def test_nonfinite_batch_is_reported_and_not_trained_on():
    alg = small_bro()
    before = copy.deepcopy(alg.state_dict())
    batch = random_batch()
    batch.rewards[3] = float("nan")
    batch.next_obs[5, 1] = float("inf")
    with pytest.warns(UserWarning, match="non-finite"):
        assert alg.update(batch) is None
    assert alg.num_skipped_batches == 1
    after = alg.state_dict()
    for name in ("actor", "dual_actor", "critic", "target_critic", "optimism", "kl_weight"):
        assert all(torch.equal(before[name][k], v) for k, v in after[name].items()), name
    assert torch.equal(before["log_alpha"], after["log_alpha"])
    assert after["critic_opt"]["state"] == {}  # the optimiser never stepped


def test_reset_reinitialises_what_bro_resets_and_nothing_else():
    torch.manual_seed(0)
    env = BatchedPendulum(PendulumEnvCfg())
    runner = OffPolicyRunner(env, pendulum_bro_cfg(learning_starts=10, reset_at_env_steps=(40,)), log_dir=None)
    runner.learn(39)
    alg = runner.alg
    trained = {name: copy.deepcopy(getattr(alg, name).state_dict()) for name in ("actor", "dual_actor", "critic")}
    buffer_obs, normalizer = runner.buffer.obs.clone(), copy.deepcopy(runner.normalizer.state_dict())
    runner.learn(1)  # iteration 40: reset, then this iteration's update
    assert runner.counters["resets"] == 1 and runner.iteration == 40 and runner.transitions == 160
    # networks are fresh (and have taken exactly one update step since)
    for name, old in trained.items():
        new = getattr(alg, name).state_dict()
        assert all(not torch.equal(old[k], new[k]) for k in old if old[k].dim() == 2), name
    assert alg.critic_opt.state[next(iter(alg.critic.parameters()))]["step"] == 1
    assert alg.actor_opt.state[next(iter(alg.actor.parameters()))]["step"] == 1
    # coefficients are back at their initial values (one Adam step at lr <= 3e-4 away)
    assert abs(alg.log_alpha.exp().item() - 1.0) < 1e-3
    assert abs(alg.optimism().item() - 1.0) < 1e-3 and abs(alg.kl_weight().item() - 0.25) < 1e-3
    # what BRO does not reset is kept: replay data, observation statistics
    assert len(runner.buffer) == 160
    assert torch.equal(runner.buffer.obs[:156], buffer_obs[:156])
    assert runner.normalizer.count == normalizer["count"] + 4
