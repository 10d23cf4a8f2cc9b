"""A reward probe: does a task's own reward rank good motion above bad?

Video rewards fail silently: a reward that scores a robot standing still as high as the reference itself trains a
policy that stands. The probe scores a fixed set of behaviours, one episode each over all envs at once, with the
task's OWN reward (its reward manager: the imitation streams and penalties, weighted as configured) and checks
that it ranks them as it should: reference > half_speed > standing > random, and falling lowest.

Behaviours are policies; the kinematic ones (:class:`KinematicReplay`) also write the robot's state into the
simulator after every physics step, so that the reward sees exactly the motion replayed (physics is not trusted to
follow it). They reach the simulator through :class:`ReplayWriter`, a recorder term: Isaac Lab's one hook that runs
after each physics step and before the rewards are computed. :func:`add_replay_writer` adds it to an env config.

Where the states come from: a scripted reference (``meta["generator"] == "scripted"``) is regenerated from the
robot's scripted gait (``reference.scripted.gait_of``, ``gait_offsets``) at the bundle's frame times; the bundle's
cache key holds the gait and the renderer's version, so the regenerated motion is the rendered one. A bundle
without states (an imported or generated video) skips the replays, with a note.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field

import numpy as np
import torch
from isaaclab.managers import RecorderTermCfg
from isaaclab.managers.recorder_manager import DatasetExportMode, RecorderManagerBaseCfg, RecorderTerm
from isaaclab.utils import configclass
from isaaclab.utils.math import axis_angle_from_quat, quat_conjugate, quat_from_angle_axis, quat_mul

from ..tasks.mdp import imitation_term
from .rollout import random_policy, run_episode, standing_policy

BEHAVIOURS = ("reference", "half_speed", "turned", "backwards", "standing", "random", "falling")
# on request: the reference with each joint held within the actions' reach; the reference with a third of its joint
# swing (feet close together at its pace, as a shuffling policy walks); that short stride stepped QUICK_STEPS times as
# often along the same path (as H1's trained policies step); a checkpoint's own policy
OPTIONAL = ("within_actions", "short_stride", "quick_steps", "policy")
REPLAYS = ("reference", "half_speed", "turned", "backwards", "within_actions", "short_stride", "quick_steps")  # need the reference's states
SHORT_STRIDE = 1.0 / 3.0  # H1's shipped policy swings its hips about a third of the scripted walk's amplitude
QUICK_STEPS = 1.6  # and steps 1.6x as often as the reference (evaluate.py's cadence column: 1.62)
EXPECTED_ORDER = ("reference", "half_speed", "standing", "random")  # strictly decreasing returns
TURNED_YAW = -math.pi / 2  # "turned": the reference's motion with the body facing the camera (it looks from -y)
FALL_SECONDS = 1.0  # the scripted fall tips the robot from upright to lying in this time


@dataclass
class ReferenceStates:
    """The reference's robot state per frame, in the env's frame (relative to its origin) and joint order."""

    root_pose: torch.Tensor  # (T, 7) x, y, z, quaternion (x, y, z, w)
    joint_pos: torch.Tensor  # (T, J)


@dataclass
class Trajectory:
    """A state per control step of a replay, with the velocities that move between them."""

    root_pose: torch.Tensor  # (K, 7)
    root_vel: torch.Tensor  # (K, 6) linear, angular, world frame
    joint_pos: torch.Tensor  # (K, J)
    joint_vel: torch.Tensor  # (K, J)

    @classmethod
    def from_states(cls, root_pose: torch.Tensor, joint_pos: torch.Tensor, dt: float) -> Trajectory:
        """Velocities by forward differences (the last step keeps its predecessor's)."""
        lin = (root_pose[1:, :3] - root_pose[:-1, :3]) / dt
        turn = quat_mul(root_pose[1:, 3:], quat_conjugate(root_pose[:-1, 3:]))  # world-frame rotation per step
        ang = axis_angle_from_quat(turn) / dt
        joint_vel = (joint_pos[1:] - joint_pos[:-1]) / dt
        last = lambda x: torch.cat([x, x[-1:]])  # noqa: E731
        return cls(root_pose, last(torch.cat([lin, ang], dim=1)), joint_pos, last(joint_vel))


def scripted_states(bundle, joint_names: list[str], start_root_pose: torch.Tensor, start_joint_pos: torch.Tensor,
                    joint_limits: torch.Tensor, time_scale: float = 1.0) -> ReferenceStates | None:
    """The scripted walk's states at the bundle's frames, as ``reference.scripted`` renders them (start pose
    gliding forward at the gait's speed, joints at the start pose plus the gait's offsets, within their limits);
    None when the bundle is not a scripted walk (its states are unknown). ``start_*``: (7,), (J,); limits (J, 2).
    ``time_scale``: the motion at that many times the bundle's time (2: twice as fast, twice as far)."""
    from ..reference.scripted import gait_of, scripted_motion

    if bundle.meta.get("generator") != "scripted" or "walk" not in str(bundle.meta.get("skill", "")):
        return None
    times = torch.arange(bundle.num_frames, dtype=torch.float32) / bundle.fps * time_scale
    return ReferenceStates(*scripted_motion(gait_of(bundle.robot), joint_names, start_root_pose, start_joint_pos,
                                            joint_limits, times))


def _at(states: ReferenceStates, index: torch.Tensor) -> ReferenceStates:
    """The states at fractional frame indices (K,): positions and joints interpolated linearly, the orientation
    normalised-linearly (frames are 10 ms apart)."""
    last = len(states.joint_pos) - 1
    index = index.clamp(0, last)
    low = index.floor().long()
    high = (low + 1).clamp(max=last)
    w = (index - low)[:, None]

    def lerp(x):
        return x[low] * (1 - w) + x[high] * w

    pose = lerp(states.root_pose)
    pose[:, 3:] = pose[:, 3:] / pose[:, 3:].norm(dim=1, keepdim=True)
    return ReferenceStates(pose, lerp(states.joint_pos))


def replay_trajectory(states: ReferenceStates, steps: int, dt: float, rate: float = 1.0,
                      backwards: bool = False, yaw: float = 0.0) -> Trajectory:
    """``steps`` control steps of the reference played at ``rate`` (0.5: half speed, half the travel in the same
    time), or time-reversed and moved to start where the reference starts (a robot walking backwards), with the
    body turned by ``yaw`` (rad) about the vertical while it travels the reference's path (a robot that side-steps
    along it facing elsewhere)."""
    k = torch.arange(steps, dtype=torch.float32, device=states.joint_pos.device)
    last = len(states.joint_pos) - 1
    played = _at(states, (last - k * rate) if backwards else k * rate)
    if backwards:  # the reversed motion's travel, anchored at the reference's start
        played.root_pose[:, :3] += states.root_pose[0, :3] - states.root_pose[last, :3]
    if yaw:
        turn = quat_from_angle_axis(torch.full((steps,), yaw, device=k.device), torch.tensor([0.0, 0.0, 1.0],
                                    device=k.device).expand(steps, 3))
        played.root_pose[:, 3:] = quat_mul(turn, played.root_pose[:, 3:])
    return Trajectory.from_states(played.root_pose, played.joint_pos, dt)


def fall_trajectory(start_root_pose: torch.Tensor, start_joint_pos: torch.Tensor, steps: int, dt: float) -> Trajectory:
    """The robot, joints held at its start pose, tipping forward about the ground under its base like a rigid body,
    from upright to lying in ``FALL_SECONDS``."""
    device = start_root_pose.device
    angle = (torch.arange(steps, device=device) * dt / FALL_SECONDS).clamp(max=1.0) * (math.pi / 2)
    height = float(start_root_pose[2])
    pitch = quat_from_angle_axis(angle, torch.tensor([0.0, 1.0, 0.0], device=device).expand(steps, 3))
    pose = start_root_pose.repeat(steps, 1)
    pose[:, 0] += height * torch.sin(angle)
    pose[:, 2] = height * torch.cos(angle).clamp(min=0.1)
    pose[:, 3:] = quat_mul(pitch, pose[:, 3:])
    return Trajectory.from_states(pose, start_joint_pos.repeat(steps, 1), dt)


class KinematicReplay:
    """A behaviour that plays a trajectory: as a policy it commands the replayed joints as PD targets (so the
    actuators and the action penalties see what a perfect tracker would send); :meth:`write` puts the robot in
    the replayed state. Step k of an episode is the reference frame the reward compares next, per env."""

    def __init__(self, env, trajectory: Trajectory):
        self.env = env.unwrapped
        self.trajectory = trajectory
        self.robot = self.env.scene["robot"]
        action_cfg = self.env.cfg.actions.joint
        # the joints the actions move (a robot file's policy_joints may leave some at their start pose)
        self.action_joints = self.robot.find_joints(action_cfg.joint_names, preserve_order=action_cfg.preserve_order)[0]
        # Position actions: the action term's own inverse (one scale, one per joint, or each joint's range); other
        # actions (torques) send zero.
        self.actions_for = getattr(self.env.action_manager.get_term("joint"), "actions_for", None)

    def step_index(self) -> torch.Tensor:
        return imitation_term(self.env).time_steps.clamp(max=len(self.trajectory.joint_pos) - 1)

    def __call__(self, obs: torch.Tensor) -> torch.Tensor:
        k = self.step_index()
        if self.actions_for is None:
            return torch.zeros(obs.shape[0], self.env.action_manager.total_action_dim, device=obs.device)
        return self.actions_for(self.trajectory.joint_pos[k][:, self.action_joints])

    def write(self) -> None:
        k = self.step_index()
        pose = self.trajectory.root_pose[k].clone()
        pose[:, :3] += self.env.scene.env_origins
        self.robot.write_root_pose_to_sim_index(root_pose=pose)
        self.robot.write_root_link_velocity_to_sim_index(root_velocity=self.trajectory.root_vel[k])
        self.robot.write_joint_state_to_sim_index(position=self.trajectory.joint_pos[k],
                                                  velocity=self.trajectory.joint_vel[k])
        self.env.sim.forward()  # body poses from the written joints, for the camera and the feet


# Each env's replay writer (Isaac Lab's recorder manager has no public lookup of its terms, so they register here).
_WRITERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class ReplayWriter(RecorderTerm):
    """Writes the active :class:`KinematicReplay`'s state after every physics step (nothing when none is active);
    records nothing. Found by :func:`replay_writer`."""

    replay: KinematicReplay | None = None

    def __init__(self, cfg: RecorderTermCfg, env):
        super().__init__(cfg, env)
        _WRITERS[env] = self

    def record_post_physics_decimation_step(self):
        if self.replay is not None:
            self.replay.write()
        return None, None


@configclass
class ReplayRecorderCfg(RecorderManagerBaseCfg):
    dataset_export_mode: DatasetExportMode = DatasetExportMode.EXPORT_NONE
    export_in_record_pre_reset: bool = False
    replay: RecorderTermCfg = RecorderTermCfg(class_type=ReplayWriter)


def add_replay_writer(env_cfg) -> None:
    """Let kinematic replays drive this env's robot (call before the env is made)."""
    env_cfg.recorders = ReplayRecorderCfg()


def replay_writer(env) -> ReplayWriter:
    writer = _WRITERS.get(env.unwrapped)
    if writer is None:
        raise LookupError("This env has no replay writer: call probe.add_replay_writer(env_cfg) before making it.")
    return writer


@dataclass
class BehaviourResult:
    name: str
    episodes: int = 0
    return_mean: float = float("nan")
    return_std: float = float("nan")
    terms: dict[str, float] = field(default_factory=dict)  # mean episode sum of each reward term
    iou_mean: float = float("nan")
    env_reward_mean: float = float("nan")
    falls_per_episode: float = float("nan")
    note: str | None = None  # why it was skipped

    @property
    def skipped(self) -> bool:
        return self.episodes == 0

    def to_dict(self) -> dict:
        total = sum(abs(v) for v in self.terms.values()) or 1.0
        out = {k: v for k, v in self.__dict__.items() if v is not None}
        out["term_shares"] = {k: v / total for k, v in self.terms.items()}
        return out


def behaviours(env, steps: int, names=BEHAVIOURS, policy=None) -> tuple[dict, dict[str, str]]:
    """The probe's policies by name, and a note for each one that cannot run here (``policy``: a trained policy,
    scored as the behaviour "policy")."""
    unwrapped = env.unwrapped
    robot = unwrapped.scene["robot"]
    dt = unwrapped.step_dt
    start_pose = robot.data.default_root_pose.torch[0].clone()
    start_joints = robot.data.default_joint_pos.torch[0].clone()
    num_actions = unwrapped.action_manager.total_action_dim
    policies, notes = {}, {}
    bundle, limits = imitation_term(unwrapped).bundle, robot.data.joint_pos_limits.torch[0]
    states = scripted_states(bundle, robot.joint_names, start_pose, start_joints, limits)
    for name in names:
        if name in REPLAYS and states is None:
            notes[name] = "the reference bundle stores no robot states (not a scripted walk): no replay"
        elif name == "within_actions":  # the best a policy can show whose PD targets stay where its actions reach
            term = unwrapped.action_manager.get_term("joint")
            joint_pos = states.joint_pos.clone()
            joint_pos[:, term._joint_ids] = term.reachable(joint_pos[:, term._joint_ids])
            policies[name] = KinematicReplay(env, replay_trajectory(ReferenceStates(states.root_pose, joint_pos),
                                                                    steps, dt))
        elif name == "short_stride":  # the same path and cadence, each joint a third as far from the start pose
            joint_pos = start_joints + SHORT_STRIDE * (states.joint_pos - start_joints)
            policies[name] = KinematicReplay(env, replay_trajectory(ReferenceStates(states.root_pose, joint_pos),
                                                                    steps, dt))
        elif name == "quick_steps":  # the short stride's joints QUICK_STEPS times as fast, the base at the pace
            quick = scripted_states(bundle, robot.joint_names, start_pose, start_joints, limits, QUICK_STEPS)
            joint_pos = start_joints + SHORT_STRIDE * (quick.joint_pos - start_joints)
            policies[name] = KinematicReplay(env, replay_trajectory(ReferenceStates(states.root_pose, joint_pos),
                                                                    steps, dt))
        elif name == "policy":
            if policy is None:
                notes[name] = "no trained policy given (probe_reward.py --checkpoint)"
            else:
                policies[name] = policy
        elif name in REPLAYS:
            rate = 0.5 if name == "half_speed" else 1.0
            yaw = TURNED_YAW if name == "turned" else 0.0
            policies[name] = KinematicReplay(env, replay_trajectory(states, steps, dt, rate, name == "backwards", yaw))
        elif name == "standing":
            policies[name] = standing_policy(num_actions)
        elif name == "random":
            policies[name] = random_policy(num_actions)
        elif name == "falling":
            policies[name] = KinematicReplay(env, fall_trajectory(start_pose, start_joints, steps, dt))
        else:
            raise ValueError(f"Unknown behaviour '{name}'; known: {', '.join(BEHAVIOURS + OPTIONAL)}")
    return policies, notes


def run_probe(env, steps: int, seed: int = 0, names=BEHAVIOURS, progress: bool = False,
              policy=None) -> list[BehaviourResult]:
    """One episode of every env per behaviour, scored by the env's own reward; ``env`` made with
    :func:`add_replay_writer`'s config; ``policy`` (obs -> actions) is the behaviour "policy"."""
    writer = replay_writer(env)
    policies, notes = behaviours(env, steps, names, policy)
    results = []
    for name in names:
        if name not in policies:
            results.append(BehaviourResult(name, note=notes[name]))
            continue
        policy = policies[name]
        writer.replay = policy if isinstance(policy, KinematicReplay) else None
        torch.manual_seed(seed)
        env.unwrapped.seed(seed)
        try:
            ep = run_episode(env, policy, max_steps=steps, progress=name if progress else None)
        finally:
            writer.replay = None
        manager = env.unwrapped.reward_manager  # a term weighted 0 is off
        terms = {k: float(v.mean()) for k, v in ep.term_returns.items() if manager.get_term_cfg(k).weight != 0}
        results.append(BehaviourResult(
            name, episodes=len(ep.task_return), return_mean=float(ep.task_return.mean()),
            return_std=float(ep.task_return.std()), terms=terms, iou_mean=float(ep.mean_iou.mean()),
            env_reward_mean=float(ep.env_reward.mean()), falls_per_episode=float(ep.fell.mean())))
    return results


def ranking_problems(returns: dict[str, float]) -> list[str]:
    """What is wrong with the reward's ranking of the behaviours' mean returns (empty: all as expected).
    Expected: reference > half_speed > standing > random, reference > turned, and falling below every other;
    missing ones are left out. (Whether turned scores below half_speed is the profile's business: the paper's reward
    barely sees a turned body, which is what the imitate profile changes.)"""
    returns = {n: v for n, v in returns.items() if n != "policy"}  # a trained policy has no known rank
    present = [n for n in EXPECTED_ORDER if n in returns and np.isfinite(returns[n])]
    problems = [f"{a} ({returns[a]:.2f}) does not score above {b} ({returns[b]:.2f})"
                for a, b in zip(present, present[1:], strict=False) if not returns[a] > returns[b]]
    if all(np.isfinite(returns.get(n, np.nan)) for n in ("reference", "turned")) and \
            not returns["reference"] > returns["turned"]:
        problems.append(f"reference ({returns['reference']:.2f}) does not score above turned ({returns['turned']:.2f})")
    if "falling" in returns and np.isfinite(returns["falling"]):
        higher = [n for n, v in returns.items() if n != "falling" and np.isfinite(v) and not v > returns["falling"]]
        problems += [f"falling ({returns['falling']:.2f}) does not score below {n} ({returns[n]:.2f})" for n in higher]
    return problems


def ranking_checked(returns: dict[str, float]) -> str | None:
    """The expected order among the behaviours scored (``a > b > c``, a fall lowest), or None when fewer than two of
    them have a known rank: what a clean ranking_problems has checked, said without claiming the rest."""
    known = {n for n, v in returns.items() if n != "policy" and np.isfinite(v)}
    said = [" > ".join(chain)] if len(chain := [n for n in EXPECTED_ORDER if n in known]) >= 2 else []
    if {"reference", "turned"} <= known:
        said.append("reference > turned")
    if "falling" in known and len(known) >= 2:
        said.append("falling lowest")
    return ", ".join(said) or None


def markdown_table(task: str, results: list[BehaviourResult]) -> str:
    """The results as a markdown table: return, each term's episode sum, IoU, env reward, falls."""
    terms = list(dict.fromkeys(k for r in results for k in r.terms))
    head = ["behaviour", "return", *terms, "mean IoU", "env reward", "falls/ep"]
    lines = [f"{task}: the task's own reward per episode (mean over envs; term columns: episode sums)", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        if r.skipped:
            lines.append(f"| {r.name} | skipped: {r.note} |" + " |" * (len(head) - 2))
            continue
        cells = [r.name, f"{r.return_mean:.2f} ± {r.return_std:.2f}", *(f"{r.terms.get(t, 0.0):.2f}" for t in terms),
                 f"{r.iou_mean:.3f}", f"{r.env_reward_mean:.1f}", f"{r.falls_per_episode:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
