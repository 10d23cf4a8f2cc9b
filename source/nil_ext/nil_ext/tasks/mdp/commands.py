"""The NIL imitation reward as Isaac Lab reward terms.

Shape: one class term, :class:`ImitationReward` (the ``imitation`` entry of the tasks' ``RewardsCfg``), owns all
per-env state: the reference, the scorer of ``nil_ext.rewards`` (reference time, clip history), the robot-mask
lookup, the camera aim and the curriculum's camera speed. Once per control step it aims the camera, renders rgb and
the robot mask of every env and scores every stream; it adds nothing to the reward itself. Isaac Lab calls its
``reset(env_ids)`` when envs reset (after the reset events moved the robots): their reference time, clip history
and step count restart, their cameras are re-aimed, the other envs are untouched.

The streams are plain function terms that read its result, one term per weight: :func:`nil_video` (zeta),
:func:`nil_iou` (beta), :func:`nil_penalty` (one term per penalty), and two beyond the paper that the tasks weigh 0
unless asked: :func:`nil_silhouette` and :func:`nil_alive`. So each weight is one ``RewardTermCfg.weight``
and each stream has its own TensorBoard curve. Why not one class per stream: Isaac Lab builds one instance per
term, so each would hold a renderer, or they would share a hidden object; here rendering and scoring run once per
step whichever terms ask.

Units: Isaac Lab multiplies a term's value by its weight and by the control step dt. The streams return their
per-step score divided by dt, so a weight is the paper's coefficient and the env's reward is the paper's per-step
R_t, at any control rate.

Terminations, observations, the curriculum, evaluation and scripts reach the term through :func:`imitation_term`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from isaaclab.envs import ManagerBasedRLEnv
from isaaclab.managers import ManagerTermBase, RewardTermCfg

from ...assets.robots import get_robot_spec
from ...reference.task_reference import load_task_reference
from ...rewards import PENALTY_NAMES, STREAMS, NilReward, NilRewardCfg, VideoEncoder, embedding_cache_key, weigh
from ...rewards.clip_buffer import fill_envs
from ...rewards.penalties import PenaltyInputs
from ...scene.camera import FollowCameraCfg, RobotMasks, aim_camera
from ...scene.scene_cfg import FEET_CONTACT_SENSOR

logger = logging.getLogger(__name__)


@dataclass
class ImitationCfg:
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


class ImitationReward(ManagerTermBase):
    """The imitation reward's state and per-step computation (see the module's docstring). It returns zeros: the
    stream terms carry the reward."""

    def __init__(self, cfg: RewardTermCfg, env: ManagerBasedRLEnv):
        super().__init__(cfg, env)
        icfg: ImitationCfg = env.cfg.imitation
        self.robot = env.scene["robot"]
        self.camera = env.scene["camera"]
        spec = get_robot_spec(env.cfg.robot_name)
        if icfg.reference is None:  # Isaac Lab's own scripts do not set it: the robot's demo, as NIL's scripts do
            env.cfg.set_reference(None)  # rendered in a child process on first use, so safe beside this simulation
        base_height = float(self.robot.data.default_root_pose.torch[0, 2])
        control_fps = 1.0 / env.step_dt
        bundle = load_task_reference(icfg.reference, spec.name, icfg.camera.to_dict(base_height), control_fps)
        self.retimed = "retimed_from_fps" in bundle.meta
        self.bundle = bundle

        reward_cfg = icfg.reward
        reward_cfg.control_fps = control_fps
        reward_cfg.source_fps = float(bundle.meta.get("source_fps") or reward_cfg.source_fps)
        encoder = self._encoder(reward_cfg, env.device)
        cache_key = None
        if encoder is not None:
            size = encoder.image_size
            cache_key = embedding_cache_key(encoder.model_id, size, size, reward_cfg.clip_len, reward_cfg.stride)
        self.reward = NilReward(
            reward_cfg,
            torch.from_numpy(bundle.frames),
            torch.from_numpy(bundle.masks),
            env.num_envs,
            env.device,
            encoder=encoder,
            ref_embeddings=bundle.embeddings.get(cache_key),
        )
        if cache_key is not None and cache_key not in bundle.embeddings and not self.retimed:
            self._store_embeddings(icfg.reference, cache_key)

        self.masks = RobotMasks(env.num_envs, env.device)
        self.camera_offset = torch.tensor(icfg.camera.offset(base_height), device=env.device)
        self.camera_mode = icfg.camera.mode
        if self.camera_mode == "reference_path":
            if bundle.camera_path is None:
                note = bundle.meta.get("camera_path_note", "none was made for it")
                raise ValueError(
                    f"camera mode 'reference_path' needs the reference camera's path and the bundle {icfg.reference} "
                    f"has none ({note}). Remake it with scripts/generate_reference.py ... --reference-speed V (the "
                    "camera moved V m/s along the robot's start heading) or --camera-path FILE (.npy/.csv of x, y, z "
                    "per frame), or train with --camera_mode follow_agent."
                )
            path = torch.as_tensor(bundle.camera_path[:, :3], dtype=torch.float32, device=env.device)
            self.camera_travel = path - path[0]  # (T, 3) camera displacement since the reference's first frame
            heading = self.camera_travel[-1, :2]  # the direction the reference travels, on the ground
            self.travel_dir = heading / heading.norm().clamp_min(1e-6)
        # A 0-dim tensor so that the curriculum updates it without a host round trip.
        self.camera_speed = torch.tensor(float(icfg.camera_speed), device=env.device)
        # Control steps of the running episode (the curriculum's votes count only episodes that ran).
        self.episode_steps = torch.zeros(env.num_envs, device=env.device)
        self.foot_ids, _ = self.robot.find_bodies(spec.foot_bodies)
        if not self.foot_ids:
            raise ValueError(f"No body of {spec.name} matches foot_bodies='{spec.foot_bodies}'")
        self.contact_force = icfg.foot_contact_force
        self.contact_sensor = env.scene.sensors.get(FEET_CONTACT_SENSOR)
        if self.contact_sensor is None:
            raise ValueError(f"The scene has no '{FEET_CONTACT_SENSOR}' contact sensor (robot_scene_cfg adds it): the "
                             "foot-slip penalty needs to know which feet touch the ground.")
        # the sensor's bodies, in the robot's order of the feet
        self.contact_ids = [self.contact_sensor.sensor_names.index(self.robot.body_names[i]) for i in self.foot_ids]
        self.terms: dict[str, torch.Tensor] = {}
        self.rgb = self.mask = None
        self._computed_at = -1
        self._zeros = torch.zeros(env.num_envs, device=env.device)

    @staticmethod
    def _encoder(cfg: NilRewardCfg, device) -> VideoEncoder | None:
        if not cfg.use_video:
            return None
        return VideoEncoder(cfg.encoder_id, image_size=cfg.image_size, num_frames=cfg.clip_len, device=device,
                            dtype=cfg.encoder_dtype, background=cfg.background, compile=cfg.compile_encoder)

    def _store_embeddings(self, folder: str, key: str) -> None:
        """Cache freshly computed reference embeddings in the bundle, so the next run skips the encoder pass."""
        self.bundle.embeddings[key] = self.reward.ref_embeddings.cpu()
        try:
            self.bundle.save(folder, overwrite=True)
        except OSError as err:  # a read-only bundle still trains; it just recomputes next time
            logger.warning("Could not cache reference embeddings in %s: %s", folder, err)

    @property
    def weights(self) -> dict[str, float]:
        """Each stream's weight (STREAMS, each penalty's name): the weights of the reward terms reading it, as the
        reward manager holds them now (``set_term_cfg`` included)."""
        manager = self._env.reward_manager
        weights = dict.fromkeys((*STREAMS, *PENALTY_NAMES), 0.0)
        for name in manager.active_terms:
            term = manager.get_term_cfg(name)
            stream = _STREAMS.get(term.func) or (term.params["name"] if term.func is nil_penalty else None)
            if stream is not None:
                weights[stream] += term.weight
        return weights

    def state_dict(self) -> dict:
        """What a checkpoint keeps of the env's training state: the curriculum's camera speed."""
        return {"camera_speed": float(self.camera_speed)}

    def load_state_dict(self, state: dict) -> None:
        self.camera_speed.fill_(state["camera_speed"])

    def reset(self, env_ids: Sequence[int] | slice | None = None) -> None:
        """Restart reference time, clip history and step count of the reset envs, and aim their cameras."""
        ids = None if env_ids is None or isinstance(env_ids, slice) else torch.as_tensor(env_ids, device=self.device)
        ids = None if ids is None else ids.long()  # Isaac Lab's ids are int32; torch's index ops want int64
        self.reward.reset(ids)
        fill_envs(self.episode_steps, ids, 0.0)
        self.aim(ids)

    def __call__(self, env: ManagerBasedRLEnv) -> torch.Tensor:
        self.compute()
        return self._zeros

    def aim(self, env_ids=None) -> None:
        """Point the cameras: at the base (follow_agent, and every mode at reset), or along the reference's path."""
        ids = slice(None) if env_ids is None else env_ids
        if self.camera_mode == "reference_path" and env_ids is None:
            start = self.robot.data.default_root_pose.torch[:, :3] + self._env.scene.env_origins
            look_at = start + self.camera_speed * self.camera_travel[self.reward.ref_index()]
        else:
            look_at = self.robot.data.root_pos_w.torch[ids]
        aim_camera(self.camera, look_at, self.camera_offset, env_ids=env_ids)

    def feet_in_contact(self) -> torch.Tensor:
        """(N, F) bool: the feet that touch something (the ground, a prop): net contact force above
        ``ImitationCfg.foot_contact_force``, from the scene's contact sensor."""
        force = self.contact_sensor.data.net_forces_w.torch[:, self.contact_ids]
        return force.norm(dim=-1) > self.contact_force

    def compute(self) -> dict[str, torch.Tensor]:
        """Every stream, raw and weighted, for this control step: computed once however many terms ask."""
        env = self._env
        if self._computed_at == env.common_step_counter:
            return self.terms
        if self.camera_mode != "fixed":
            self.aim()
        self.camera.update(0.0, force_recompute=True)
        self.rgb = self.camera.data.output["rgb"].torch
        self.mask = self.masks(self.camera)
        data = self.robot.data
        inputs = PenaltyInputs(
            torques=self.robot.actuators.applied_effort.torch,
            effort_limit=data.joint_effort_limits.torch,
            action=env.action_manager.action,
            prev_action=env.action_manager.prev_action,
            ang_vel_b=data.root_ang_vel_b.torch,
            foot_vel_w=data.body_lin_vel_w.torch[:, self.foot_ids],
            foot_contact=self.feet_in_contact(),
            projected_gravity_b=data.projected_gravity_b.torch,
        )
        weights = self.weights
        raw = self.reward.step(self.rgb, self.mask, inputs, silhouette=weights["silhouette"] != 0)
        raw["raw/alive"] = (~env.termination_manager.terminated).float()  # terminations come before rewards
        self.terms = {**raw, **weigh(raw, weights)}
        self.episode_steps += 1
        self._computed_at = env.common_step_counter
        return self.terms


def imitation_term(env) -> ImitationReward | None:
    """The env's imitation term, from its reward manager (a gym wrapper is unwrapped); None when the env has none,
    or while Isaac Lab is still building its managers (the reward manager comes after the observation manager)."""
    env = getattr(env, "unwrapped", env)
    manager = getattr(env, "reward_manager", None)
    for name in manager.active_terms if manager is not None else ():
        func = manager.get_term_cfg(name).func
        if isinstance(func, ImitationReward):
            return func
    return None


def _term(env: ManagerBasedRLEnv) -> ImitationReward:
    term = imitation_term(env)
    if term is None:
        raise LookupError("This env's rewards have no ImitationReward term: add imitation = "
                          "RewardTermCfg(func=mdp.ImitationReward, weight=1.0) to its RewardsCfg.")
    return term


def _stream(env: ManagerBasedRLEnv, name: str) -> torch.Tensor:
    # divided by the step that Isaac Lab multiplies by: the weighted value is the paper's per-step term
    return _term(env).compute()[f"raw/{name}"] / env.step_dt


def nil_video(env: ManagerBasedRLEnv) -> torch.Tensor:
    """S_video (weight: zeta): cosine similarity of the agent's and the reference's clip embeddings."""
    return _stream(env, "video")


def nil_iou(env: ManagerBasedRLEnv) -> torch.Tensor:
    """S_iou (weight: beta): IoU of the agent's and the reference's robot masks."""
    return _stream(env, "iou")


def nil_penalty(env: ManagerBasedRLEnv, name: str) -> torch.Tensor:
    """One penalty of P_t (<= 0; weight: eta times its coefficient): torque, action_rate, ang_vel, foot_slip or tilt."""
    return _stream(env, name)


def nil_silhouette(env: ManagerBasedRLEnv) -> torch.Tensor:
    """S_silhouette (not the paper's; the tasks weigh it 0): closeness of the agent's and the reference's mask
    centroids, which pays before the masks overlap (``nil_ext.rewards.similarity.silhouette_closeness``)."""
    return _stream(env, "silhouette")


def nil_alive(env: ManagerBasedRLEnv) -> torch.Tensor:
    """1 per step while the episode has not failed (not the paper's; the tasks weigh it 0). Isaac Lab's ``is_alive``
    in the paper's per-step units. Why: without it the imitation reward of a robot that is not where the reference
    is, minus the penalties, is below 0, and ending the episode by falling is the best the agent can do (the probe
    measures it: H1's fall outscores standing)."""
    return _stream(env, "alive")


_STREAMS = {nil_video: "video", nil_iou: "iou", nil_silhouette: "silhouette", nil_alive: "alive"}

def camera_speed_curriculum(
    env: ManagerBasedRLEnv, env_ids, keep_up: float = 0.6, behind: float = 0.3, slack: float = 0.05,
    round_step: float = 0.32,
) -> torch.Tensor:
    """Raise the reference camera's speed while the agent keeps up with it, lower it when it falls behind.

    Why: with the camera on the reference's path, an agent that does not walk yet leaves the frame within a
    second and its IoU, the only signal, reads 0. Starting with a slow camera keeps the agent in view, so
    walking a little faster is rewarded a little more.
    Judged like Isaac Lab's terrain curriculum, by distance: an episode keeps up when it reached the reference's
    end and the robot's base advanced, along the reference's heading, at least ``keep_up`` times as far as the
    camera did (minus ``slack`` metres, so a robot standing under a still camera counts); it falls behind when it
    fell, or advanced less than ``behind`` times the camera (minus ``slack``). The speed thus settles where the
    camera runs ahead of the agent, never where the agent cannot follow. Distances, unlike IoU levels, do not
    depend on the robot, the image size or the reference: fixed IoU thresholds (0.4 / 0.25, from A1 at 64 px)
    moved the speed to 0.1 in a 30-minute CPU run but left a 224 px H100 run at 0.002 after 8.4M transitions.
    The curriculum only paces the camera; the reward stays the video's. ``keep_up`` 0.6 / ``behind`` 0.3 over
    0.8 / 0.5 (A1, cpu preset, 30 min, 2 seeds): speed 0.41 / 0.32 against 0.22 / 0.15 at the end, the camera
    running further ahead pulls the agent forward harder.
    Each finished episode moves the speed by ``round_step / num_envs`` up or down, between the speed the task
    starts at (``ImitationCfg.camera_speed``) and 1: a round of unanimous episodes moves it by ``round_step``
    whatever the number of envs (64 envs: 0.005 an episode).
    Runs on reset, before the reset events move the robot back and the imitation term's reset restarts the
    time.
    """
    state = _term(env)
    ids = torch.arange(env.num_envs, device=env.device)[env_ids]
    # Only episodes that ended in a step vote: not the first reset, nor a forced env.reset() mid-episode.
    ended = (state.episode_steps[ids] > 0) & env.reset_buf[ids]
    finished = state.reward.done_mask()[ids]
    last_frame = (state.reward.t[ids] - 1).clamp(0, len(state.camera_travel) - 1)
    camera = state.camera_speed * (state.camera_travel[last_frame, :2] @ state.travel_dir)
    start = state.robot.data.default_root_pose.torch[ids, :2] + env.scene.env_origins[ids, :2]
    agent = (state.robot.data.root_pos_w.torch[ids, :2] - start) @ state.travel_dir
    up = ended & finished & (agent >= keep_up * camera - slack)
    down = ended & (~finished | (agent < behind * camera - slack))
    floor = env.cfg.imitation.camera_speed
    state.camera_speed.add_(round_step * (up.sum() - down.sum()) / env.num_envs).clamp_(min(floor, 1.0), 1.0)
    return state.camera_speed


def reference_finished(env: ManagerBasedRLEnv) -> torch.Tensor:
    """The env has been compared with every reference frame (a time-out, not a failure)."""
    return _term(env).reward.done_mask()


def reference_phase(env: ManagerBasedRLEnv) -> torch.Tensor:
    """(N, 1) progress through the reference in [0, 1]."""
    term = imitation_term(env)
    if term is None:  # the observation manager probes the term's shape before the reward manager exists
        return torch.zeros(env.num_envs, 1, device=env.device)
    reward = term.reward
    return (reward.t.float() / max(reward.num_ref_frames - 1, 1)).clamp(max=1.0).unsqueeze(1)

