"""Warm start from a checkpoint whose policy observed less.

A policy trained under one profile (``walk``) can start a run under a profile that observes more (``track`` adds
where the reference's robot is): the observation terms the env has after the checkpoint's enter each network's first
layer with zero weights, so the loaded policy acts exactly as it did and learns to use them, as Net2Net widens a
trained network. Their running statistics start at mean 0, variance 1. Only terms added at the end of the
observation are supported (the profiles add theirs there); anything else is refused by the runner.
"""

from __future__ import annotations

import torch

NETWORKS = ("actor", "dual_actor", "critic", "target_critic")
FIRST_LAYER = "stem.0.weight"  # BroNet's first Linear: obs (then actions, for the critics and the dual actor)


def added_terms(saved_terms: list | None, env_terms: list | None, saved_obs_dim: int) -> list[tuple[str, int]] | None:
    """The env's observation terms (name, size) after the checkpoint's, or None when the checkpoint's observation
    is not the start of the env's. A checkpoint that names its terms must match the env's first ones by name and
    size; an older one (no names) matches when the sizes of the env's last terms make up the difference."""
    if not env_terms:
        return None
    env_terms = [(str(name), int(size)) for name, size in env_terms]
    if saved_terms is not None:
        saved_terms = [(str(name), int(size)) for name, size in saved_terms]
        n = len(saved_terms)
        fits = n < len(env_terms) and env_terms[:n] == saved_terms
        return env_terms[n:] if fits else None
    for start in range(len(env_terms) - 1, 0, -1):  # the sizes are positive: at most one tail fits
        if sum(size for _, size in env_terms[:start]) == saved_obs_dim:
            return env_terms[start:]
    return None


def widen_observations(state: dict, saved_obs_dim: int, obs_dim: int) -> dict:
    """A copy of a runner checkpoint whose networks and observation statistics take ``obs_dim`` observations, the
    columns from ``saved_obs_dim`` on being new (zero weights, mean 0, variance 1). The optimisers' moments are
    dropped (their shapes changed): the optimisers start fresh."""
    extra = obs_dim - saved_obs_dim
    alg = {name: value for name, value in state["alg"].items() if not name.endswith("_opt")}
    for net in NETWORKS:
        layers = dict(alg[net])
        for key, weight in layers.items():
            if key.endswith(FIRST_LAYER):
                zeros = weight.new_zeros(weight.shape[0], extra)
                layers[key] = torch.cat([weight[:, :saved_obs_dim], zeros, weight[:, saved_obs_dim:]], dim=1)
        alg[net] = layers
    normalizer = dict(state["normalizer"])
    normalizer["mean"] = torch.cat([normalizer["mean"], normalizer["mean"].new_zeros(extra)])
    normalizer["var"] = torch.cat([normalizer["var"], normalizer["var"].new_ones(extra)])
    return {**state, "alg": alg, "normalizer": normalizer}
