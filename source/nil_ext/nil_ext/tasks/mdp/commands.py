"""The NIL imitation state as an Isaac Lab command term, :class:`ImitationCommand` (``commands.imitation`` of the
tasks' configs), in the shape of mjlab's tracking task, whose reference motion lives in a command term.

It holds the reference bundle (loaded, gated and retimed once by ``reference.load_task_reference``), reference
time (``time_steps``, as mjlab's ``MotionCommand``), the camera's aim and the curriculum's camera speed, and this
control step's render (rgb and robot mask) with the reference frame it is compared with. Its command is the phase:
(N, 1) progress through the reference. The reward terms of ``mdp/rewards.py`` compute their values from what it
holds and the robot's state; terminations, the curriculum, evaluation and play read it through
``env.command_manager.get_term("imitation")``.

When the step is rendered: Isaac Lab computes terminations, then rewards, then resets the envs that are done, then
calls the commands' ``compute``, then observations. The render is made on its first read in a control step (the
first reward term that asks), so it shows the robot as the physics left it, before the resets; ``compute`` renders
a step no term read, then advances reference time of the envs compared in this step (``_update_command``): a reset
env starts the next step at frame 0. So frame t is compared with the frame rendered after the t-th action since
the reset: one control step of lag, in exchange for clips of a replayed reference matching exactly. Isaac Lab calls
``reset(env_ids)`` after the reset events moved the robots: those envs' reference time restarts and their cameras
are re-aimed (``_resample_command``); the other envs are untouched.

The settings (reference, reward, camera, contact force, camera speed) are the command's own,
:class:`ImitationCommandCfg` (``cfg.commands.imitation``, also reached as ``cfg.imitation``): the task factories and
``set_reference`` choose the reference and the scene's camera together there, and the overrides people type name
them by the short name, ``env.imitation.camera_speed=0.5``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import field

import torch
from isaaclab.envs import ManagerBasedRLEnv
from isaaclab.managers import CommandTerm, CommandTermCfg
from isaaclab.utils import configclass

from ...assets.robots import get_robot_spec
from ...errors import ConfigError
from ...reference.task_reference import load_task_reference
from ...rewards import GaitPeriod, NilRewardCfg, gait_period, mask_iou
from ...rewards.similarity import resize_mask
from ...scene.camera import FollowCameraCfg, RobotMasks, aim_camera
from ...scene.scene_cfg import FEET_CONTACT_SENSOR
from ..references import ensure_scripted_reference

IMITATION = "imitation"
"""The command term's name in the tasks' ``CommandsCfg``; the ``mdp`` functions read it by default."""


class ImitationCommand(CommandTerm):
    """The reference, reference time, the camera and this step's render (see the module's docstring). Command: the
    phase, (N, 1) in [0, 1]."""

    cfg: ImitationCommandCfg

    def __init__(self, cfg: ImitationCommandCfg, env: ManagerBasedRLEnv):
        super().__init__(cfg, env)
        icfg: ImitationCommandCfg = env.cfg.imitation  # the settings the reward terms read too
        if icfg.reference is None:  # Isaac Lab's own scripts do not set it: the robot's demo, as NIL's scripts do
            env.cfg.set_reference(None)  # rendered in a child process on first use, so safe beside this simulation
        self.settings = icfg
        self.robot = env.scene["robot"]
        self.camera = env.scene["camera"]
        spec = get_robot_spec(env.cfg.robot_name)
        base_height = float(self.robot.data.default_root_pose.torch[0, 2])
        control_fps = 1.0 / env.step_dt
        self.bundle = load_task_reference(icfg.reference, spec.name, icfg.camera.to_dict(base_height), control_fps)
        # the clip stride follows the reference's source rate (the video term reads it)
        icfg.reward.control_fps = control_fps
        icfg.reward.source_fps = float(self.bundle.meta.get("source_fps") or icfg.reward.source_fps)
        self.reference_frames = torch.from_numpy(self.bundle.frames).to(env.device, torch.uint8)
        self.reference_masks = torch.from_numpy(self.bundle.masks).to(env.device, torch.bool)
        self.num_ref_frames = len(self.reference_frames)
        self.loop = icfg.reward.loop
        self.has_rgb = "rgb" in self.camera.cfg.data_types

        self.masks = RobotMasks(env.num_envs, env.device)
        self.camera_offset = torch.tensor(icfg.camera.offset(base_height), device=env.device)
        self.camera_mode = icfg.camera.mode
        self.camera_travel = self.travel_dir = self.eye_travel = self.eye_turn = self.eye_tilt = None
        self._gait_period = None  # read from the masks when first asked (the gait clock observation)
        self.reference_speed = float("nan")  # m/s; known from the reference's camera path
        if self.camera_mode == "reference_path" or self.bundle.camera_path is not None:
            self._camera_path(icfg.reference, env.device)
        # play and evaluate: a second camera that always follows the agent, for the posture score (pose IoU)
        self.follow_camera = env.scene.sensors.get("follow_camera")
        self.follow_masks = RobotMasks(env.num_envs, env.device) if self.follow_camera is not None else None
        self.follow_mask = None
        self.torso_id = self.robot.find_bodies(spec.torso_body)[0][0] if spec.torso_body else None
        # play.py: the same view at a size people can watch, with the reference at that size
        self.video_camera = env.scene.sensors.get("video_camera")
        self.video_rgb = self.video_mask = self.video_reference = None
        if self.video_camera is not None:
            self.video_masks = RobotMasks(env.num_envs, env.device)
            self.video_reference = self._video_reference(icfg, spec.name, base_height, control_fps)
        # A 0-dim tensor so that the curriculum updates it without a host round trip.
        self.camera_speed = torch.tensor(float(icfg.camera_speed), device=env.device)
        self._feet(spec, icfg.foot_contact_force, env)
        # Reference time: the frame this step is compared with is time_steps (clamped, or wrapped with loop).
        self.time_steps = torch.zeros(env.num_envs, dtype=torch.long, device=env.device)
        self.compared = torch.zeros(env.num_envs, dtype=torch.bool, device=env.device)
        """Envs whose render was compared with their frame in this step and that were not reset since: the ones
        ``_update_command`` advances."""
        self._rgb = self._mask = None
        self._frame_index = torch.zeros(env.num_envs, dtype=torch.long, device=env.device)
        self._rendered_at = -1
        self.metrics["mask_iou"] = torch.zeros(env.num_envs, device=env.device)

    def _video_reference(self, icfg: ImitationCommandCfg, robot: str, base_height: float, control_fps: float):
        """The reference at the video camera's size: a scripted demo is rendered at that size (once, cached), any
        other bundle is resampled from its own frames."""
        camera = dict(icfg.camera.to_dict(base_height), width=self.video_camera.cfg.width,
                      height=self.video_camera.cfg.height)
        path = icfg.reference
        if self.bundle.meta.get("generator") == "scripted" and "walk" in str(self.bundle.meta.get("skill", "")):
            path = str(ensure_scripted_reference(robot, camera))
        return load_task_reference(path, robot, camera, control_fps)

    def _camera_path(self, reference: str, device) -> None:
        """The reference camera's travel, which reference_path mode replays (and the pace and heading terms, the
        evaluation's speed ratio and heading error read: the camera follows the reference's robot)."""
        if self.bundle.camera_path is None:
            note = self.bundle.meta.get("camera_path_note", "none was made for it")
            raise ValueError(
                f"camera mode 'reference_path' needs the reference camera's path and the bundle {reference} has none "
                f"({note}). Remake it with scripts/generate_reference.py ... --reference_speed V (the camera moved "
                "V m/s along the robot's start heading) or --camera-path FILE (.npy/.csv of x, y, z per frame), or "
                "train with --camera_mode follow_agent."
            )
        path = torch.as_tensor(self.bundle.camera_path[:, :3], dtype=torch.float32, device=device)
        self.camera_travel = path - path[0]  # (T, 3) camera displacement since the reference's first frame
        heading = self.camera_travel[-1, :2]  # the direction the reference travels, on the ground
        self.travel_dir = heading / heading.norm().clamp_min(1e-6)
        self.travel_yaw = float(torch.atan2(self.travel_dir[1], self.travel_dir[0]))
        duration = max(len(self.camera_travel) - 1, 1) * self._env.step_dt
        self.reference_speed = float(heading.norm()) / duration
        if self.bundle.eye_path is not None:  # the clip's own camera (it stood, turned, tilted): replayed as it went
            eye = torch.as_tensor(self.bundle.eye_path, dtype=torch.float32, device=device)
            self.eye_travel = eye[:, :3] - eye[0, :3]
            self.eye_turn = torch.remainder(eye[:, 3] - eye[0, 3] + torch.pi, 2 * torch.pi) - torch.pi
            self.eye_tilt = eye[:, 4]

    def _feet(self, spec, contact_force: float, env: ManagerBasedRLEnv) -> None:
        """The feet's bodies and their rows in the scene's contact sensor (foot-slip penalty)."""
        self.foot_ids, _ = self.robot.find_bodies(spec.foot_bodies)
        if not self.foot_ids:
            raise ValueError(f"No body of {spec.name} matches foot_bodies='{spec.foot_bodies}'")
        self.contact_force = contact_force
        self.contact_sensor = env.scene.sensors.get(FEET_CONTACT_SENSOR)
        if self.contact_sensor is None:
            raise ValueError(f"The scene has no '{FEET_CONTACT_SENSOR}' contact sensor (robot_scene_cfg adds it): the "
                             "foot-slip penalty needs to know which feet touch the ground.")
        # the sensor's bodies, in the robot's order of the feet
        self.contact_ids = [self.contact_sensor.sensor_names.index(self.robot.body_names[i]) for i in self.foot_ids]

    @property
    def command(self) -> torch.Tensor:
        """(N, 1) progress through the reference in [0, 1]: the phase the policy observes."""
        return (self.time_steps.float() / max(self.num_ref_frames - 1, 1)).clamp(max=1.0).unsqueeze(1)

    def reference_index(self) -> torch.Tensor:
        """(N,) the reference frame each env's current (or, between steps, next) render is compared with."""
        if self.loop:
            return self.time_steps % self.num_ref_frames
        return self.time_steps.clamp(max=self.num_ref_frames - 1)

    def frames_compared(self) -> torch.Tensor:
        """(N,) reference frames compared in the running episode, this step's included once it was rendered."""
        return self.time_steps + self.compared

    def finished(self) -> torch.Tensor:
        """(N,) bool: envs compared with every reference frame (never with ``loop``). Isaac Lab computes
        terminations before rewards, so an env that the termination finds done has had one extra step, compared
        with the last frame again."""
        if self.loop:
            return torch.zeros_like(self.compared)
        return self.frames_compared() >= self.num_ref_frames

    # The step's render, made on its first read in a control step (see the module's docstring).

    @property
    def frame_index(self) -> torch.Tensor:
        """(N,) the reference frame this step's render is compared with."""
        self._render_step()
        return self._frame_index

    @property
    def rgb(self) -> torch.Tensor | None:
        """(N, H, W, 3) uint8: this step's render (None: a camera that renders masks only)."""
        self._render_step()
        return self._rgb

    @property
    def mask(self) -> torch.Tensor:
        """(N, H, W) bool: the agent's robot mask in this step's render, at the camera's size."""
        self._render_step()
        return self._mask

    @property
    def agent_mask(self) -> torch.Tensor:
        """(N, h, w) bool: the agent's mask at the reference's size, as the masks are compared."""
        return resize_mask(self.mask, self.reference_masks.shape[-2:])

    @property
    def reference_mask(self) -> torch.Tensor:
        """(N, h, w) bool: the reference's robot mask of the frame this step's render is compared with."""
        return self.reference_masks[self.frame_index]

    def mask_iou(self) -> torch.Tensor:
        """(N,) IoU of this step's agent and reference masks (S_iou)."""
        return mask_iou(self.agent_mask, self.reference_mask)

    def reference_position_w(self, frame: torch.Tensor | None = None) -> torch.Tensor:
        """(N, 3) where the reference's robot is at this step's frame (or at ``frame``), in the world: the env's start
        plus the reference camera's travel (the camera follows that robot), at the curriculum's camera speed, as the
        camera replays it."""
        self.require_camera_path("the pace term")
        start = self.robot.data.default_root_pose.torch[:, :3] + self._env.scene.env_origins
        return start + self.camera_speed * self.camera_travel[self.frame_index if frame is None else frame]

    def gait_period(self) -> GaitPeriod:
        """The reference's gait period (control steps), read once from its masks (the silhouette's repeat); refused
        in one line for a reference that does not cycle."""
        if self._gait_period is None:
            found = gait_period(self.reference_masks, 1.0 / self._env.step_dt)
            if found is None:
                raise ConfigError(
                    f"the gait clock needs a reference whose robot repeats a step, and the silhouette of "
                    f"{self.settings.reference} does not repeat within 0.25-2 s (a clip shorter than two strides, a "
                    "robot that stands or does not walk): train with --profile track (no gait clock).")
            print(f"[INFO] Reference gait: the silhouette repeats every {found.frames:.2f} control steps "
                  f"({found.frames * self._env.step_dt:.3f} s; IoU {found.strength:.2f}, {found.contrast:.2f} above "
                  "its least like lag)", flush=True)
            self._gait_period = found
        return self._gait_period

    def require_camera_path(self, what: str) -> None:
        """Refuse in one line a term that needs the reference's camera path when the bundle has none."""
        if self.camera_travel is None:
            note = self.bundle.meta.get("camera_path_note", "none was made for it")
            raise ConfigError(f"{what} needs the reference camera's path and the bundle {self.settings.reference} has "
                              f"none ({note}): remake it with generate_reference.py ... --reference_speed V, or "
                              "train with --profile walk (no term nor observation that follows the reference's "
                              "travel).")

    def feet_in_contact(self) -> torch.Tensor:
        """(N, F) bool: the feet that touch something (the ground, a prop): net contact force above
        ``ImitationCommandCfg.foot_contact_force``, from the scene's contact sensor."""
        force = self.contact_sensor.data.net_forces_w.torch[:, self.contact_ids]
        return force.norm(dim=-1) > self.contact_force

    def state_dict(self) -> dict:
        """What a checkpoint keeps of the env's training state: the curriculum's camera speed."""
        return {"camera_speed": float(self.camera_speed)}

    def load_state_dict(self, state: dict) -> None:
        self.camera_speed.fill_(state["camera_speed"])

    def aim(self, env_ids=None) -> None:
        """Point the cameras: at the base (follow_agent, and every mode at reset), or along the reference's path at
        the frame the coming render is compared with: the clip's own camera where the bundle has its path (standing
        and turning, the curriculum's share of its travel and turn), else a camera following the reference's robot."""
        ids = slice(None) if env_ids is None else env_ids
        if self.camera_mode == "reference_path" and env_ids is None:
            start = self.robot.data.default_root_pose.torch[:, :3] + self._env.scene.env_origins
            frame = self.reference_index()
            if self.eye_travel is not None:
                self._aim_eyes(start, frame)
                return
            look_at = start + self.camera_speed * self.camera_travel[frame]
        else:
            look_at = self.robot.data.root_pos_w.torch[ids]
        aim_camera(self.camera, look_at, self.camera_offset, env_ids=env_ids)
        if self.video_camera is not None:
            aim_camera(self.video_camera, look_at, self.camera_offset, env_ids=env_ids)

    def _aim_eyes(self, start: torch.Tensor, frame: torch.Tensor) -> None:
        """The cameras where the clip's own camera stood at ``frame``, from the envs' starts: the eye at the start's
        offset plus its travel, looking along its turned heading, its tilt below the start's by the clip's (it keeps
        its height, as the path estimator assumed)."""
        offset = self.camera_offset
        eyes = start + offset + self.camera_speed * self.eye_travel[frame]
        heading = torch.atan2(-offset[1], -offset[0]) + self.camera_speed * self.eye_turn[frame]
        pitch = torch.atan2(offset[2], offset[:2].norm()) + self.camera_speed * self.eye_tilt[frame]
        look = torch.stack([torch.cos(pitch) * torch.cos(heading), torch.cos(pitch) * torch.sin(heading),
                            -torch.sin(pitch)], -1)
        self.camera.set_world_poses_from_view(eyes=eyes, targets=eyes + look)
        if self.video_camera is not None:
            self.video_camera.set_world_poses_from_view(eyes=eyes, targets=eyes + look)

    def _render_step(self) -> None:
        """Render every env once per control step and note the frame it is compared with."""
        if self._rendered_at == self._env.common_step_counter:
            return
        if self.camera_mode != "fixed":
            self.aim()
        self.camera.update(0.0, force_recompute=True)
        self._rgb = self.camera.data.output["rgb"].torch if self.has_rgb else None
        self._mask = self.masks(self.camera)
        if self.video_camera is not None:
            self.video_camera.update(0.0, force_recompute=True)
            self.video_rgb = self.video_camera.data.output["rgb"].torch
            self.video_mask = self.video_masks(self.video_camera)
        if self.follow_camera is not None:
            aim_camera(self.follow_camera, self.robot.data.root_pos_w.torch, self.camera_offset)
            self.follow_camera.update(0.0, force_recompute=True)
            self.follow_mask = self.follow_masks(self.follow_camera)
        self._frame_index = self.reference_index()
        self.compared.fill_(True)
        self._rendered_at = self._env.common_step_counter

    # CommandTerm's machinery, without resampling by time: the reference runs with the episode.

    def reset(self, env_ids: Sequence[int] | slice | None = None) -> dict[str, torch.Tensor]:
        """The episode's mean mask IoU of the reset envs (TensorBoard ``Metrics/imitation/mask_iou``), then a new
        start for them (``_resample_command``). Replaces CommandTerm's reset, whose resampling timer would draw
        from torch's global generator and shift every seeded run's random numbers."""
        ids = None if env_ids is None or isinstance(env_ids, slice) else torch.as_tensor(env_ids, device=self.device)
        ids = slice(None) if ids is None else ids.long()  # Isaac Lab's ids are int32; torch's index ops want int64
        extras = {name: value[ids].mean() for name, value in self.metrics.items()}
        for value in self.metrics.values():
            value[ids] = 0.0
        self._resample_command(ids)
        return extras

    def compute(self, dt: float) -> None:
        """Called by Isaac Lab after the rewards and resets: render a step no reward term read, then update the
        metrics and advance reference time."""
        self._render_step()
        self._update_metrics()
        self._update_command()

    def _resample_command(self, env_ids: torch.Tensor | slice) -> None:
        """A new start: the envs' reference time restarts at frame 0 and their cameras look at the robot."""
        self.time_steps[env_ids] = 0
        self.compared[env_ids] = False
        self.aim(None if isinstance(env_ids, slice) else env_ids)

    def _update_metrics(self) -> None:
        """The running episode mean of the mask IoU, over the frames compared so far."""
        iou = self.metrics["mask_iou"]
        count = self.frames_compared().clamp(min=1)
        iou += self.compared * (self.mask_iou() - iou) / count

    def _update_command(self) -> None:
        """Advance reference time of the envs compared in this step (a reset env stays at its first frame)."""
        self.time_steps += self.compared
        self.compared.fill_(False)


@configclass
class ImitationCommandCfg(CommandTermCfg):
    """The imitation command term and its settings, as mjlab's ``MotionCommandCfg`` holds the motion's. The tasks'
    configs also reach them as ``cfg.imitation`` (and overrides as ``env.imitation.*``), a short name for
    ``cfg.commands.imitation``."""

    class_type: type = ImitationCommand
    resampling_time_range: tuple[float, float] = (1.0e9, 1.0e9)
    """Never resampled: the reference runs with the episode (a finite bound, as mjlab's MotionCommand, so that the
    run's params stay plain JSON)."""
    reference: str | None = None
    """Reference bundle folder. Set by the task factory (default: the robot's scripted demo for this camera)."""
    reward: NilRewardCfg = field(default_factory=NilRewardCfg)
    camera: FollowCameraCfg = field(default_factory=FollowCameraCfg)
    foot_contact_force: float = 1.0
    """A foot counts as in contact (foot-slip penalty) when the scene's contact sensor reads more than this net
    force on it (N). Measured against the earlier rule, a foot within 3 cm of its start height: that start height
    was read before the start pose was applied, so A1's standing feet read as in the air (the sensor: in contact)
    and a lifted H1 foot as in contact (random actions, 3 s: the two agree on 73 % of A1's and 56 % of H1's
    foot-steps, the sensor's update costing ~0.9 ms per control step of 4 envs on CPU)."""
    camera_speed: float = 1.0
    """reference_path mode: fraction of the reference camera's travel replayed (1: its own path). A curriculum
    (:func:`camera_speed_curriculum`) may start it lower and raise it as the agent keeps up."""


def imitation_term(env, name: str = IMITATION) -> ImitationCommand:
    """The env's imitation command term (a gym wrapper is unwrapped)."""
    env = getattr(env, "unwrapped", env)
    manager = getattr(env, "command_manager", None)
    if manager is None or name not in manager.active_terms:
        raise LookupError(f"This env has no '{name}' command term: add {name} = mdp.ImitationCommandCfg() to its "
                          "CommandsCfg (the NIL tasks' configs have it).")
    return manager.get_term(name)
