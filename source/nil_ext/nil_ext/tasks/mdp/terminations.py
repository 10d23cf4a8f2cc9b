"""Termination of the NIL tasks: the reference's end, read from the imitation command."""

from __future__ import annotations

import torch
from isaaclab.envs import ManagerBasedRLEnv


def reference_finished(env: ManagerBasedRLEnv, command_name: str = "imitation") -> torch.Tensor:
    """The env has been compared with every reference frame (a time-out, not a failure)."""
    return env.command_manager.get_term(command_name).finished()
