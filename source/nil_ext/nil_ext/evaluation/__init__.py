"""Evaluation that training never sees: the paper's environment reward, mask IoU, video similarity, falls."""

from .env_reward import EXPERT_SCORE, env_reward, episode_steps

__all__ = ["EXPERT_SCORE", "env_reward", "episode_steps"]
