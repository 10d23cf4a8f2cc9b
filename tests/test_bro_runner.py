"""OffPolicyRunner: checkpoints, checkpoint identity, non-finite env data, time-outs and policy export."""

import os

import pytest
import torch
from bro_helpers import (  # noqa: F401 (fixture)
    BatchedPendulum,
    PendulumEnvCfg,
    PendulumSceneCfg,
    one_torch_thread,
    pendulum_bro_cfg,
)

from nil_ext.agents.bro import CheckpointMismatchError, OffPolicyRunner


def make_runner(log_dir=None, env=None, **cfg_overrides):
    cfg = pendulum_bro_cfg(**{"learning_starts": 10, "task_name": "Bro-Pendulum-v0", **cfg_overrides})
    return OffPolicyRunner(env or BatchedPendulum(PendulumEnvCfg()), cfg, log_dir=log_dir)


def test_save_then_load_gives_bit_identical_actions(tmp_path):
    runner = make_runner(str(tmp_path), save_replay_buffer=True)
    runner.learn(30)
    path = str(tmp_path / "model_30.pt")
    assert os.path.exists(path) and os.path.exists(tmp_path / "replay_buffer.pt")
    assert not [f for f in os.listdir(tmp_path) if ".tmp" in f]  # atomic writes leave no temporaries

    restored = make_runner()
    restored.load(path)
    assert (restored.iteration, restored.transitions) == (30, 120)
    assert torch.equal(restored.buffer.obs[:120], runner.buffer.obs[:120])
    obs = torch.randn(16, 3)
    policy, restored_policy = runner.get_inference_policy(), restored.get_inference_policy()
    assert torch.equal(policy(obs), restored_policy(obs))
    for mode in ("explore", "sample"):
        torch.manual_seed(7)
        a = runner.alg.act(runner.normalizer(obs), mode)
        torch.manual_seed(7)
        b = restored.alg.act(restored.normalizer(obs), mode)
        assert torch.equal(a, b), mode
    # optimiser and coefficient state came back too
    steps = [r.alg.critic_opt.state_dict()["state"][0]["step"] for r in (runner, restored)]
    assert steps[0] == steps[1] > 0
    assert torch.equal(restored.alg.log_alpha, runner.alg.log_alpha)


def test_checkpoint_of_another_task_or_agent_is_refused(tmp_path):
    runner = make_runner()
    path = str(tmp_path / "model.pt")
    runner.save(path)
    other_task = OffPolicyRunner(BatchedPendulum(PendulumEnvCfg()), pendulum_bro_cfg(task_name="Nil-Walk-H1-v0"))
    with pytest.raises(CheckpointMismatchError, match="'Bro-Pendulum-v0'.*'Nil-Walk-H1-v0'"):
        other_task.load(path)
    ppo_path = str(tmp_path / "ppo.pt")
    torch.save({"actor_state_dict": {}, "critic_state_dict": {}, "iter": 3}, ppo_path)
    with pytest.raises(CheckpointMismatchError, match="agent 'ppo'.*agent 'bro'"):
        runner.load(ppo_path)


def test_checkpoint_of_other_observation_or_action_sizes_is_refused_in_words(tmp_path):
    """As a robot file's policy_joints changes a robot's action size: a clear refusal, not a load_state_dict trace."""
    runner = make_runner()
    path = str(tmp_path / "model.pt")
    runner.save(path)
    state = torch.load(path, weights_only=False)
    key, weight = next((k, v) for k, v in state["alg"]["actor"].items() if v.dim() == 2)
    state["alg"]["actor"][key] = torch.zeros(weight.shape[0], weight.shape[1] + 2)
    torch.save(state, path)
    with pytest.raises(CheckpointMismatchError, match="other observation or action sizes.*policy_joints"):
        make_runner().load(path)


class PendulumSeeingMore(BatchedPendulum):
    """The pendulum with one more observation term at the end (a profile that also observes the reference)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.extra = torch.randn(self.num_envs, 2)

    def _obs(self) -> torch.Tensor:
        return torch.cat([super()._obs(), self.extra], dim=-1)

    def observation_terms(self):
        return [("state", 3), ("reference", 2)]


class PendulumNamingItsTerms(BatchedPendulum):
    def observation_terms(self):
        return [("state", 3)]


@pytest.mark.parametrize("names_saved", [True, False], ids=["terms named", "older checkpoint"])
def test_training_from_a_checkpoint_that_observed_less_starts_from_its_policy(tmp_path, names_saved):
    """A walk-profile policy starting a track-profile run: the added terms enter with zero weights, so the policy
    acts as before whatever they read, and training then uses them."""
    runner = make_runner(str(tmp_path), env=PendulumNamingItsTerms(PendulumEnvCfg()), save_replay_buffer=True)
    runner.learn(60)
    path = str(tmp_path / "model_60.pt")
    if not names_saved:  # checkpoints written before the terms were saved
        state = torch.load(path, weights_only=False)
        del state["observation_terms"]
        torch.save(state, path)

    wider = make_runner(env=PendulumSeeingMore(PendulumEnvCfg()), learning_starts=0)
    wider.load(path)
    assert len(wider.buffer) == 0  # the saved buffer holds the narrower observations
    obs = torch.randn(16, 3)
    before = runner.get_inference_policy()(obs)
    for extra in (torch.zeros(16, 2), 10 * torch.randn(16, 2)):
        assert torch.allclose(wider.get_inference_policy()(torch.cat([obs, extra], dim=-1)), before, atol=1e-6)
    assert torch.allclose(wider.alg.critic(torch.cat([runner.normalizer(obs), torch.zeros(16, 2)], -1), before)[0],
                          runner.alg.critic(runner.normalizer(obs), before)[0], atol=1e-5)

    wider.learn(20)  # its networks now read the new terms
    assert wider.alg.actor.trunk.stem[0].weight[:, 3:].abs().sum() > 0
    assert wider.alg.critic.trunks[0].stem[0].weight[:, 3:5].abs().sum() > 0


def test_playing_a_checkpoint_that_observed_less_is_refused(tmp_path):
    """Evaluation and play judge the policy as trained: no widening there."""
    runner = make_runner(env=PendulumNamingItsTerms(PendulumEnvCfg()))
    path = str(tmp_path / "model.pt")
    runner.save(path)
    with pytest.raises(CheckpointMismatchError, match="other observation or action sizes"):
        make_runner(env=PendulumSeeingMore(PendulumEnvCfg())).load(path, load_optimizer=False)


def test_a_checkpoint_whose_terms_are_not_the_start_of_the_envs_is_refused(tmp_path):
    class OtherTerms(PendulumNamingItsTerms):
        def observation_terms(self):
            return [("angle", 3)]

    runner = make_runner(env=OtherTerms(PendulumEnvCfg()))
    path = str(tmp_path / "model.pt")
    runner.save(path)
    with pytest.raises(CheckpointMismatchError, match="other observation or action sizes"):
        make_runner(env=PendulumSeeingMore(PendulumEnvCfg())).load(path)


@pytest.mark.parametrize("what", ["obs", "reward"])
def test_nonfinite_env_is_reset_counted_and_training_goes_on(what):
    env = BatchedPendulum(PendulumEnvCfg())
    runner = make_runner(env=env)
    runner.learn(20)
    env.inject_nonfinite(2, what)
    runner.learn(20)
    assert runner.counters["nonfinite_env_steps"] == 1  # reset_idx brought env 2 straight back
    assert len(runner.buffer) == 40 * 4 - 1  # only the broken transition was dropped
    assert torch.isfinite(runner.buffer.obs[: len(runner.buffer)]).all()
    assert torch.isfinite(runner.buffer.rewards[: len(runner.buffer)]).all()
    assert all(torch.isfinite(p).all() for p in runner.alg.actor.parameters())
    assert runner.alg.num_skipped_batches == 0


def test_nonfinite_env_without_reset_idx_is_dropped_until_it_recovers():
    class NoResetIdx:  # an env offering only the required interface
        def __init__(self):
            self.inner = BatchedPendulum(PendulumEnvCfg(max_episode_length=30))
            self.num_envs, self.num_actions, self.device = 4, 1, self.inner.device

        def get_observations(self):
            return self.inner.get_observations()

        def step(self, actions):
            return self.inner.step(actions)

    env = NoResetIdx()
    runner = make_runner(env=env)
    runner.learn(5)
    env.inner.inject_nonfinite(1, "obs")  # NaN state until the time limit resets it (at step 30)
    runner.learn(35)
    assert runner.counters["nonfinite_env_steps"] == 25  # steps 6..30 of env 1
    assert torch.isfinite(runner.buffer.obs[: len(runner.buffer)]).all()
    assert torch.isfinite(runner.buffer.next_obs[: len(runner.buffer)]).all()
    assert len(runner.buffer) == 40 * 4 - 25


def test_truncations_without_final_obs_are_dropped_not_bootstrapped():
    env = BatchedPendulum(PendulumEnvCfg(max_episode_length=10), provide_final_obs=False)
    runner = make_runner(env=env)
    runner.learn(25)
    assert runner.counters["dropped_truncations"] == 2 * 4
    assert len(runner.buffer) == 25 * 4 - 8
    assert runner.buffer.terminated[: len(runner.buffer)].sum() == 0


def test_final_obs_is_stored_as_next_obs_on_time_outs():
    env = BatchedPendulum(PendulumEnvCfg(max_episode_length=10))
    runner = make_runner(env=env)
    runner.learn(10)
    # the 10th transitions end their episodes: next_obs must continue obs (not the reset state)
    obs, next_obs = runner.buffer.obs[36:40], runner.buffer.next_obs[36:40]
    angle = lambda o: torch.atan2(o[:, 1], o[:, 0])  # noqa: E731
    step = torch.remainder(angle(next_obs) - angle(obs) + torch.pi, 2 * torch.pi) - torch.pi
    assert (step.abs() <= 8.0 * 0.05 + 1e-5).all()


def test_logs_and_export(tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    runner = make_runner(str(tmp_path), log_interval=10)
    runner.learn(20)
    assert "Loss/critic" in runner.last_log and "/pendulum/mean_abs_torque" in runner.last_log
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(tmp_path))
    files = runner.export_policy(str(tmp_path / "exported"))
    obs = torch.randn(5, 3)
    expected = runner.get_inference_policy("cpu")(obs)
    assert torch.allclose(torch.jit.load(files["torchscript"])(obs), expected, atol=1e-6)
    session = onnxruntime.InferenceSession(files["onnx"])
    (actions,) = session.run(None, {"obs": obs.numpy()})
    assert torch.allclose(torch.from_numpy(actions), expected, atol=1e-5)


class FakeManagerBasedEnv:
    """Just the parts of Isaac Lab's ManagerBasedRLEnv that the adapter touches, on top of the Pendulum."""

    class _ActionManager:
        total_action_dim = 1

    def __init__(self):
        self.pendulum = BatchedPendulum(PendulumEnvCfg(max_episode_length=5))
        self.unwrapped, self.num_envs, self.device = self, 4, self.pendulum.device
        self.action_manager, self.max_episode_length, self.cfg = self._ActionManager(), 5, self.pendulum.cfg
        self.obs_buf = {"policy": self.pendulum._obs()}

    def reset(self, env_ids=None):
        ids = torch.arange(self.num_envs) if env_ids is None else env_ids
        self.pendulum.reset_idx(ids)
        self.obs_buf = {"policy": self.pendulum._obs()}
        return self.obs_buf, {}

    def step(self, actions):
        obs, rewards, time_outs, extras = self.pendulum.step(actions)
        self.obs_buf = {"policy": obs["policy"]}
        extras = {"final_obs": {"policy": extras["final_obs"]["policy"]}, "log": {"Episode_Reward/upright": 1.0}}
        return self.obs_buf, rewards, torch.zeros_like(time_outs, dtype=torch.bool), time_outs.bool(), extras

    def close(self):
        pass


def test_isaaclab_adapter_feeds_the_runner():
    from nil_ext.agents.vec_env import IsaacLabVecEnv

    env = IsaacLabVecEnv(FakeManagerBasedEnv())
    assert (env.num_envs, env.num_actions) == (4, 1)
    runner = make_runner(env=env, log_interval=10)
    env.unwrapped.pendulum.inject_nonfinite(0, "obs")
    runner.learn(10)
    assert runner.counters == {"nonfinite_env_steps": 1, "dropped_truncations": 0, "resets": 0}
    assert len(runner.buffer) == 39
    assert runner.last_log["Episode_Reward/upright"] == 1.0 and runner.last_log["Train/mean_episode_length"] == 5


class PendulumWithCurriculum(BatchedPendulum):
    """A pendulum whose env keeps training state of its own, as a NIL task keeps its camera speed."""

    def __init__(self, cfg):
        super().__init__(cfg)
        self.level = 0.0

    def state_dict(self) -> dict:
        return {"level": self.level}

    def load_state_dict(self, state: dict) -> None:
        self.level = state["level"]


def test_env_training_state_is_checkpointed_for_resuming_not_for_judging(tmp_path):
    env = PendulumWithCurriculum(PendulumEnvCfg())
    runner = make_runner(str(tmp_path), env=env)
    runner.learn(12)
    env.level = 0.37
    path = str(tmp_path / "model_12.pt")
    runner.save(path)
    resumed = make_runner(env=PendulumWithCurriculum(PendulumEnvCfg()))
    resumed.load(path)
    assert resumed.env.level == 0.37
    judged = make_runner(env=PendulumWithCurriculum(PendulumEnvCfg()))
    judged.load(path, load_optimizer=False)
    assert judged.env.level == 0.0


@pytest.mark.parametrize("rho", [0.0, 0.95])
def test_exploration_noise_keeps_its_scale_and_has_the_set_step_to_step_correlation(rho):
    torch.manual_seed(0)
    env = BatchedPendulum(PendulumEnvCfg(scene=PendulumSceneCfg(num_envs=512)))
    runner = make_runner(env=env, learning_starts=0, exploration_noise_correlation=rho)
    obs = torch.zeros(512, 3)  # one state: the actor's mean and std are the same in every env
    u = torch.stack([torch.atanh(runner._act(obs).clamp(-0.999999, 0.999999)) for _ in range(100)])  # (T, N, 1)
    z = (u - u.mean()) / u.std()
    lag1 = (z[1:] * z[:-1]).mean()
    assert abs(lag1 - rho) < 0.05
    # the same actor seen through white noise: the spread of the pre-tanh actions does not change with rho
    runner.cfg.exploration_noise_correlation = 0.0
    white = torch.stack([torch.atanh(runner._act(obs).clamp(-0.999999, 0.999999)) for _ in range(100)])
    assert abs(u.std() / white.std() - 1.0) < 0.1


def test_exploration_noise_correlation_outside_0_1_is_refused():
    with pytest.raises(ValueError, match=r"exploration_noise_correlation must be in \[0, 1\)"):
        make_runner(exploration_noise_correlation=1.0)


def test_exploration_noise_is_redrawn_when_an_episode_ends():
    env = BatchedPendulum(PendulumEnvCfg(max_episode_length=2))
    runner = make_runner(env=env, learning_starts=100, exploration_noise_correlation=0.9)
    before = runner._noise.clone()
    runner.learn(1)  # random actions before learning_starts; no episode has ended
    assert torch.equal(runner._noise, before)
    runner.learn(1)  # every episode ends (time-out)
    assert not torch.isclose(runner._noise, before).any()


@pytest.mark.parametrize("with_buffer", [False, True])
def test_resume_refills_a_missing_replay_buffer_with_the_policy_before_updating(tmp_path, with_buffer):
    make_runner(str(tmp_path), save_replay_buffer=with_buffer).learn(30)  # learning_starts = 10
    resumed = make_runner()
    resumed.load(str(tmp_path / "model_30.pt"))
    updates = lambda: int(resumed.alg.critic_opt.state_dict()["state"][0]["step"])  # noqa: E731
    before = updates()
    resumed.learn(9)
    if with_buffer:
        assert updates() > before  # the saved buffer is back: training goes on at once
        return
    assert updates() == before and len(resumed.buffer) == 9 * 4  # collecting, not fitting a near-empty buffer
    resumed.learn(2)
    assert updates() > before


def test_overlapped_env_steps_run_beside_the_updates_and_store_every_transition():
    """overlap_env_step: the env steps on a worker thread while the updates run on the main one (on the data of
    the steps before); every transition is still stored once, in order, and the torch thread count comes back."""
    import threading

    env = BatchedPendulum(PendulumEnvCfg())
    step_threads = set()
    env_step = env.step

    def step(actions):
        step_threads.add(threading.current_thread().name)
        return env_step(actions)

    env.step = step
    runner = make_runner(env=env, overlap_env_step=True)
    threads = torch.get_num_threads()
    runner.learn(30)
    assert step_threads and threading.main_thread().name not in step_threads
    assert (runner.iteration, runner.transitions, len(runner.buffer)) == (30, 120, 120)
    assert runner._num_updates > 0 and torch.get_num_threads() == threads
    # the stored next observation of a step is the observation the next step starts from
    assert torch.equal(runner.buffer.next_obs[:4], runner.buffer.obs[4:8])
