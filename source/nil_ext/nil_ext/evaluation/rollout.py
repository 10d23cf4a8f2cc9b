"""Run a policy through whole episodes of a NIL task and measure what the paper reports.

Per env and episode: the environment reward (never used in training), mean mask IoU and video similarity to the
reference, whether it fell, and optionally the frames of env 0 for a side-by-side video and its reward terms
(each term's weighted value, R_t, the similarities and ``env_reward``) step by step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from ..assets.robots import get_robot_spec
from ..rewards import gait_period, pose_iou
from ..rewards.similarity import resize_mask
from ..tasks.mdp import heading_errors, imitation_term
from .env_reward import env_reward, episode_steps
from .video import mask_as_image, side_by_side_frame

Policy = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class EpisodeStats:
    env_reward: np.ndarray  # (N,) summed over the episode
    mean_iou: np.ndarray  # (N,) over the episode's steps; those after a fall count 0
    mean_video: np.ndarray  # (N,) likewise
    forward_speed: np.ndarray  # (N,) mean base velocity along the reference's direction of travel while up, m/s
    fell: np.ndarray  # (N,) bool, a broken simulation included
    steps: int
    mean_pose_iou: np.ndarray | None = None  # (N,) centred-mask IoU seen by a camera following the agent, like mean_iou
    heading_error_deg: np.ndarray | None = None  # (N,) mean |yaw error| of the base against the travel, while up
    torso_heading_error_deg: np.ndarray | None = None  # (N,) the same for the torso; None: the robot names none
    reference_speed: float = float("nan")  # m/s, the reference's travel speed (its camera path); nan: no path
    frames: list[np.ndarray] = field(default_factory=list)
    terms: dict[str, np.ndarray] = field(default_factory=dict)  # (T,) per step of env 0 (record=True)
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # (N,) per env, from the task's metrics (success...)
    task_return: np.ndarray | None = None  # (N,) the task's own reward (what training maximises), summed while up
    term_returns: dict[str, np.ndarray] = field(default_factory=dict)  # (N,) each reward term's share of it
    broken: np.ndarray | None = None  # (N,) bool: the simulation went non-finite (NaN) in the episode; counted a fall
    cadence_ratio: np.ndarray | None = None  # (N,) reference's gait period / the agent's (its masks); nan: none found


def step_reward_terms(manager) -> torch.Tensor:
    """(N, K) each active reward term's weighted value of the last step per env, in Isaac Lab's per-second units
    (times dt: its share of the step's reward), in ``manager.active_terms``'s order; through
    ``RewardManager.get_active_iterable_terms``, Isaac Lab's public view of them (one env at a time)."""
    rows = [[value[0] for _, value in manager.get_active_iterable_terms(i)] for i in range(manager.num_envs)]
    return torch.tensor(rows, device=manager.device).reshape(manager.num_envs, len(manager.active_terms))


def video_score(manager) -> torch.Tensor | None:
    """(N,) S_video of the last step, from the video reward term (None: no video term, or the video is off)."""
    if "video" not in manager.active_terms:
        return None
    score = getattr(manager.get_term_cfg("video").func, "score", None)
    return None if score is None else score.held


def random_policy(num_actions: int) -> Policy:
    return lambda obs: torch.rand(obs.shape[0], num_actions, device=obs.device) * 2 - 1


def standing_policy(num_actions: int) -> Policy:
    """Zero action: PD targets at the start pose (or zero torque with torque actions)."""
    return lambda obs: torch.zeros(obs.shape[0], num_actions, device=obs.device)


def checkpoint_policies(path: str, vec_env, device: str) -> tuple[Policy, Policy]:
    """A BRO checkpoint's tanh(mean) policy (what gets exported) and its conservative actor's samples (BRO's "sample"
    mode, not the optimistic explorer's), from one runner on ``vec_env`` (an :class:`IsaacLabVecEnv`)."""
    from ..agents.bro import OffPolicyRunner

    state = torch.load(path, map_location="cpu", weights_only=False)
    runner = OffPolicyRunner(vec_env, state["cfg"], log_dir=None, device=device)
    runner.load(path, load_optimizer=False)
    return runner.get_inference_policy(), lambda obs: runner.alg.act(runner.normalizer(obs), mode="sample")


def broken_episodes(episodes: list[EpisodeStats]) -> int:
    """Episodes whose simulation went non-finite (counted as falls; see :func:`run_episode`)."""
    return int(sum(e.broken.sum() for e in episodes if e.broken is not None))


def cadence_ratios(masks: list[torch.Tensor], steps_up: torch.Tensor, reference_masks: torch.Tensor,
                   fps: float) -> np.ndarray | None:
    """(N,) the reference's gait period over each agent's, both read from their silhouettes the same way
    (:func:`nil_ext.rewards.gait_period`): 1 steps at the reference's cadence, 0.5 at half of it; nan where the
    agent's silhouette does not repeat (it stands, falls early, or steps with no rhythm). ``masks``: the agent's
    (N,h,w) masks of each step, seen by a camera that follows it; ``steps_up``: (N,) the steps each stayed up. None:
    the reference itself does not repeat (a whole-body skill). Once per episode, after it: not in the step loop."""
    reference = gait_period(reference_masks, fps)
    if reference is None or not masks:
        return None
    stacked = torch.stack(masks, dim=1)  # (N, T, h, w)
    out = np.full(len(stacked), np.nan)
    for i, up in enumerate(steps_up.long().tolist()):
        found = gait_period(stacked[i, :up], fps)
        if found is not None:
            out[i] = reference.frames / found.frames
    return out


def counted_only(alive: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """``value`` (N,) or (N, K) where the env is still counted (``alive``), else 0: a NaN of a broken env stays out."""
    return torch.where(alive if value.dim() == 1 else alive[:, None], value, 0.0)


@torch.inference_mode()
def run_episode(env, policy: Policy, record: bool = False, max_steps: int | None = None, metrics=None,
                progress: str | None = None) -> EpisodeStats:
    """One episode of every env from a reset; an env that terminates early keeps its sums (it fell).

    IoU and video similarity are averaged over the whole episode, the steps after a fall counting 0, like the env
    reward, which stops summing: averaged over the steps it stood, a policy that falls early would score the
    well-aligned first frames only (measured on A1: random actions 0.140 that way, 0.089 this way; a trained
    policy that walks and never falls 0.120 either way).

    ``metrics``: the task's own metrics (``evaluation.metrics.task_metrics``), fed every step; their per-env
    results land in ``EpisodeStats.extra``.

    ``progress``: show a progress bar with this label.

    An env whose simulation goes non-finite (a NaN base position or reward: the physics blew up) ends there like a
    fall, its sums kept from before (``broken``), so that one such step does not turn the table's means into NaN."""
    unwrapped = env.unwrapped
    spec = get_robot_spec(unwrapped.cfg.robot_name)
    steps = max_steps or episode_steps(spec.quadruped, unwrapped.step_dt)
    obs, _ = env.reset()
    if metrics is not None:
        metrics.begin(unwrapped)
    n, device = unwrapped.num_envs, unwrapped.device
    alive = torch.ones(n, dtype=torch.bool, device=device)
    fell = torch.zeros(n, dtype=torch.bool, device=device)
    broken = torch.zeros(n, dtype=torch.bool, device=device)
    total = torch.zeros(n, device=device)
    iou = torch.zeros(n, device=device)
    video = torch.zeros(n, device=device)
    counted = torch.zeros(n, device=device)
    speed = torch.zeros(n, device=device)
    pose = torch.zeros(n, device=device)
    heading = None
    task_return = torch.zeros(n, device=device)
    manager = unwrapped.reward_manager
    term_returns = torch.zeros(n, len(manager.active_terms), device=device)
    frames, terms, follow_masks = [], [], []
    robot = unwrapped.scene["robot"]
    for _ in tqdm(range(steps), desc=progress, disable=progress is None, leave=False, mininterval=2.0):
        obs, task_reward, terminated, truncated, _ = env.step(policy(obs["policy"]))
        state = imitation_term(unwrapped)
        blew_up = alive & ~(torch.isfinite(task_reward) & torch.isfinite(robot.data.root_pos_w.torch).all(-1))
        broken |= blew_up
        alive &= ~blew_up
        live = alive.float()
        velocity = robot.data.root_lin_vel_w.torch
        reward = env_reward(velocity, spec.quadruped, unwrapped.step_dt)
        along = state.travel_dir if state.travel_dir is not None else torch.tensor([1.0, 0.0], device=device)
        speed += counted_only(alive, velocity[:, :2] @ along)
        follow = state.follow_mask if state.follow_mask is not None else state.mask
        follow = resize_mask(follow, state.reference_mask.shape[-2:])
        pose += live * pose_iou(follow, state.reference_mask)
        follow_masks.append(follow)
        if state.travel_dir is not None:
            error = counted_only(alive, heading_errors(state).abs().rad2deg())
            heading = error if heading is None else heading + error
        total += counted_only(alive, reward)
        task_return += counted_only(alive, task_reward)
        # each term's weighted value of this step; Isaac Lab's own episode sums are cleared by this step's resets
        shares = step_reward_terms(manager) * unwrapped.step_dt
        term_returns += counted_only(alive, shares)
        step_iou, step_video = state.mask_iou(), video_score(manager)
        iou += live * step_iou
        if step_video is not None:
            video += live * step_video
        counted += live
        if record:
            t = int(state.frame_index[0])
            # play.py's video camera (the same view, larger) when there is one, else the training camera
            large = state.video_rgb is not None
            ref = state.video_reference if large else state.bundle
            mask = (state.video_mask if large else state.mask)[0].cpu().numpy()
            rgb = state.video_rgb if large else state.rgb
            agent = rgb[0].cpu().numpy() if rgb is not None else mask_as_image(mask)  # masks-only camera
            frames.append(side_by_side_frame(ref.frames[t], agent, ref.masks[t], mask,
                                             float(step_iou[0])))
            terms.append({"total": float(task_reward[0]),
                          **{f"reward/{name}": float(v) for name, v in zip(manager.active_terms, shares[0], strict=True)},
                          "similarity/iou": float(step_iou[0]),
                          **({"similarity/video": float(step_video[0])} if step_video is not None else {}),
                          "env_reward": float(reward[0])})
        if metrics is not None:  # an env that ended this step shows its next episode's start: not counted
            metrics.step(unwrapped, alive, alive & ~(terminated | truncated), (alive & terminated) | blew_up)
        fell |= (alive & terminated) | blew_up
        alive &= ~(terminated | truncated)
        if not alive.any():
            break
    return EpisodeStats(
        env_reward=total.cpu().numpy(),
        mean_iou=(iou / steps).cpu().numpy(),
        mean_video=(video / steps).cpu().numpy(),
        forward_speed=(speed / counted.clamp(min=1)).cpu().numpy(),
        fell=fell.cpu().numpy(),
        steps=steps,
        mean_pose_iou=(pose / steps).cpu().numpy(),
        heading_error_deg=None if heading is None else (heading[:, 0] / counted.clamp(min=1)).cpu().numpy(),
        torso_heading_error_deg=None if heading is None or heading.shape[1] < 2
        else (heading[:, 1] / counted.clamp(min=1)).cpu().numpy(),
        reference_speed=getattr(imitation_term(unwrapped), "reference_speed", float("nan")),
        frames=frames,
        terms={k: np.array([step[k] for step in terms]) for k in (terms[0] if terms else ())},
        extra=metrics.end(steps) if metrics is not None else {},
        task_return=task_return.cpu().numpy(),
        term_returns={name: term_returns[:, i].cpu().numpy() for i, name in enumerate(manager.active_terms)},
        broken=broken.cpu().numpy(),
        cadence_ratio=cadence_ratios(follow_masks, counted, imitation_term(unwrapped).reference_masks,
                                     1.0 / unwrapped.step_dt),
    )
