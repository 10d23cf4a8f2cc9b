"""Agent configs of the walk tasks, per preset."""

from __future__ import annotations

from isaaclab_rl.rsl_rl import RslRlMLPModelCfg, RslRlOnPolicyRunnerCfg, RslRlPpoAlgorithmCfg

from ...agents.bro.config import BroCfg, BroRunnerCfg

# BRO starts its temperature at 1.0; the entropy bonus then takes thousands of iterations to decay, and until then
# the exploration noise tips A1 over in most episodes, on a CPU and on a GPU
# (docs/experiments/2026-11-22-a1-gpu-h100.md). Hence a low start on every preset.
INIT_TEMPERATURE = 0.05


def bro_walk_cfg(robot: str, preset: str = "gpu") -> BroRunnerCfg:
    if preset in ("cpu", "cpu-smoke"):
        # Small networks: a CPU update costs as much as a vectorised env step. cpu-smoke (4 envs) makes one update
        # per step and stops after minutes; cpu (128 envs) makes eight per step, for runs of tens of minutes, with
        # the env stepping on one core while the updates run on the others (overlap_env_step).
        smoke = preset == "cpu-smoke"
        return BroRunnerCfg(
            overlap_env_step=not smoke,
            experiment_name=f"nil_{robot}_walk",
            device="cpu",
            max_iterations=1500 if smoke else 20_000,
            save_interval=500,
            log_interval=50,
            learning_starts=200 if smoke else 40,
            buffer_size=200_000 if smoke else 1_000_000,
            reset_at_env_steps=(),
            algorithm=BroCfg(critic_width=256, critic_blocks=1, actor_width=128, actor_blocks=1, num_quantiles=32,
                             batch_size=256, updates_per_step=1 if smoke else 8, init_temperature=INIT_TEMPERATURE),
        )
    # Thousands of envs on a GPU: FastTD3's scaling (wide nets, big batches, few updates per vectorised step).
    return BroRunnerCfg(
        experiment_name=f"nil_{robot}_walk",
        device="cuda:0",
        max_iterations=50_000,
        save_interval=2_000,
        learning_starts=10,
        buffer_size=4_096 * 256,
        reset_at_env_steps=(),
        algorithm=BroCfg(critic_width=1024, actor_width=512, batch_size=32_768, updates_per_step=2, weight_decay=0.1,
                         init_temperature=INIT_TEMPERATURE),
    )


def ppo_walk_cfg(robot: str, preset: str = "gpu") -> RslRlOnPolicyRunnerCfg:
    return RslRlOnPolicyRunnerCfg(
        device="cuda:0" if preset == "gpu" else "cpu",
        num_steps_per_env=24,
        max_iterations={"cpu-smoke": 60, "cpu": 1_000}.get(preset, 5_000),
        save_interval=50,
        experiment_name=f"nil_{robot}_walk",
        obs_groups={"actor": ["policy"], "critic": ["policy"]},
        actor=RslRlMLPModelCfg(
            hidden_dims=[256, 128],
            activation="elu",
            obs_normalization=True,
            distribution_cfg=RslRlMLPModelCfg.GaussianDistributionCfg(init_std=1.0),
        ),
        critic=RslRlMLPModelCfg(hidden_dims=[256, 128], activation="elu", obs_normalization=True),
        algorithm=RslRlPpoAlgorithmCfg(
            value_loss_coef=1.0, use_clipped_value_loss=True, clip_param=0.2, entropy_coef=0.005,
            num_learning_epochs=5, num_mini_batches=4, learning_rate=1e-3, schedule="adaptive",
            gamma=0.99, lam=0.95, desired_kl=0.01, max_grad_norm=1.0,
        ),
    )
