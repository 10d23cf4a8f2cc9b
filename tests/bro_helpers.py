"""Test helpers for BRO: a batched torch Pendulum (gymnasium Pendulum-v1 dynamics), its configs and its
gym registration ``bro_helpers:Bro-Pendulum-v0`` (``--task bro_helpers:Bro-Pendulum-v0`` with tests/ on
PYTHONPATH imports this module in a subprocess)."""

from __future__ import annotations

import math
import os

import gymnasium as gym
import numpy as np
import pytest
import torch
import torch.distributed as dist
from isaaclab.utils import configclass
from tensordict import TensorDict

from nil_ext.agents.bro import BRO, BroCfg, BroRunnerCfg, OffPolicyRunner
from nil_ext.agents.bro.replay_buffer import Batch

TASK_ID = "Bro-Pendulum-v0"


@configclass
class PendulumSceneCfg:
    num_envs: int = 4


@configclass
class PendulumSimCfg:
    device: str = "cpu"


@configclass
class PendulumEnvCfg:
    """Shaped like an Isaac Lab env cfg where train.py touches it (scene.num_envs, sim.device, seed)."""

    scene: PendulumSceneCfg = PendulumSceneCfg()
    sim: PendulumSimCfg = PendulumSimCfg()
    seed: int | None = 0
    max_episode_length: int = 200


class BatchedPendulum(gym.Env):
    """N gymnasium Pendulum-v1 envs stepped together as tensors; rsl_rl-style vectorised interface.

    Actions in [-1, 1] are scaled to torques in [-2, 2]. Episodes are truncated after 200 steps (time-outs,
    ``extras["final_obs"]`` holds the last observation). ``inject_nonfinite(env_id, "obs" | "reward")`` makes
    that env produce NaN (a NaN state persists until the env is reset).
    """

    max_speed, max_torque, dt, g, m, length = 8.0, 2.0, 0.05, 10.0, 1.0, 1.0

    def __init__(self, cfg: PendulumEnvCfg | None = None, provide_final_obs: bool = True, **registry_kwargs):
        self.cfg = cfg or PendulumEnvCfg()
        self.num_envs, self.num_actions = self.cfg.scene.num_envs, 1
        self.device = torch.device(self.cfg.sim.device)
        self.max_episode_length = self.cfg.max_episode_length
        self.provide_final_obs = provide_final_obs
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (3,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(self.cfg.seed or 0)
        self.theta = torch.zeros(self.num_envs, device=self.device)
        self.theta_dot = torch.zeros(self.num_envs, device=self.device)
        self.episode_length_buf = torch.zeros(self.num_envs, dtype=torch.long, device=self.device)
        self._nan_reward = torch.zeros(self.num_envs, dtype=torch.bool, device=self.device)
        self.reset_idx(torch.arange(self.num_envs, device=self.device))

    def _obs(self) -> torch.Tensor:
        return torch.stack([self.theta.cos(), self.theta.sin(), self.theta_dot], dim=-1)

    def get_observations(self) -> TensorDict:
        return TensorDict({"policy": self._obs()}, batch_size=[self.num_envs])

    def reset_idx(self, env_ids: torch.Tensor) -> None:
        n = len(env_ids)
        u = torch.rand(2, n, generator=self.generator, device=self.device)
        self.theta[env_ids] = (u[0] * 2 - 1) * math.pi
        self.theta_dot[env_ids] = u[1] * 2 - 1
        self.episode_length_buf[env_ids] = 0

    def inject_nonfinite(self, env_id: int, what: str = "obs") -> None:
        if what == "obs":
            self.theta[env_id] = float("nan")
        else:
            self._nan_reward[env_id] = True

    def step(self, actions: torch.Tensor):
        u = actions.view(-1).clamp(-1.0, 1.0) * self.max_torque
        th, thdot = self.theta, self.theta_dot
        angle = ((th + math.pi) % (2 * math.pi)) - math.pi
        rewards = -(angle**2 + 0.1 * thdot**2 + 0.001 * u**2)
        rewards = torch.where(self._nan_reward, torch.full_like(rewards, float("nan")), rewards)
        self._nan_reward[:] = False
        new_thdot = (thdot + (3 * self.g / (2 * self.length) * th.sin() + 3.0 / (self.m * self.length**2) * u) * self.dt)
        new_thdot = new_thdot.clamp(-self.max_speed, self.max_speed)
        self.theta, self.theta_dot = th + new_thdot * self.dt, new_thdot
        self.episode_length_buf += 1
        time_outs = self.episode_length_buf >= self.max_episode_length
        extras = {"time_outs": time_outs, "log": {"/pendulum/mean_abs_torque": u.abs().mean()}}
        if self.provide_final_obs:
            extras["final_obs"] = TensorDict({"policy": self._obs()}, batch_size=[self.num_envs])
        done_ids = time_outs.nonzero().squeeze(-1)
        if len(done_ids):
            self.reset_idx(done_ids)
        return self.get_observations(), rewards, time_outs.long(), extras

    def close(self) -> None:
        pass


def pendulum_bro_cfg(**overrides) -> BroRunnerCfg:
    """A BRO runner config small enough for tests (narrow networks, few quantiles)."""
    cfg = BroRunnerCfg(
        experiment_name="bro_pendulum",
        learning_starts=50,
        buffer_size=20_000,
        save_interval=50,
        log_interval=25,
        progress_bar=False,
        reset_at_env_steps=(),
        algorithm=BroCfg(critic_width=32, critic_blocks=1, actor_width=32, actor_blocks=1, num_quantiles=8,
                         batch_size=32, updates_per_step=1),
    )
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return cfg


def pendulum_ppo_cfg():
    """An rsl_rl PPO config (Isaac Lab's configclass) for the Pendulum test task."""
    from isaaclab_rl.rsl_rl import RslRlMLPModelCfg, RslRlOnPolicyRunnerCfg, RslRlPpoAlgorithmCfg

    model = dict(hidden_dims=[32, 32], activation="elu", obs_normalization=True)
    return RslRlOnPolicyRunnerCfg(
        num_steps_per_env=16,
        max_iterations=3,
        save_interval=1,
        experiment_name="ppo_pendulum",
        obs_groups={"actor": ["policy"], "critic": ["policy"]},
        actor=RslRlMLPModelCfg(**model, distribution_cfg=RslRlMLPModelCfg.GaussianDistributionCfg(init_std=1.0)),
        critic=RslRlMLPModelCfg(**model),
        algorithm=RslRlPpoAlgorithmCfg(
            value_loss_coef=1.0, use_clipped_value_loss=True, clip_param=0.2, entropy_coef=0.0,
            num_learning_epochs=2, num_mini_batches=2, learning_rate=1e-3, schedule="adaptive",
            gamma=0.99, lam=0.95, desired_kl=0.01, max_grad_norm=1.0,
        ),
    )


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tests in modules that import this fixture run on one thread (2 shared cores; no oversubscription)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_bro(obs_dim: int = 3, act_dim: int = 2, **overrides):
    """A narrow BRO learner for unit tests."""
    cfg = pendulum_bro_cfg().algorithm
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return BRO(obs_dim, act_dim, cfg)


def random_batch(n: int = 32, obs_dim: int = 3, act_dim: int = 2, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    return Batch(
        obs=torch.randn(n, obs_dim, generator=g),
        actions=torch.rand(n, act_dim, generator=g) * 2 - 1,
        rewards=torch.randn(n, generator=g),
        next_obs=torch.randn(n, obs_dim, generator=g),
        terminated=(torch.rand(n, generator=g) < 0.1).float(),
        discount=torch.full((n,), 0.99),
    )


def distributed_worker(rank: int, world_size: int, port: int, out_dir: str) -> None:
    """One process of the 2-process gloo test: its own envs (seed offset by rank), 40 iterations of BRO."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world_size), RANK=str(rank))
    torch.set_num_threads(1)
    env = BatchedPendulum(PendulumEnvCfg(seed=rank))
    runner = OffPolicyRunner(env, pendulum_bro_cfg(learning_starts=10), device="cpu")
    initial = [p.detach().clone() for p in runner.alg.learnable_parameters()]
    runner.learn(40)
    torch.save(
        {
            "initial": initial,
            "params": [p.detach().clone() for p in runner.alg.learnable_parameters()],
            "obs": runner.buffer.obs[: len(runner.buffer)].clone(),
            "normalizer": runner.normalizer.state_dict(),
            "transitions": runner.transitions,
        },
        os.path.join(out_dir, f"rank{rank}.pt"),
    )
    dist.destroy_process_group()


@torch.no_grad()
def evaluate(policy, num_envs: int = 10, seed: int = 123, device: str = "cpu") -> float:
    """Mean return of a deterministic policy over ``num_envs`` full Pendulum episodes (fixed start states)."""
    cfg = PendulumEnvCfg(scene=PendulumSceneCfg(num_envs=num_envs), sim=PendulumSimCfg(device=device), seed=seed)
    env = BatchedPendulum(cfg)
    total = torch.zeros(num_envs, device=env.device)
    for _ in range(env.max_episode_length):
        _, rewards, _, _ = env.step(policy(env.get_observations()["policy"]))
        total += rewards
    return float(total.mean())


if TASK_ID not in gym.registry:
    gym.register(
        id=TASK_ID,
        entry_point=f"{__name__}:BatchedPendulum",
        disable_env_checker=True,
        order_enforce=False,
        kwargs={
            "env_cfg_entry_point": f"{__name__}:PendulumEnvCfg",
            "bro_cfg_entry_point": f"{__name__}:pendulum_bro_cfg",
            "rsl_rl_cfg_entry_point": f"{__name__}:pendulum_ppo_cfg",
        },
    )
