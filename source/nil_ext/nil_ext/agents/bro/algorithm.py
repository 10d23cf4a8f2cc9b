"""The BRO update (Nauman et al., 2024): distributional SAC with a large regularised critic and
optimistic exploration through a dual actor. One file, read top to bottom.

Per gradient update, in the authors' order:
1. critic: quantile Huber loss against r + gamma * (1 - terminal) * (Z_target(s', a') - alpha * log pi(a'|s'))
   (with ``n_step`` > 1: r summed over up to n steps and gamma^m, s' m steps on; see ``n_step.py``),
   a' from the conservative actor, Z_target the per-quantile mean of the two target critics
   (minus ``pessimism`` * |Z1 - Z2| / 2; BRO uses pessimism 0); then Polyak-average the target critic;
2. conservative actor: maximise mean_quantiles(Z) - alpha * log pi (SAC);
3. dual actor: maximise mean(Q) + optimism * |Q1 - Q2| / 2 - kl_weight * KL(dual || conservative);
4. temperature toward the target entropy, optimism and KL weight toward the KL target (dual ascent).
"""

from __future__ import annotations

import copy
import math
import warnings

import torch
from torch import nn

from . import distributed
from .config import BroCfg
from .networks import Actor, DualActor, TwinQuantileCritic, quantile_huber_loss, sample_tanh_gaussian
from .replay_buffer import Batch


class SquashedCoefficient(nn.Module):
    """A positive coefficient exp(l), l = log_min + (log_max - log_min) * (1 + tanh(p)) / 2, as in the authors'
    code for optimism and KL weight: bounded in [e^-10, e^7.5], never collapsing to zero or exploding."""

    def __init__(self, init_value: float, log_min: float = -10.0, log_max: float = 7.5):
        super().__init__()
        self.log_min, self.log_max = log_min, log_max
        raw = math.atanh((math.log(init_value) - log_min) / (0.5 * (log_max - log_min)) - 1.0)
        self.raw = nn.Parameter(torch.tensor(raw))

    def forward(self) -> torch.Tensor:
        return torch.exp(self.log_min + (self.log_max - self.log_min) * 0.5 * (1.0 + torch.tanh(self.raw)))


class BRO:
    """Networks, optimisers and the update of BRO. The runner owns data, logging and checkpoints."""

    def __init__(self, obs_dim: int, act_dim: int, cfg: BroCfg, device: str | torch.device = "cpu"):
        self.cfg, self.obs_dim, self.act_dim, self.device = cfg, obs_dim, act_dim, torch.device(device)
        self.target_entropy = -act_dim / 2.0 if cfg.target_entropy is None else cfg.target_entropy
        n = cfg.num_quantiles
        self.taus = (torch.arange(n, device=self.device, dtype=torch.float32) + 0.5) / n  # quantile midpoints
        self.num_skipped_batches = 0
        self.reset()

    def reset(self) -> None:
        """Full reset: fresh actor, dual actor, critic, target critic, optimisers, temperature, optimism and KL
        weight. The replay buffer, observation statistics and step counters (owned by the runner) are kept."""
        c, dev = self.cfg, self.device
        self.actor = Actor(self.obs_dim, self.act_dim, c.actor_width, c.actor_blocks, c.log_std_min, c.log_std_max)
        self.dual_actor = DualActor(self.obs_dim, self.act_dim, c.actor_width, c.actor_blocks, c.std_multiplier)
        self.critic = TwinQuantileCritic(self.obs_dim, self.act_dim, c.critic_width, c.critic_blocks, c.num_quantiles)
        self.actor, self.dual_actor, self.critic = self.actor.to(dev), self.dual_actor.to(dev), self.critic.to(dev)
        self.log_alpha = nn.Parameter(torch.tensor(math.log(c.init_temperature), device=dev))
        self.optimism = SquashedCoefficient(c.init_optimism).to(dev)
        self.kl_weight = SquashedCoefficient(c.init_kl_weight).to(dev)
        # every process starts from rank 0's initialisation (gradients are averaged, so they stay equal)
        distributed.broadcast_(self.learnable_parameters())
        self.target_critic = copy.deepcopy(self.critic).requires_grad_(False)

        fused = dev.type == "cuda"  # one kernel per optimiser step instead of several per tensor

        def adamw(module):
            return torch.optim.AdamW(module.parameters(), lr=c.learning_rate, weight_decay=c.weight_decay, fused=fused)

        def adam(params, lr):  # the authors' coefficient optimiser: Adam with beta1 = 0.5
            return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999), fused=fused)

        self.critic_opt = adamw(self.critic)
        self.actor_opt = adamw(self.actor)
        self.dual_actor_opt = adamw(self.dual_actor)
        self.alpha_opt = adam([self.log_alpha], c.temperature_lr)
        self.optimism_opt = adam(self.optimism.parameters(), c.adjustment_lr)
        self.kl_weight_opt = adam(self.kl_weight.parameters(), c.adjustment_lr)

    def learnable_parameters(self) -> list[torch.Tensor]:
        """Every trained tensor (networks and coefficients; not the target critic), in a fixed order."""
        modules = (self.actor, self.dual_actor, self.critic, self.optimism, self.kl_weight)
        return [p for m in modules for p in m.parameters()] + [self.log_alpha]

    # ------------------------------------------------------------------ acting

    @torch.no_grad()
    def act(self, obs: torch.Tensor, mode: str = "explore", noise: torch.Tensor | None = None) -> torch.Tensor:
        """Actions in [-1, 1] for normalised observations. ``mode``: "explore" samples the optimistic dual actor
        (data collection), "sample" the conservative actor, "deterministic" returns tanh(mean) (deployment).
        ``noise``: the standard normal draw to use (default: a fresh one)."""
        mean, std = self.actor(obs)
        if mode == "deterministic":
            return torch.tanh(mean)
        if mode == "explore":
            mean, std = self.dual_actor(obs, mean, std)
        if noise is not None:
            return torch.tanh(mean + std * noise)
        return sample_tanh_gaussian(mean, std)[0]

    # ------------------------------------------------------------------ learning

    def update(self, batch: Batch) -> dict[str, torch.Tensor] | None:
        """One BRO gradient update on a (normalised) batch. Returns metrics, or None when the batch held NaN/inf:
        such a batch is reported and skipped (on every process together), never trained on."""
        finite = torch.stack([torch.isfinite(t).all() for t in batch.tensors()]).all()
        if distributed.any_rank(not bool(finite), self.device):  # one host sync per update
            self.num_skipped_batches += 1
            warnings.warn(
                f"BRO: non-finite values in a sampled batch; update skipped ({self.num_skipped_batches} so far).",
                stacklevel=2,
            )
            return None
        c = self.cfg
        obs, actions, rewards, next_obs, terminated, discount = batch.tensors()
        alpha = self.log_alpha.detach().exp()

        # 1. critic
        with torch.no_grad():
            next_actions, next_log_prob = sample_tanh_gaussian(*self.actor(next_obs))
            nq1, nq2 = self.target_critic(next_obs, next_actions)
            next_z = (nq1 + nq2) / 2 - c.pessimism * (nq1 - nq2).abs() / 2
            soft_next_z = next_z - alpha * next_log_prob[:, None]
            # discount: gamma, or gamma^m for an m-step return (n_step)
            target = rewards[:, None] + (discount * (1.0 - terminated))[:, None] * soft_next_z  # (B, quantiles)
        q1, q2 = self.critic(obs, actions)
        critic_loss = sum(quantile_huber_loss(target[:, None, :] - q[:, :, None], self.taus, c.kappa) for q in (q1, q2))
        self._step(self.critic_opt, critic_loss)
        with torch.no_grad():  # Polyak averaging of the target critic, one fused call
            torch._foreach_lerp_(list(self.target_critic.parameters()), list(self.critic.parameters()), c.tau)

        # 2. conservative actor (SAC)
        new_actions, log_prob = sample_tanh_gaussian(*self.actor(obs))
        p1, p2 = self.critic(obs, new_actions)
        q_pi = ((p1 + p2) / 2 - c.pessimism * (p1 - p2).abs() / 2).mean(-1)
        actor_loss = (alpha * log_prob - q_pi).mean()
        self._step(self.actor_opt, actor_loss)
        entropy = -log_prob.detach().mean()

        # 3. dual (optimistic) actor, around the updated conservative actor
        with torch.no_grad():
            mean_c, std_c = self.actor(obs)
        mean_o, std_o = self.dual_actor(obs, mean_c, std_c)
        o1, o2 = self.critic(obs, sample_tanh_gaussian(mean_o, std_o)[0])
        q_mean, q_spread = ((o1 + o2) / 2).mean(-1), ((o1 - o2).abs() / 2).mean(-1)
        # KL(N(mean_o, std_c) || N(mean_c, std_c)), the authors' measure: the std ratio is fixed, only the shift counts
        kl = ((mean_o - mean_c) ** 2 / (2 * std_c**2)).sum(-1).mean()
        optimism, kl_weight = self.optimism().detach(), self.kl_weight().detach()
        dual_loss = -(q_mean + optimism * q_spread).mean() + kl_weight * kl
        self._step(self.dual_actor_opt, dual_loss)

        # 4. coefficients: temperature -> target entropy; optimism and KL weight -> KL target per action dim
        self._step(self.alpha_opt, self.log_alpha.exp() * (entropy - self.target_entropy))
        kl_gap = kl.detach() / self.act_dim - c.kl_target
        self._step(self.optimism_opt, (self.optimism() - c.pessimism) * kl_gap)
        self._step(self.kl_weight_opt, -self.kl_weight() * kl_gap)

        return {
            "Loss/critic": critic_loss.detach(),
            "Loss/actor": actor_loss.detach(),
            "Loss/dual_actor": dual_loss.detach(),
            "Q/batch_mean": ((q1 + q2) / 2).detach().mean(),
            "Q/policy_mean": q_mean.detach().mean(),
            "Q/uncertainty": q_spread.detach().mean(),
            "Policy/entropy": entropy,
            "Policy/alpha": alpha,
            "Policy/std": std_c.mean(),
            "Policy/kl_per_dim": kl.detach() / self.act_dim,
            "Policy/optimism": optimism,
            "Policy/kl_weight": kl_weight,
        }

    def _step(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        """Gradients of ``loss`` w.r.t. this optimiser's parameters only, averaged over processes, then a step."""
        params = [p for group in optimizer.param_groups for p in group["params"]]
        grads = torch.autograd.grad(loss, params)
        distributed.all_reduce_mean_(grads)
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        optimizer.step()

    # ------------------------------------------------------------------ checkpoints

    def state_dict(self) -> dict:
        modules = ("actor", "dual_actor", "critic", "target_critic", "optimism", "kl_weight")
        optimizers = ("critic_opt", "actor_opt", "dual_actor_opt", "alpha_opt", "optimism_opt", "kl_weight_opt")
        return {
            **{name: getattr(self, name).state_dict() for name in modules + optimizers},
            "log_alpha": self.log_alpha.detach().clone(),
            "num_skipped_batches": self.num_skipped_batches,
        }

    def load_state_dict(self, state: dict) -> None:
        for name, value in state.items():
            if name == "log_alpha":
                self.log_alpha.data.copy_(value)
            elif name == "num_skipped_batches":
                self.num_skipped_batches = value
            else:
                getattr(self, name).load_state_dict(value)
