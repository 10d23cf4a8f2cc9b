"""The walk task shared by every robot: imitate a reference video, no hand-written task reward.

Built by :func:`walk_env_cfg` (one call per robot and preset), in mjlab's style of factories rather than
subclass chains. Observations: joint positions and velocities (the paper's), plus base orientation (projected
gravity), base linear and angular velocity and the reference phase (the ``imitation`` command), which the policy
needs to know where in the reference it is; the default ``track`` profile adds where the reference's robot is and
which way it goes, seen from the base. Actions: PD joint-position offsets around the start pose of the robot
file's ``policy_joints`` (default) or every joint's torque.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import MISSING, dataclass

from isaaclab.envs import ManagerBasedRLEnvCfg
from isaaclab.managers import CurriculumTermCfg as CurrTerm
from isaaclab.managers import EventTermCfg as EventTerm
from isaaclab.managers import ObservationGroupCfg as ObsGroup
from isaaclab.managers import ObservationTermCfg as ObsTerm
from isaaclab.managers import RewardTermCfg as RewTerm
from isaaclab.managers import TerminationTermCfg as DoneTerm
from isaaclab.utils import configclass

from ...assets.robot_cfg import policy_joint_keys, robot_model_info
from ...assets.robots import get_robot_spec
from ...rewards import NilRewardCfg
from ...scene.camera import FollowCameraCfg
from ...scene.physics import newton_sim_cfg
from ...scene.scene_cfg import NilSceneCfg, robot_scene_cfg
from .. import mdp
from ..references import aligned_camera, ensure_scripted_reference

PHYSICS_DT = 0.005
PRESETS = ("gpu", "cpu", "cpu-smoke")
# The camera-speed curriculum starts here and never goes below it: from a still camera the early falls vote the
# speed down and the agent learns to stand (docs/experiments/2026-11-23-camera-curriculum.md).
CAMERA_START_SPEED = 0.3


@dataclass(frozen=True)
class WalkProfile:
    """The settings a walk run trains with beyond the preset: control rate, action scale and the two reward terms
    beyond the paper (their weights; 0 switches a term off)."""

    control_hz: float
    action_scale: float | None
    """Radians of PD target offset per unit of action (None: the robot file's)."""
    alive: float
    silhouette: float
    pose: float = 0.0
    """Weight of S_pose, the centred-mask IoU (posture wherever the robot is in view)."""
    pace: float = 0.0
    """Weight of S_pace, closeness of the base to where the reference's robot is (its camera path)."""
    place: float = 0.0
    """Weight of S_pace with a 5 cm bell (the ``place`` term): the reference's place to within a pixel."""
    heading: float = 0.0
    """Weight of S_heading, the base's and torso's yaw against the reference's direction of travel."""
    shape: float = 0.0
    """Weight of S_shape, the masks' horizontal spread slice by slice (stride width, a turned torso) against the
    reference's."""
    speed: float = 0.0
    """Weight of S_speed, the base's speed along the reference's direction against the reference's own speed."""
    observe_reference: bool = False
    """The policy also observes where the reference's robot is and which way it travels, from the base
    (:func:`mdp.reference_in_base_frame`, read from the reference camera's path)."""
    observe_gait: bool = False
    """The policy also observes a clock at the reference's gait period (:func:`mdp.reference_gait_clock`, the period
    read from the reference's masks)."""


PROFILES = {
    # walk, plus three terms that only the imagined video (its masks, its camera path) and the robot's own state
    # give: posture (centred masks), pace (the reference's position on its camera path) and heading (the base and
    # torso facing the reference's direction of travel). Why: "walk" policies went forward at half the
    # reference's pace with the torso turned to the camera (docs/experiments/2026-11-26-imitation.md).
    "imitate": WalkProfile(control_hz=25.0, action_scale=0.25, alive=0.5, silhouette=1.0, pose=1.0, pace=1.0,
                           heading=1.0),
    # imitate, and the policy sees what those terms pay for: the reference's robot's place and heading from its base
    # (its camera path), as mjlab's tracking task observes its motion anchor. Without it the pace and heading
    # rewards depend on a lag and a yaw that no observation carries (H1, seed 1: speed ratio 0.91 against imitate's
    # 0.60 at ~600k transitions; docs/experiments/2026-11-26-h1-track-profile.md).
    "track": WalkProfile(control_hz=25.0, action_scale=0.25, alive=0.5, silhouette=1.0, pose=1.0, pace=1.0,
                         heading=1.0, observe_reference=True),
    # track, and a clock at the reference's stride, read from its masks: the policy observed progress through the
    # whole reference only, and H1's trained gaits had no clean cadence. Measured: no better than track on H1 (two
    # seeds to ~935k transitions; docs/experiments/2026-11-27-gait-clock.md), so not the default.
    "clock": WalkProfile(control_hz=25.0, action_scale=0.25, alive=0.5, silhouette=1.0, pose=1.0, pace=1.0,
                         heading=1.0, observe_reference=True, observe_gait=True),
    # What walks on a CPU (H1: 0.58 m/s, no falls, after an hour on one core; docs/experiments/): 25 Hz control,
    # small actions, and a reward that pays for staying up and for being near the reference before masks overlap.
    "walk": WalkProfile(control_hz=25.0, action_scale=0.25, alive=0.5, silhouette=1.0),
    # The paper's: 100 Hz control and R_t = S_video + S_iou + P_t alone.
    "paper": WalkProfile(control_hz=100.0, action_scale=None, alive=0.0, silhouette=0.0),
}
DEFAULT_PROFILE = "track"


@configclass
class ObservationsCfg:
    @configclass
    class PolicyCfg(ObsGroup):
        joint_pos = ObsTerm(func=mdp.joint_pos_rel)
        joint_vel = ObsTerm(func=mdp.joint_vel_rel, scale=0.05)
        projected_gravity = ObsTerm(func=mdp.projected_gravity)
        base_lin_vel = ObsTerm(func=mdp.base_lin_vel)
        base_ang_vel = ObsTerm(func=mdp.base_ang_vel, scale=0.25)
        phase = ObsTerm(func=mdp.generated_commands, params={"command_name": mdp.IMITATION})
        last_action = ObsTerm(func=mdp.last_action)
        reference = None
        """The ``track`` profile's :func:`mdp.reference_in_base_frame` (None: not observed)."""
        gait_clock = None
        """The ``clock`` profile's :func:`mdp.reference_gait_clock` (None: not observed)."""

        def __post_init__(self):
            self.concatenate_terms = True
            self.enable_corruption = False

    policy: PolicyCfg = PolicyCfg()


@configclass
class CommandsCfg:
    # the reference, the camera, and each step's render and scores, which the terms below read
    imitation = mdp.ImitationCommandCfg()


@configclass
class ActionsCfg:
    # low_pass_alpha < 1 filters the PD targets (off: at 30 CPU minutes it removed the noise's push, not added a gait)
    joint = mdp.LowPassJointPositionActionCfg(asset_name="robot", joint_names=[".*"], scale=0.5,
                                              use_default_offset=True)


@configclass
class RewardsCfg:
    """R_t = zeta S_video + beta S_iou + eta P_t, P_t = sum_k c_k P_k. Each weight is one term's ``weight`` (one knob
    each): ``video``'s is zeta, ``iou``'s beta, each penalty's eta * c_k (``cfg.rewards.iou.weight = 0.5`` halves beta).

    The terms return their per-step value divided by the control step, which Isaac Lab multiplies back: the
    reward the agent sees is the paper's per-step R_t at any control rate. zeta = beta = eta = 1 (the paper's);
    the penalties' c_k, 0.1 each, are ours (the paper names the terms, not their weights). Each term computes its
    value from the ``imitation`` command's render of the step (rendered once per step) and the robot's state.
    """

    video = RewTerm(func=mdp.nil_video, weight=1.0)
    iou = RewTerm(func=mdp.nil_iou, weight=1.0)
    # P_t, one term per penalty so that each has its own weight and curve
    torque = RewTerm(func=mdp.nil_joint_torque, weight=0.1)
    action_rate = RewTerm(func=mdp.nil_action_rate, weight=0.1)
    ang_vel = RewTerm(func=mdp.nil_ang_vel, weight=0.1)
    foot_slip = RewTerm(func=mdp.nil_foot_slip, weight=0.1)
    tilt = RewTerm(func=mdp.nil_tilt, weight=0.1)
    # Beyond the paper: weighted by the profile (imitate: all on; walk: silhouette 1 and alive 0.5; paper: 0, off)
    silhouette = RewTerm(func=mdp.nil_silhouette, weight=0.0)
    alive = RewTerm(func=mdp.nil_alive, weight=0.0)
    pose = RewTerm(func=mdp.nil_pose_iou, weight=0.0)
    # std (m, the bell's width) and the speed term's std named here so that a run can set them
    # (env.rewards.pace.params.std=0.2) and params.yaml records them
    pace = RewTerm(func=mdp.nil_pace, weight=0.0, params={"std": 0.5})
    # S_pace again with a 5 cm bell: at 64 px a pixel is ~4.4 cm and thin silhouettes lose half their IoU per pixel
    # of lag (H1's reference against itself: 0.46 at 1 px, 0.11 at 3 px), which the 0.5 m bell hardly pays for
    place = RewTerm(func=mdp.nil_pace, weight=0.0, params={"std": 0.05})
    heading = RewTerm(func=mdp.nil_heading, weight=0.0)
    speed = RewTerm(func=mdp.nil_speed, weight=0.0, params={"std": 0.3})
    shape = RewTerm(func=mdp.nil_shape, weight=0.0, params={"sigma": 0.05})
    # swing_share: the reference's swing as a share of its gait period (a walk swings each foot ~40 % of a stride)
    air_time = RewTerm(func=mdp.nil_air_time, weight=0.0, params={"swing_share": 0.4})
    # S_iou on masks blurred by 3 px: pays for a stride lengthening towards the reference's before the legs overlap
    soft_iou = RewTerm(func=mdp.nil_soft_iou, weight=0.0, params={"sigma_px": 3.0})
    # what moved since the reference's first frame (whole-body skills: standing earns most of the plain IoU)
    motion_iou = RewTerm(func=mdp.nil_motion_iou, weight=0.0, params={"sigma_px": 2.0})
    # how far the mask's pixels lie from the reference's, row and column profiles (pays before any overlap)
    transport = RewTerm(func=mdp.nil_transport, weight=0.0, params={"scale": 0.05})


@configclass
class TerminationsCfg:
    reference_end = DoneTerm(func=mdp.reference_finished, time_out=True)
    fell = DoneTerm(func=mdp.root_height_below_minimum, params={"minimum_height": MISSING})
    tilted = DoneTerm(func=mdp.bad_orientation, params={"limit_angle": 1.0})


@configclass
class EventsCfg:
    reset_base = EventTerm(
        func=mdp.reset_root_state_uniform,
        mode="reset",
        params={"pose_range": {"yaw": (-0.05, 0.05)}, "velocity_range": {}},
    )
    reset_joints = EventTerm(
        func=mdp.reset_joints_by_offset, mode="reset", params={"position_range": (-0.02, 0.02), "velocity_range": (0.0, 0.0)}
    )


@configclass
class CurriculumCfg:
    camera_speed = CurrTerm(func=mdp.camera_speed_curriculum)
    action_reach = CurrTerm(func=mdp.action_reach_curriculum)  # does nothing unless the actions' reach_waits


@configclass
class NilWalkEnvCfg(ManagerBasedRLEnvCfg):
    robot_name: str = MISSING
    robot_config: str | None = None
    """The robot file the robot came from (a run's params name it, so that its checkpoints play anywhere)."""
    preset: str = "gpu"
    profile: str = DEFAULT_PROFILE
    """The :data:`PROFILES` entry the run started from (flags and overrides may change single settings after it)."""
    scene: NilSceneCfg = MISSING
    commands: CommandsCfg = CommandsCfg()
    observations: ObservationsCfg = ObservationsCfg()
    actions: ActionsCfg = ActionsCfg()
    rewards: RewardsCfg = RewardsCfg()
    terminations: TerminationsCfg = TerminationsCfg()
    events: EventsCfg = EventsCfg()
    curriculum: CurriculumCfg | None = None

    __override_aliases__ = {"imitation": "commands.imitation"}
    """Short names that overrides may use: ``env.imitation.camera_speed=0.5`` sets ``commands.imitation``'s."""

    @property
    def imitation(self) -> mdp.ImitationCommandCfg:
        """The imitation command's settings (reference, reward, camera, camera speed), by their short name."""
        return self.commands.imitation

    @imitation.setter
    def imitation(self, value: mdp.ImitationCommandCfg) -> None:
        # configclass copies inherited properties' values back through their setter
        self.commands.imitation = value

    def play_mode(self) -> None:
        """Isaac Lab's PLAY convention (its play scripts call this, and so do NIL's play.py and evaluate.py): at most
        50 envs, and the camera at the reference's own speed from the first step, since a policy is judged against
        the reference itself, not against the curriculum's slower camera (and the actions at their full scale)."""
        super().play_mode()
        self.curriculum = None
        self.imitation.camera_speed = 1.0
        if hasattr(self.actions.joint, "reach_from"):  # likewise the actions' full reach, which training widens to
            self.actions.joint.reach_from = None
        self.imitation.camera = dataclasses.replace(self.imitation.camera, rgb=True)  # play and evaluate record videos
        self.scene.camera = self.imitation.camera.sensor_cfg()
        self._add_follow_camera()

    def record_video(self, size: int = 256) -> None:
        """Add a camera for the side-by-side video: the training camera's geometry and path at ``size`` px (at least
        its own), colour and masks; training and the scores keep the training camera. Call after set_reference."""
        cam = self.imitation.camera
        scale = max(size / max(cam.width, cam.height), 1.0)
        video = dataclasses.replace(cam, width=round(cam.width * scale), height=round(cam.height * scale), rgb=True)
        self.scene.video_camera = video.sensor_cfg("{ENV_REGEX_NS}/VideoCamera")

    def _add_follow_camera(self) -> None:
        """The posture score (pose IoU) sees the agent from a camera of the same geometry that follows it."""
        follow = dataclasses.replace(self.imitation.camera, mode="follow_agent", rgb=False)
        self.scene.follow_camera = follow.sensor_cfg("{ENV_REGEX_NS}/FollowCamera")

    def set_reference(self, path: str | None) -> None:
        """Use this reference bundle (None: the robot's scripted demo for this camera, rendered once)."""
        if path is None:
            camera = self.imitation.camera.to_dict(robot_model_info(self.robot_name).base_pos[2])
            path = str(ensure_scripted_reference(self.robot_name, camera))
        elif (geometry := aligned_camera(path)) is not None:
            # a video filmed from elsewhere: the agent is seen from the camera its first frame was aligned to
            self.imitation.camera = dataclasses.replace(self.imitation.camera, **geometry)
            self.scene.camera = self.imitation.camera.sensor_cfg()  # its focal length too
            if self.scene.follow_camera is not None:
                self._add_follow_camera()
            print(f"[INFO] Camera from the reference {path} (aligned to its video): {geometry}", flush=True)
        self.imitation.reference = os.path.abspath(path)  # the run's params then name it from any folder


def physics_steps_per_control_step(control_hz: float) -> int:
    """Isaac Lab's decimation for a control rate; a rate that does not divide the physics rate is refused rather
    than rounded, since the reference is retimed to exactly that rate."""
    steps = round(1.0 / (control_hz * PHYSICS_DT)) if control_hz > 0 else 0
    if steps < 1 or abs(steps * PHYSICS_DT * control_hz - 1.0) > 1e-6:
        rates = ", ".join(f"{1 / (k * PHYSICS_DT):g}" for k in (1, 2, 4, 5, 8, 10))
        raise ValueError(f"control_hz={control_hz:g} does not divide the {1 / PHYSICS_DT:g} Hz physics; use one of {rates}")
    return steps


def walk_env_cfg(robot: str, preset: str = "gpu", num_envs: int | None = None, device: str | None = None,
                 torque_actions: bool = False, camera_mode: str = "reference_path",
                 camera_speed_curriculum: bool = True, control_hz: float | None = None,
                 action_scale: float | None = None, profile: str = DEFAULT_PROFILE) -> NilWalkEnvCfg:
    """The walk task of ``robot`` with a preset: ``gpu`` (TimeSformer-base in bf16; envs, camera, encoder chunk and
    video_every_k sized to the card's free memory by :mod:`nil_ext.rewards.gpu_sizing`: 4096 envs at 224 px on an 80 GB card),
    ``cpu`` (128 envs, 64 px, video term off: the most env steps/s a CPU gives, for learning runs) or
    ``cpu-smoke`` (4 envs, 64 px, video term off: starts fast, for the quickstart and tests).

    With ``camera_mode="reference_path"`` the camera's speed starts at ``CAMERA_START_SPEED`` and a curriculum
    raises it to the reference's own as the agent keeps up (``camera_speed_curriculum=False``: full speed from the start).

    ``profile``: ``track`` (default: ``imitate`` plus the reference's place and heading observed from the base),
    ``imitate`` (25 Hz control, action scale 0.25, the ``alive``, ``silhouette``, ``pose``, ``pace`` and ``heading``
    terms on), ``walk`` (the same without the last three: what walked forward, the shipped policies of before) or
    ``paper`` (the paper's 100 Hz and reward). ``control_hz`` (one that divides the 200 Hz physics;
    the reference is retimed to it when the env starts) and ``action_scale`` override the profile's.
    Playing back and evaluating use :meth:`NilWalkEnvCfg.play_mode`."""
    if preset not in PRESETS:
        raise ValueError(f"Unknown preset '{preset}'; known: {', '.join(PRESETS)}")
    if profile not in PROFILES:
        raise ValueError(f"Unknown profile '{profile}'; known: {', '.join(PROFILES)}")
    recipe = PROFILES[profile]
    on_cpu = preset != "gpu"
    device = device or ("cpu" if on_cpu else "cuda:0")
    # cpu: 128 envs, stepped beside the updates (agents.py), 1.9x the transitions/s of 64 envs stepped between
    # them (scripts/benchmark.py --what train)
    from ...rewards.gpu_sizing import gpu_sizes  # reads the device's free memory: only for the gpu preset

    sizes = None if on_cpu else gpu_sizes(device, num_envs)
    num_envs = num_envs or (sizes.num_envs if sizes else {"cpu": 128, "cpu-smoke": 4}[preset])
    # On a CPU a random-init or absent video encoder tells nothing and costs most of the step: IoU + penalties,
    # and no colour rendered (play_mode renders it for the videos)
    camera = FollowCameraCfg(width=64, height=64, mode=camera_mode, rgb=False) if on_cpu else FollowCameraCfg(
        width=sizes.camera_px, height=sizes.camera_px, mode=camera_mode)
    reward = NilRewardCfg(ablation="no_video") if on_cpu else NilRewardCfg(chunk_size=sizes.chunk_size,
                                                                            video_every_k=sizes.video_every_k)

    cfg = NilWalkEnvCfg(robot_name=robot, robot_config=get_robot_spec(robot).source, preset=preset, profile=profile,
                        scene=robot_scene_cfg(robot, num_envs, camera, env_spacing=4.0))
    cfg.imitation.reward, cfg.imitation.camera = reward, camera
    if camera_mode == "reference_path" and camera_speed_curriculum:
        cfg.imitation.camera_speed = CAMERA_START_SPEED
        cfg.curriculum = CurriculumCfg()
    cfg.sim = newton_sim_cfg(device, dt=PHYSICS_DT)
    cfg.decimation = physics_steps_per_control_step(control_hz or recipe.control_hz)
    cfg.sim.render_interval = cfg.decimation
    cfg.episode_length_s = 10.0  # a bound; episodes end with the reference (reference_end)
    cfg.actions.joint.joint_names = policy_joint_keys(robot)
    cfg.actions.joint.scale = action_scale or recipe.action_scale or get_robot_spec(robot).action_scale
    cfg.rewards.alive.weight = recipe.alive
    cfg.rewards.silhouette.weight = recipe.silhouette
    cfg.rewards.pose.weight = recipe.pose
    cfg.rewards.pace.weight = recipe.pace
    cfg.rewards.place.weight = recipe.place
    cfg.rewards.heading.weight = recipe.heading
    cfg.rewards.speed.weight = recipe.speed
    cfg.rewards.shape.weight = recipe.shape
    if recipe.observe_reference:
        cfg.observations.policy.reference = ObsTerm(func=mdp.reference_in_base_frame)
    if recipe.observe_gait:
        cfg.observations.policy.gait_clock = ObsTerm(func=mdp.reference_gait_clock)
    start_height = robot_model_info(robot).base_pos[2]
    cfg.terminations.fell.params["minimum_height"] = 0.5 * start_height
    if torque_actions:
        if action_scale is not None:  # the profile's scale does not apply to torques
            raise ValueError("action_scale scales PD target offsets; torque actions are scaled by each joint's effort limit")
        info = robot_model_info(robot)
        # every actuated joint: without stiffness, a joint the policy left out would hang limp
        cfg.actions.joint = mdp.JointEffortActionCfg(asset_name="robot", joint_names=[".*"], scale=1.0)
        cfg.actions.joint.scale = {f"{j}(_\\d+)?": info.effort_limit[j] for j in info.joint_names}
        cfg.scene.robot.actuators["joints"].stiffness = 0.0
        cfg.scene.robot.actuators["joints"].damping = 0.0
    return cfg

