"""Whole-body skills with a prop: the walk task's MDP (observations, actions, NIL reward, penalties) plus a prop.

Built by :func:`wholebody_env_cfg` on top of :func:`walk_env_cfg`, so the two stay one design: what differs is
the scene (a chair, a bar or a balance board, see ``scene/props.py``), the camera (``fixed`` or
``follow_agent``, seen from the front-right so that props across the robot show), the fall height (a robot
sitting on a chair is lower than one standing) and the scripted reference. The success of an episode is
measured by ``evaluation/success.py``, never rewarded.
"""

from __future__ import annotations

import dataclasses
from dataclasses import MISSING

from isaaclab.managers import EventTermCfg as EventTerm
from isaaclab.managers import SceneEntityCfg
from isaaclab.utils import configclass

from ...assets.robot_cfg import robot_model_info
from ...scene.props import Prop, skill_prop, with_props
from .. import mdp
from ..references import ensure_wholebody_reference
from ..walk.walk_env_cfg import DEFAULT_PROFILE, ActionsCfg, CurriculumCfg, NilWalkEnvCfg, walk_env_cfg

SKILLS = ("sit", "hang", "balance")
CAMERA_MODES = ("fixed", "follow_agent")  # reference_path replays a travelling camera: these skills stay put
CAMERA_YAW_DEG = -60.0  # front-right: a bar or board across the robot is seen lengthwise, not end-on
# Skills whose poses lie far from the start pose (arms above the head, a foot onto a board): their actions span
# each joint's range (mdp/actions.py, to_limits); for sitting the whole range cost falls (9 of 16 for H1)
# (docs/experiments/2026-11-27-reach-and-sit-range.md). Where a skill's reach widens (WIDENING_SKILLS, below),
# its SKILL_REACH replaces the range.
LIMB_RANGE_SKILLS = ("hang", "balance")
# Sitting upright needs the hips and knees ~1.5 rad from the start pose, which the walk's 0.25 rad actions cannot
# command (with them the robot sits leaning back or in front of the seat). Its reach widens from 0.25 to these once
# the policy stands (mdp/actions.py, reach_waits): from a standing policy the same widening made H1 sit upright
# (docs/experiments/2026-11-28-sit-reach-widening-talos-pace-bell.md).
REACH_FROM = 0.25
REACH_STEPS = 4000
# Hanging needs the arms over their whole range, which from the first step (to_limits) threw H1 around: one seed
# stood without hanging after ~820k transitions (docs/experiments/2026-11-26-h1-hang-bar.md). Its reach widens
# the same way once the policy stands, to HANG_REACH. BalanceBoard's did not gain from widening (one seed:
# normalised reward 0.31 at ~1.1M against 0.38 at ~400k with the whole range from the start;
# docs/experiments/2026-11-28-hang-trained-on-balance-widening.md).
SIT_REACH = {".*_hip_pitch.*|.*_knee.*": 1.2, ".*_ankle.*": 0.5, ".*_shoulder_pitch.*": 0.6,
             "(?!.*(_hip_pitch|_knee|_ankle|_shoulder_pitch)).*": REACH_FROM}
# Widened to every joint's limits instead, H1 stood with its arms forward for ~2.86M transitions (0 of 16 hung;
# docs/experiments/2026-11-29-hang-reach-g1-sit.md). The reach hanging needs: shoulders ~2.85 rad up and ~0.75
# out, elbows ~1.4, hips and knees ~1 to tuck the feet (scripted_wholebody.ARMS_UP).
HANG_REACH = {".*_shoulder_pitch.*": 2.9, ".*_shoulder_roll.*": 0.8, ".*_elbow.*": 1.5, ".*_hip_pitch.*|.*_knee.*": 1.2,
              "(?!.*(_shoulder_pitch|_shoulder_roll|_elbow|_hip_pitch|_knee)).*": REACH_FROM}
SKILL_REACH = {"sit": SIT_REACH, "hang": HANG_REACH}
"""The per-joint reach of the skills whose reach widens once the policy stands (from REACH_FROM)."""
WIDENING_SKILLS = tuple(SKILL_REACH)


@dataclasses.dataclass
class WholeBodyCfg:
    skill: str = MISSING
    prop: Prop = MISSING
    """The prop's geometry (the success detectors read it)."""
    hold_s: float = 1.0
    """Seconds a success state must be held."""


@configclass
class WholeBodyActionsCfg(ActionsCfg):
    grip: mdp.BarGripActionCfg | None = None
    """Hands that hold the bar (HangBar; ``env.actions.grip=None`` takes it away): see ``mdp/grip.py``."""


@configclass
class NilWholeBodyEnvCfg(NilWalkEnvCfg):
    wholebody: WholeBodyCfg = MISSING
    metrics: str = "nil_ext.evaluation.metrics:WholeBodyMetrics"
    """What scripts/evaluate.py reports for this task (success rate and normalised reward)."""

    def set_reference(self, path: str | None) -> None:
        """Use this reference bundle (None: the robot's scripted demo of the skill for this camera, rendered once)."""
        if path is None:
            camera = self.imitation.camera.to_dict(robot_model_info(self.robot_name).base_pos[2])
            camera["mode"] = self.imitation.camera.mode  # the demo is rendered the way the agent is seen
            path = str(ensure_wholebody_reference(self.robot_name, self.wholebody.skill, camera))
        super().set_reference(path)


def wholebody_env_cfg(robot: str, skill: str, preset: str = "gpu", num_envs: int | None = None,
                      device: str | None = None, torque_actions: bool = False,
                      camera_mode: str = "fixed", control_hz: float | None = None,
                      action_scale: float | None = None, profile: str = DEFAULT_PROFILE) -> NilWholeBodyEnvCfg:
    """The whole-body ``skill`` (sit, hang, balance) of ``robot`` with a preset and a profile (see
    :func:`walk_env_cfg`). The profile's terms that follow the reference's travel (pace, heading, speed, and the
    ``track`` profile's observation of it) are off: these skills stay in place, their references have no travel to
    keep pace with or face."""
    if skill not in SKILLS:
        raise ValueError(f"Unknown whole-body skill '{skill}'; known: {', '.join(SKILLS)}")
    if camera_mode not in CAMERA_MODES:
        raise ValueError(f"Camera mode '{camera_mode}' does not suit a whole-body skill; use {' or '.join(CAMERA_MODES)}")
    # What made the humanoids walk on a CPU (25 Hz control, small actions, alive, silhouette, posture) holds them up
    # here too; --profile paper keeps the paper's 100 Hz and reward.
    walk = walk_env_cfg(robot, preset, num_envs, device, torque_actions, camera_mode=camera_mode, control_hz=control_hz,
                        action_scale=action_scale, profile=profile)
    for term in ("pace", "heading", "speed"):
        getattr(walk.rewards, term).weight = 0.0
    walk.observations.policy.reference = None  # likewise the track profile's view of the reference's travel
    walk.observations.policy.gait_clock = None  # and the clock profile's stride: the skills do not cycle
    fields = {f.name: getattr(walk, f.name) for f in dataclasses.fields(walk)}
    prop = skill_prop(skill, robot)
    if skill in LIMB_RANGE_SKILLS and not torque_actions:
        walk.actions.joint.to_limits = True
    if skill in WIDENING_SKILLS and not torque_actions and action_scale is None and profile != "paper":
        walk.actions.joint.to_limits = False  # the joints the skill needs widen, the others stay small
        walk.actions.joint.scale = dict(SKILL_REACH[skill])
        walk.actions.joint.reach_from, walk.actions.joint.reach_steps = REACH_FROM, REACH_STEPS
        walk.actions.joint.reach_waits = True
        fields["curriculum"] = CurriculumCfg(camera_speed=None)  # the skills' camera stays put
    fields["actions"] = WholeBodyActionsCfg(joint=walk.actions.joint)
    if skill == "hang":  # the robots cannot close a hand: without a grip no policy can hang (mdp/grip.py)
        fields["actions"].grip = mdp.BarGripActionCfg(bar_center=prop.center, bar_length=prop.length)
    cfg = NilWholeBodyEnvCfg(**fields, wholebody=WholeBodyCfg(skill=skill, prop=prop))
    cfg.imitation.camera = dataclasses.replace(cfg.imitation.camera, yaw_deg=CAMERA_YAW_DEG)
    cfg.scene = with_props(cfg.scene, prop)

    start_height = robot_model_info(robot).base_pos[2]
    if skill == "sit":
        # Sitting lowers the pelvis to ~0.6 of its standing height: only below the seat's top has it fallen.
        cfg.terminations.fell.params["minimum_height"] = prop.top
    else:
        cfg.terminations.fell.params["minimum_height"] = 0.5 * start_height
    if skill == "balance":  # the board and its roller are free bodies: back to rest at every reset
        for name in ("board", "roller"):
            setattr(cfg.events, f"reset_{name}", EventTerm(
                func=mdp.reset_root_state_uniform, mode="reset",
                params={"pose_range": {}, "velocity_range": {}, "asset_cfg": SceneEntityCfg(name)}))
    return cfg
