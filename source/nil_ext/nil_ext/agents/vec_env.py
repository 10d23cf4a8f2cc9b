"""The vectorised env interface the agents see, and an adapter for Isaac Lab's ``ManagerBasedRLEnv``.

Interface (rsl_rl style; agents never import tasks or reward terms):

- ``num_envs``, ``num_actions``, ``device``;
- ``get_observations()`` -> (N, obs_dim) tensor, or a TensorDict / dict whose ``"policy"`` entry is one;
- ``step(actions)`` with actions (N, num_actions) in [-1, 1] -> ``(obs, rewards (N,), dones (N,), extras)``;
  envs that are done were already reset, and ``obs`` holds their first observation of the next episode;
- ``extras["time_outs"]`` (N,) bool: which of the dones are truncations (bootstrap from them);
- ``extras["final_obs"]`` (optional): the true last observations (rows of the done envs are used);
- ``extras["log"]`` (optional): name -> scalar or tensor, logged as their mean;
- ``reset_idx(env_ids)`` (optional): reset those envs now; ``get_observations()`` then returns their new
  observations. The runner uses it to recover envs that produced NaN/inf.
- ``state_dict()`` / ``load_state_dict(state)`` (optional): the env's training state (a curriculum's progress),
  saved in checkpoints so that a resumed run continues where it stopped;
- ``observation_terms()`` (optional): the policy observation's terms as (name, size) in order, saved in
  checkpoints so that a run under a profile that observes more can start from one (``bro.warm_start``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch


def policy_obs(obs) -> torch.Tensor:
    """The policy's observation tensor from a tensor or a TensorDict / dict with a ``"policy"`` group."""
    if torch.is_tensor(obs):
        return obs
    if isinstance(obs, Mapping) or hasattr(obs, "keys"):
        return obs["policy"]
    raise TypeError(f"Expected a tensor or a mapping with a 'policy' entry, got {type(obs).__name__}.")


class IsaacLabVecEnv:
    """Wraps an Isaac Lab ``ManagerBasedRLEnv`` (possibly inside gymnasium wrappers) into the interface above.

    Like isaaclab_rl's ``RslRlVecEnvWrapper`` (observations as a TensorDict of groups, ``time_outs`` in the
    extras), plus ``final_obs`` (set ``env_cfg.compute_final_obs = True`` before creating the env, which
    ``scripts/train.py`` does for BRO) and ``reset_idx``. It also serves rsl_rl's PPO runner.
    """

    def __init__(self, env):
        from tensordict import TensorDict  # installed with rsl-rl-lib and isaaclab

        self._tensordict = TensorDict
        self.env = env
        self.unwrapped = env.unwrapped
        self.num_envs = self.unwrapped.num_envs
        self.device = self.unwrapped.device
        self.num_actions = self.unwrapped.action_manager.total_action_dim
        self.max_episode_length = self.unwrapped.max_episode_length
        self.env.reset()

    @property
    def cfg(self):
        return self.unwrapped.cfg

    @property
    def episode_length_buf(self) -> torch.Tensor:
        return self.unwrapped.episode_length_buf

    @episode_length_buf.setter
    def episode_length_buf(self, value: torch.Tensor) -> None:
        self.unwrapped.episode_length_buf = value

    def observation_terms(self) -> list[tuple[str, int]]:
        manager = self.unwrapped.observation_manager
        sizes = manager.group_obs_term_dim["policy"]
        return [(name, math.prod(size)) for name, size in zip(manager.active_terms["policy"], sizes, strict=True)]

    def get_observations(self):
        return self._tensordict(dict(self.unwrapped.obs_buf), batch_size=[self.num_envs])

    def _stateful_terms(self) -> dict:
        """Command, reward and action terms that keep training state (``state_dict``), by term name (action terms
        as ``actions/<name>``). NIL tasks: the ``imitation`` command, with the camera-speed curriculum's progress,
        and the joint actions' widening reach. Found through Isaac Lab's managers: agents never import tasks.
        (Checkpoints from when ``imitation`` was a reward term load the same.)"""
        rewards = getattr(self.unwrapped, "reward_manager", None)
        commands = getattr(self.unwrapped, "command_manager", None)
        actions = getattr(self.unwrapped, "action_manager", None)
        terms = {name: rewards.get_term_cfg(name).func for name in rewards.active_terms} if rewards else {}
        terms.update({name: commands.get_term(name) for name in commands.active_terms} if commands else {})
        terms.update({f"actions/{name}": actions.get_term(name) for name in actions.active_terms} if actions else {})
        return {name: term for name, term in terms.items() if hasattr(term, "state_dict")}

    def state_dict(self) -> dict:
        states = {name: term.state_dict() for name, term in self._stateful_terms().items()}
        return {name: state for name, state in states.items() if state}  # terms with nothing to keep are left out

    def load_state_dict(self, state: dict) -> None:
        for name, term in self._stateful_terms().items():
            if name in state:
                term.load_state_dict(state[name])

    def step(self, actions: torch.Tensor):
        obs, rewards, terminated, truncated, extras = self.env.step(actions)
        extras = dict(extras)
        extras["time_outs"] = truncated
        if "final_obs" in extras:
            extras["final_obs"] = self._tensordict(dict(extras["final_obs"]), batch_size=[self.num_envs])
        return self._tensordict(dict(obs), batch_size=[self.num_envs]), rewards, (terminated | truncated).long(), extras

    def reset_idx(self, env_ids: torch.Tensor) -> None:
        self.unwrapped.reset(env_ids=env_ids)

    def close(self) -> None:
        self.env.close()
