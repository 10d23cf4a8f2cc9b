"""BRO (Bigger, Regularized, Optimistic; Nauman et al., NeurIPS 2024) in PyTorch, for vectorised envs.

Modules: ``config`` (BroCfg, BroRunnerCfg), ``networks`` (BroNet, critics, actors), ``algorithm`` (the
update), ``replay_buffer``, ``n_step`` (returns over n steps), ``normalizer``, ``distributed`` and ``runner``
(OffPolicyRunner).

Departures from the authors' JAX code, and why
-----------------------------------------------
- **Parallel envs.** One "env step" is one vectorised step of N envs (per process). Resets and
  ``learning_starts`` count these steps; ``updates_per_step`` updates follow each of them, so N envs bring N
  transitions per ``updates_per_step`` updates (replay ratio = updates_per_step / N): raise it (or the
  batch size) with N. The paper's setting is N = 1.
- **Time limits.** The runner bootstraps truncations from ``extras["final_obs"]``; an env that does not
  provide it has its truncated transitions dropped (counted), never bootstrapped from a wrong observation.
- **Observation normalisation** (running mean/std over all collected observations, as FastTD3 does for
  thousands of envs); the paper feeds raw observations. ``observation_normalization=False`` turns it off.
  It is not reset with the networks: resets re-initialise what BRO resets, nothing else.
- **Non-finite data.** A sampled batch with NaN/inf is skipped and counted; a transition with a non-finite
  observation or reward is dropped and its env reset (``reset_idx``) where the env allows it.
- **n-step returns** (``n_step``, FastTD3's 3; default 1, BRO's one-step targets): rewards summed over up to n
  steps of an episode before bootstrapping with gamma^m.
- **Multi-process training**: gradients of every network and coefficient are averaged over processes.
- The authors' "BRO fast" (2 updates per step) keeps only the first reset; here the reset schedule is a
  config field for every setting.
"""

from .algorithm import BRO
from .config import BroCfg, BroRunnerCfg
from .runner import CheckpointMismatchError, OffPolicyRunner

__all__ = ["BRO", "BroCfg", "BroRunnerCfg", "CheckpointMismatchError", "OffPolicyRunner"]
