"""Where a reference's video comes from: generated from e0, imported, or rendered by the simulator (its masks exact).

The builder (builder.py) takes one of these. Scripted sources render when the builder asks (``render``), so that a
caller never opens a simulation it does not need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .generators import GeneratorOptions
from .prompts import RobotPrompt


@dataclass(frozen=True)
class GeneratedVideo:
    """Videos generated from e0 and a prompt by a frozen image-to-video model (generators.py): seeds ``seed`` ..
    ``seed + num_candidates - 1``, the best segmented one kept. The prompt is ``prompt``, else the template filled
    with ``skill``."""

    generator: GeneratorOptions
    prompt: str | None = None
    skill: str | None = None
    seed: int = 0
    num_candidates: int = 1


@dataclass(frozen=True)
class ImportedVideo:
    """A video made elsewhere (mp4, gif or a folder of frames): a web generator's export, a phone clip.

    fps: when its file does not say. robot_prompt: a box or clicks on the robot in its first frame, in its own pixels
    (else the robot is found). prompt: recorded with the bundle when the video was generated from one."""

    path: str | Path
    fps: float | None = None
    robot_prompt: RobotPrompt | None = None
    prompt: str | None = None


@dataclass(frozen=True)
class SimulatorFrames:
    """Frames (T, H, W, 3) uint8 and the simulator's own masks (T, H, W) at ``fps``, seen by ``camera`` (the dict a
    bundle records); ``camera_path`` (T, 4) x, y, z, heading when known. The masks are the truth: nothing is
    segmented, and the quality gate is recorded, not enforced. ``meta`` is added to the bundle's."""

    frames: np.ndarray
    masks: np.ndarray
    fps: float
    camera: dict[str, Any]
    camera_path: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    synthetic: bool = True


@dataclass(frozen=True)
class ScriptedWalk:
    """The robot's scripted walk (scripted.py), rendered by the task camera: the offline demo, labelled synthetic."""

    skill: str = "walking"
    num_frames: int | None = None
    seed: int | None = None
    """Recorded only: the motion is deterministic."""
    device: str = "cpu"

    def render(self, robot: str, camera_cfg) -> SimulatorFrames:
        from .scripted import render_scripted_reference  # needs the simulator

        frames, masks, fps, camera, path = render_scripted_reference(
            robot, camera_cfg, skill=self.skill, num_frames=self.num_frames, seed=self.seed or 0, device=self.device)
        seed = {} if self.seed is None else {"seed": self.seed}
        meta = {"source": "scripted", "skill": self.skill, **seed, "generator": "scripted"}
        return SimulatorFrames(frames, masks, fps, camera, path, meta)


@dataclass(frozen=True)
class ScriptedWholeBody:
    """A scripted whole-body skill with its prop (scripted_wholebody.py), rendered by the task camera."""

    skill: str
    num_frames: int | None = None
    device: str = "cpu"

    def render(self, robot: str, camera_cfg) -> SimulatorFrames:
        import dataclasses

        from .scripted_wholebody import render_wholebody_reference  # needs the simulator

        frames, masks, fps, camera, path, prop = render_wholebody_reference(
            robot, self.skill, camera_cfg, self.num_frames, self.device)
        meta = {"source": "scripted", "skill": self.skill, "generator": "scripted", "camera_mode": camera_cfg.mode,
                "prop": {type(prop).__name__: dataclasses.asdict(prop)}}
        return SimulatorFrames(frames, masks, fps, camera, path, meta)


Source = GeneratedVideo | ImportedVideo | SimulatorFrames | ScriptedWalk | ScriptedWholeBody
