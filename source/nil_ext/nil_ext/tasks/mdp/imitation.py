"""The NIL imitation reward inside a manager-based env.

One :class:`ImitationState` per env (created on first use) holds the reference, the reward of
``nil_ext.rewards`` and the robot-mask lookup. Once per control step it aims the camera, renders rgb and the
robot mask for all envs, and computes every term; the reward terms below only read its result, so each stream
(video, IoU, penalties) is its own ``RewardTermCfg`` and its own TensorBoard curve.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import torch
from isaaclab.envs import ManagerBasedRLEnv

from ...assets.robots import get_robot_spec
from ...reference.bundle import ReferenceBundle
from ...rewards import NilReward, NilRewardCfg, VideoEncoder, embedding_cache_key
from ...rewards.clip_buffer import fill_envs
from ...rewards.penalties import PenaltyInputs
from ...scene.camera import FollowCameraCfg, RobotMasks, aim_camera

logger = logging.getLogger(__name__)


@dataclass
class ImitationCfg:
    reference: str | None = None
    """Reference bundle folder. Set by the task factory (default: the robot's scripted demo for this camera)."""
    reward: NilRewardCfg = field(default_factory=NilRewardCfg)
    camera: FollowCameraCfg = field(default_factory=FollowCameraCfg)
    foot_contact_height: float = 0.03
    """A foot counts as in contact when its height is within this of its start height (metres)."""
    camera_speed: float = 1.0
    """reference_path mode: fraction of the reference camera's travel replayed (1: its own path). A curriculum
    (:func:`camera_speed_curriculum`) may start it lower and raise it as the agent keeps up."""


class ImitationState:
    def __init__(self, env: ManagerBasedRLEnv):
        cfg: ImitationCfg = env.cfg.imitation
        self.env = env
        self.robot = env.scene["robot"]
        self.camera = env.scene["camera"]
        spec = get_robot_spec(env.cfg.robot_name)
        if cfg.reference is None:
            raise ValueError("ImitationCfg.reference is not set: give a reference bundle folder (--reference PATH)")
        bundle = ReferenceBundle.load(cfg.reference)
        base_height = float(self.robot.data.default_root_pose.torch[0, 2])
        bundle.check_compatible(spec.name, cfg.camera.to_dict(base_height))
        control_fps = 1.0 / env.step_dt
        # Reference frame t is compared with control step t: a bundle made for another rate would play too fast or
        # too slow. Retime it in memory (the bundle on disk is left as it is, so no embeddings are cached back).
        self.retimed = not math.isclose(bundle.fps, control_fps, rel_tol=1e-6)
        if self.retimed:
            print(f"[INFO] The reference {cfg.reference} is at {bundle.fps:g} fps and this task controls at "
                  f"{control_fps:g} Hz: retiming it to {control_fps:g} fps for this run.", flush=True)
            bundle = bundle.retimed(control_fps, progress=True)
        self.bundle = bundle

        reward_cfg = cfg.reward
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
            self._store_embeddings(cache_key)

        self.masks = RobotMasks(env.num_envs, env.device)
        self.camera_offset = torch.tensor(cfg.camera.offset(base_height), device=env.device)
        self.camera_mode = cfg.camera.mode
        if self.camera_mode == "reference_path":
            if bundle.camera_path is None:
                note = bundle.meta.get("camera_path_note", "none was made for it")
                raise ValueError(
                    f"camera mode 'reference_path' needs the reference camera's path and the bundle {cfg.reference} "
                    f"has none ({note}). Remake it with scripts/generate_reference.py ... --reference-speed V (the "
                    "camera moved V m/s along the robot's start heading) or --camera-path FILE (.npy/.csv of x, y, z "
                    "per frame), or train with --camera_mode follow_agent."
                )
            path = torch.as_tensor(bundle.camera_path[:, :3], dtype=torch.float32, device=env.device)
            self.camera_travel = path - path[0]  # (T, 3) camera displacement since the reference's first frame
            heading = self.camera_travel[-1, :2]  # the direction the reference travels, on the ground
            self.travel_dir = heading / heading.norm().clamp_min(1e-6)
        # A 0-dim tensor so that the curriculum updates it without a host round trip.
        self.camera_speed = torch.tensor(float(cfg.camera_speed), device=env.device)
        # Control steps of the running episode (the curriculum's votes count only episodes that ran).
        self.episode_steps = torch.zeros(env.num_envs, device=env.device)
        self.foot_ids, _ = self.robot.find_bodies(spec.foot_bodies)
        if not self.foot_ids:
            raise ValueError(f"No body of {spec.name} matches foot_bodies='{spec.foot_bodies}'")
        self.foot_z0 = self.robot.data.body_pos_w.torch[0, self.foot_ids, 2].clone()
        self.contact_height = cfg.foot_contact_height
        self.terms: dict[str, torch.Tensor] = {}
        self.rgb = self.mask = None
        self._computed_at = -1

    @staticmethod
    def _encoder(cfg: NilRewardCfg, device) -> VideoEncoder | None:
        if not cfg.use_video:
            return None
        return VideoEncoder(cfg.encoder_id, image_size=cfg.image_size, num_frames=cfg.clip_len, device=device,
                            dtype=cfg.encoder_dtype, background=cfg.background, compile=cfg.compile_encoder)

    def _store_embeddings(self, key: str) -> None:
        """Cache freshly computed reference embeddings in the bundle, so the next run skips the encoder pass."""
        self.bundle.embeddings[key] = self.reward.ref_embeddings.cpu()
        try:
            self.bundle.save(self.env.cfg.imitation.reference, overwrite=True)
        except OSError as err:  # a read-only bundle still trains; it just recomputes next time
            logger.warning("Could not cache reference embeddings in %s: %s", self.env.cfg.imitation.reference, err)

    def state_dict(self) -> dict:
        """What a checkpoint keeps of the env's training state: the curriculum's camera speed."""
        return {"camera_speed": float(self.camera_speed)}

    def load_state_dict(self, state: dict) -> None:
        self.camera_speed.fill_(state["camera_speed"])

    def aim(self, env_ids=None) -> None:
        """Point the cameras: at the base (follow_agent, and every mode at reset), or along the reference's path."""
        ids = slice(None) if env_ids is None else env_ids
        if self.camera_mode == "reference_path" and env_ids is None:
            start = self.robot.data.default_root_pose.torch[:, :3] + self.env.scene.env_origins
            look_at = start + self.camera_speed * self.camera_travel[self.reward.ref_index()]
        else:
            look_at = self.robot.data.root_pos_w.torch[ids]
        aim_camera(self.camera, look_at, self.camera_offset, env_ids=env_ids)

    def compute(self) -> dict[str, torch.Tensor]:
        """All reward terms for this control step, computed once however many terms ask."""
        if self._computed_at == self.env.common_step_counter:
            return self.terms
        if self.camera_mode != "fixed":
            self.aim()
        self.camera.update(0.0, force_recompute=True)
        self.rgb = self.camera.data.output["rgb"].torch
        self.mask = self.masks(self.camera)
        data = self.robot.data
        foot_z = data.body_pos_w.torch[:, self.foot_ids, 2]
        inputs = PenaltyInputs(
            torques=self.robot.actuators.applied_effort.torch,
            effort_limit=data.joint_effort_limits.torch,
            action=self.env.action_manager.action,
            prev_action=self.env.action_manager.prev_action,
            ang_vel_b=data.root_ang_vel_b.torch,
            foot_vel_w=data.body_lin_vel_w.torch[:, self.foot_ids],
            foot_contact=foot_z < self.foot_z0 + self.contact_height,
            projected_gravity_b=data.projected_gravity_b.torch,
        )
        self.terms = self.reward.step(self.rgb, self.mask, inputs)
        self.episode_steps += 1
        self._computed_at = self.env.common_step_counter
        return self.terms


def imitation_state(env: ManagerBasedRLEnv) -> ImitationState:
    state = getattr(env, "_nil_imitation", None)
    if state is None:
        state = env._nil_imitation = ImitationState(env)
    return state


def nil_video(env: ManagerBasedRLEnv) -> torch.Tensor:
    """zeta * S_video: cosine similarity of the agent's and the reference's clip embeddings."""
    return imitation_state(env).compute()["weighted/video"]


def nil_iou(env: ManagerBasedRLEnv) -> torch.Tensor:
    """beta * S_iou: IoU of the agent's and the reference's robot masks."""
    return imitation_state(env).compute()["weighted/iou"]


def nil_penalty(env: ManagerBasedRLEnv, name: str) -> torch.Tensor:
    """eta * coefficient * one penalty of P_t (<= 0): torque, action_rate, ang_vel, foot_slip or tilt."""
    state = imitation_state(env)
    cfg = state.reward.cfg
    return cfg.eta * getattr(cfg.penalties, name) * state.compute()[f"raw/{name}"]


def reset_imitation(env: ManagerBasedRLEnv, env_ids: torch.Tensor) -> None:
    """Restart reference time and clip history of the reset envs, and aim their cameras."""
    state = imitation_state(env)
    if isinstance(env_ids, slice):  # Isaac Lab passes slice(None) for "all envs"
        env_ids = None
    else:
        env_ids = env_ids.long()  # Isaac Lab's ids are int32; torch's index ops want int64
    state.reward.reset(env_ids)
    fill_envs(state.episode_steps, env_ids, 0.0)
    state.aim(env_ids)


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
    Runs on reset, before the reset events move the robot back and :func:`reset_imitation` restarts the time.
    """
    state = imitation_state(env)
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
    return imitation_state(env).reward.done_mask()


def reference_phase(env: ManagerBasedRLEnv) -> torch.Tensor:
    """(N, 1) progress through the reference in [0, 1]."""
    reward = imitation_state(env).reward
    return (reward.t.float() / max(reward.num_ref_frames - 1, 1)).clamp(max=1.0).unsqueeze(1)

