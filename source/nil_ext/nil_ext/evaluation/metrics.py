"""Per-task evaluation metrics beyond the walk's table: a task names its metrics class in its env config.

Whole-body tasks report the success rate (``evaluation/success.py``) and the normalised imitation reward: the
mean per-step reward R_t over the episode (the steps after a fall count 0) divided by its maximum (the weights of
the terms that pay at most 1 a step: video and IoU, for the streams that are on, and the profile's alive, silhouette
and pose; the penalties are <= 0), so 1 is a perfect, penalty-free match of the reference.
"""

from __future__ import annotations

import importlib

import numpy as np
import torch

from .rollout import broken_episodes
from .success import make_detector

PENALTY_TERMS = ("torque", "action_rate", "ang_vel", "foot_slip", "tilt")
"""The reward terms of P_t (values <= 0): left out of the normalised reward's maximum."""


def task_metrics(env):
    """The metrics object the task's config names (``cfg.metrics = "module:Class"``); None: the walk's table."""
    name = getattr(env.cfg, "metrics", None)
    if not name:
        return None
    module, attr = name.split(":")
    return getattr(importlib.import_module(module), attr)(env)


class WholeBodyMetrics:
    """Success and normalised reward per episode, fed by :func:`nil_ext.evaluation.rollout.run_episode`."""

    keys = ("success", "normalised_reward")

    def __init__(self, env):
        self.env = env
        self.detector = None

    def begin(self, env) -> None:
        """After the episode's reset: a fresh detector, fresh sums."""
        self.detector = make_detector(env)
        self.reward_sum = torch.zeros(env.num_envs, device=env.device)

    def step(self, env, live: torch.Tensor, active: torch.Tensor, fallen: torch.Tensor) -> None:
        """live: envs whose step this was; active: those still in their episode after it; fallen: fell in it."""
        self.reward_sum += torch.where(live, env.reward_buf, 0.0)  # R_t: Isaac Lab's step reward, per step
        self.detector.update(active)
        self.detector.mark_fallen(fallen)

    def end(self, steps: int) -> dict[str, np.ndarray]:
        """``steps``: the episode's length (a fallen env's missing steps count 0)."""
        cfg, manager = self.env.cfg.imitation.reward, self.env.reward_manager
        on = {"video": cfg.use_video, "iou": cfg.use_iou}
        best = sum(manager.get_term_cfg(name).weight * on.get(name, True) for name in manager.active_terms
                   if name not in PENALTY_TERMS and manager.get_term_cfg(name).weight > 0)
        normalised = self.reward_sum / steps / max(best, 1e-9)
        return {"success": self.detector.success().cpu().numpy(), "normalised_reward": normalised.cpu().numpy()}

    @staticmethod
    def summarise(name: str, episodes: list) -> dict:
        cat = {k: np.concatenate([e.extra[k] for e in episodes]) for k in WholeBodyMetrics.keys}
        iou = np.concatenate([e.mean_iou for e in episodes])
        fell = np.concatenate([e.fell for e in episodes])
        return {
            "policy": name,
            "episodes": int(len(iou)),
            "success_rate": float(cat["success"].mean()),
            "normalised_reward_mean": float(cat["normalised_reward"].mean()),
            "normalised_reward_std": float(cat["normalised_reward"].std()),
            "iou_mean": float(iou.mean()),
            "falls_per_episode": float(fell.mean()),
            "broken_episodes": broken_episodes(episodes),
        }

    def table(self, task_id: str, results: list[dict]) -> str:
        skill = self.env.cfg.wholebody.skill
        lines = [f"\n{task_id} (success: {skill}, see nil_ext.evaluation.success; "
                 "normalised reward: mean R_t / its maximum)",
                 f"{'policy':12s} {'success':>8s} {'norm. reward':>18s} {'mask IoU':>9s} {'falls/ep':>9s}"]
        for r in results:
            lines.append(f"{r['policy']:12s} {r['success_rate']:8.2f} {r['normalised_reward_mean']:9.3f} +- "
                         f"{r['normalised_reward_std']:5.3f} {r['iou_mean']:9.3f} {r['falls_per_episode']:9.2f}")
        return "\n".join(lines)

    def report(self) -> dict:
        """Fields of the JSON report that replace the walk's."""
        return {"expert": None, "metrics": "success rate and normalised imitation reward",
                "skill": self.env.cfg.wholebody.skill}
