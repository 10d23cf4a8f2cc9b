"""The camera that watches the robot, and the robot mask it yields."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import isaaclab.sim as sim_utils
import torch
from isaaclab.sensors import Camera, CameraCfg
from isaaclab_newton.renderers import NewtonWarpRendererCfg

CAMERA_MODES = ("follow_agent", "reference_path", "fixed")


@dataclass
class FollowCameraCfg:
    """A pinhole camera placed relative to the robot's base.

    ``follow_agent`` re-centres it on the base every control step (position only, not rotation);
    ``reference_path`` replays the camera motion of the reference video from the env's start pose (so forward
    progress shows against the ground, as it does in the reference); ``fixed`` leaves it where the reset put it.
    Yaw 0 looks from +x; the default -90 looks from the robot's right side, so a robot walking along +x moves
    left to right through the image.
    """

    width: int = 224
    height: int = 224
    distance: float | None = None
    """Metres from the base; None scales with the robot's standing height (the whole body in view)."""
    height_offset: float = 0.0
    """Camera height above the base, metres."""
    yaw_deg: float = -90.0
    focal_length: float = 24.0
    horizontal_aperture: float = 20.955
    mode: str = "follow_agent"
    rgb: bool = True
    """Render colour besides the masks: the video term and recorded videos need it, IoU and silhouette do not (the
    CPU presets train without it: ~30 % of a render, docs/experiments/2026-11-24-cpu-throughput.md)."""

    def resolved_distance(self, base_height: float) -> float:
        return self.distance if self.distance is not None else 2.8 * base_height + 0.3

    def offset(self, base_height: float) -> tuple[float, float, float]:
        d = self.resolved_distance(base_height)
        yaw = math.radians(self.yaw_deg)
        return (d * math.cos(yaw), d * math.sin(yaw), self.height_offset)

    def to_dict(self, base_height: float) -> dict:
        """The camera geometry a reference bundle records, so that a task can refuse a bundle made with another
        camera. The mode is how training moves the camera, not a property of the reference: left out."""
        return {
            "width": self.width,
            "height": self.height,
            "distance": round(self.resolved_distance(base_height), 4),
            "height_offset": self.height_offset,
            "yaw_deg": self.yaw_deg,
            "focal_length": self.focal_length,
            "horizontal_aperture": self.horizontal_aperture,
        }

    def sensor_cfg(self, prim_path: str = "{ENV_REGEX_NS}/Camera") -> CameraCfg:
        if self.mode not in CAMERA_MODES:
            raise ValueError(f"Unknown camera mode '{self.mode}'; known: {', '.join(CAMERA_MODES)}")
        return CameraCfg(
            prim_path=prim_path,
            update_period=0.0,
            width=self.width,
            height=self.height,
            data_types=["rgb", "instance_segmentation"] if self.rgb else ["instance_segmentation"],
            spawn=sim_utils.PinholeCameraCfg(
                focal_length=self.focal_length,
                horizontal_aperture=self.horizontal_aperture,
                clipping_range=(0.05, 100.0),
            ),
            # Set explicitly: the default renderer needs Isaac Sim. Raw ids, not colours, give the masks.
            renderer_cfg=NewtonWarpRendererCfg(colorize_instance_segmentation=False),
        )


def aim_camera(camera: Camera, base_pos_w: torch.Tensor, offset: torch.Tensor, env_ids=None) -> None:
    """Put each env's camera at base + offset, looking at the base. Batched, stays on the device."""
    camera.set_world_poses_from_view(eyes=base_pos_w + offset, targets=base_pos_w, env_ids=env_ids)


class RobotMasks:
    """Binary robot masks (N, H, W) from the camera's instance-segmentation ids.

    The renderer gives each env's robot one id (its shapes share one semantic class); this keeps a lookup
    table id -> env index, so a mask is one gather and one compare for all envs at once.
    """

    _ENV_ROBOT = re.compile(r"/World/envs/env_(\d+)/Robot$")

    def __init__(self, num_envs: int, device: torch.device | str):
        self.env_index = torch.arange(num_envs, device=device).view(-1, 1, 1)
        self._lut: torch.Tensor | None = None
        self._labels_seen = -1

    def __call__(self, camera: Camera) -> torch.Tensor:
        labels = camera.data.info["instance_segmentation"]["idToLabels"]
        if self._lut is None or len(labels) != self._labels_seen:
            self._lut = self._build_lut(labels)
            self._labels_seen = len(labels)
        ids = camera.data.output["instance_segmentation"].torch[..., 0].long()
        return self._lut[ids.clamp_(0, self._lut.numel() - 1)] == self.env_index

    def _build_lut(self, labels: dict) -> torch.Tensor:
        lut = torch.full((max(labels) + 1,), -1, dtype=torch.long)
        for seg_id, path in labels.items():
            match = self._ENV_ROBOT.search(str(path))
            if match:
                lut[seg_id] = int(match.group(1))
        if (lut >= 0).sum() == 0:
            raise RuntimeError(
                "The camera's segmentation has no robot ids (labels: "
                f"{list(labels.values())[:5]}...). Is the robot spawned with semantic_tags=[('class', 'robot')]?"
            )
        return lut.to(self.env_index.device)
