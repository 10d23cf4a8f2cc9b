"""Configuration of the BRO agent (:class:`BroCfg`) and of its off-policy runner (:class:`BroRunnerCfg`).

Defaults follow the BRO authors' code (Nauman et al., 2024, "Bigger, Regularized, Optimistic"); the
docstring of :mod:`nil_ext.agents.bro` lists where and why we depart from it.
"""

from __future__ import annotations

from isaaclab.utils import configclass


@configclass
class BroCfg:
    """The BRO learner: networks, losses, optimisers and the automatically tuned coefficients."""

    # -- networks (BroNet: Dense-LN-ReLU stem, then residual blocks [Dense-LN-ReLU-Dense-LN] + skip)
    critic_width: int = 512
    critic_blocks: int = 2
    actor_width: int = 256
    actor_blocks: int = 1
    num_quantiles: int = 100
    """Quantiles per critic head (distributional critic, quantile Huber loss)."""
    log_std_min: float = -10.0
    log_std_max: float = 2.0

    # -- optimisation
    learning_rate: float = 3e-4
    """AdamW learning rate of the critic, the actor and the dual (optimistic) actor."""
    weight_decay: float = 1e-4
    """AdamW weight decay (optax.adamw's default, which the authors' code uses)."""
    batch_size: int = 128
    updates_per_step: int = 10
    """Gradient updates per vectorised env step (BRO: 10, "BRO fast": 2). With many parallel envs each
    vectorised step brings ``num_envs`` transitions: scale this (and ``batch_size``) to the data rate."""
    gamma: float = 0.99
    n_step: int = 1
    """Rewards summed before bootstrapping (BRO: 1; FastTD3: 3). More carries the credit of keeping up with the
    reference further per update, at the cost of bias from the exploring actor's own actions."""
    tau: float = 0.005
    """Polyak rate of the target critic."""
    kappa: float = 1.0
    """Quantile Huber loss threshold."""
    pessimism: float = 0.0
    """Weight of -|Q1 - Q2| / 2 in the critic target and the conservative actor's objective (BRO: 0)."""

    # -- SAC temperature
    init_temperature: float = 1.0
    target_entropy: float | None = None
    """Target entropy of the conservative actor; None means -|A| / 2."""
    temperature_lr: float = 3e-4

    # -- optimistic exploration (dual actor)
    std_multiplier: float = 0.75
    """The dual actor's std is the conservative actor's std times this."""
    init_optimism: float = 1.0
    init_kl_weight: float = 0.25
    kl_target: float = 0.05
    """Target KL(dual || conservative) per action dimension."""
    adjustment_lr: float = 3e-5
    """Adam learning rate of the optimism and KL-weight coefficients."""


@configclass
class BroRunnerCfg:
    """The off-policy runner: data collection, replay, resets, logging and checkpoints.

    One iteration is one vectorised env step (``num_envs`` transitions per process) followed by
    ``algorithm.updates_per_step`` gradient updates. ``learning_starts`` and ``reset_at_env_steps``
    count vectorised env steps as well.
    """

    seed: int = 42
    device: str = "cpu"
    experiment_name: str = "bro"
    run_name: str = ""
    task_name: str = ""
    """Gym id of the task; stored in checkpoints so that one from another task is refused."""

    max_iterations: int = 1_000_000
    save_interval: int = 10_000
    log_interval: int = 100
    progress_bar: bool = True

    learning_starts: int = 2_500
    """Vectorised env steps of uniformly random actions before the first update."""
    buffer_size: int = 1_000_000
    """Replay capacity in transitions (per process), kept on the runner's device."""
    save_replay_buffer: bool = False
    """Also write the replay buffer (``replay_buffer.pt`` beside the checkpoints) at every save."""
    observation_normalization: bool = True
    exploration_noise_correlation: float = 0.0
    """AR(1) coefficient of the exploration noise from one env step to the next (0: white noise, as BRO).
    Each env's noise stays N(0, 1) per step; above 0 it drifts instead of flipping sign every step, so the
    PD targets sway rather than vibrate. Redrawn when an episode ends."""
    overlap_env_step: bool = False
    """Step the env on a worker thread while the updates run on the transitions stored so far (the policy acting
    in a step is then one iteration's updates behind, as in asynchronous actor-learner setups). On a CPU the
    simulator's kernels run on one core and the updates on another: an iteration costs the longer of the two
    instead of their sum (``scripts/benchmark.py --what train``)."""
    reset_at_env_steps: tuple[int, ...] = (15_000, 50_000, 250_000, 500_000, 750_000, 1_000_000, 1_500_000, 2_000_000)
    """Full parameter resets (networks, optimisers, temperature, optimism, KL weight) at these env steps."""

    algorithm: BroCfg = BroCfg()
