"""The curricula: the walk tasks' camera speed (on the imitation command's camera) and the start of the actions' widening reach."""

from __future__ import annotations

import torch
from isaaclab.envs import ManagerBasedRLEnv


def camera_speed_curriculum(
    env: ManagerBasedRLEnv, env_ids, keep_up: float = 0.6, behind: float = 0.3, slack: float = 0.05,
    round_step: float = 0.32, command_name: str = "imitation",
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
    starts at (``ImitationCommandCfg.camera_speed``) and 1: a round of unanimous episodes moves it by ``round_step``
    whatever the number of envs (64 envs: 0.005 an episode).
    Runs on reset, before the reset events move the robot back and the imitation command's reset restarts the
    time.
    """
    state = env.command_manager.get_term(command_name)
    ids = torch.arange(env.num_envs, device=env.device)[env_ids]
    # Only episodes that ended in a step vote: not the first reset, nor a forced env.reset() mid-episode.
    compared = state.frames_compared()[ids]
    ended = (compared > 0) & env.reset_buf[ids]
    finished = state.finished()[ids]
    last_frame = (compared - 1).clamp(0, len(state.camera_travel) - 1)
    camera = state.camera_speed * (state.camera_travel[last_frame, :2] @ state.travel_dir)
    start = state.robot.data.default_root_pose.torch[ids, :2] + env.scene.env_origins[ids, :2]
    agent = (state.robot.data.root_pos_w.torch[ids, :2] - start) @ state.travel_dir
    up = ended & finished & (agent >= keep_up * camera - slack)
    down = ended & (~finished | (agent < behind * camera - slack))
    floor = env.cfg.imitation.camera_speed
    state.camera_speed.add_(round_step * (up.sum() - down.sum()) / env.num_envs).clamp_(min(floor, 1.0), 1.0)
    return state.camera_speed


def action_reach_curriculum(env: ManagerBasedRLEnv, env_ids, action_name: str = "joint") -> torch.Tensor | None:
    """Start the joint actions' widening reach (``reach_from`` -> ``scale`` over ``reach_steps``, with
    ``reach_waits``: see ``mdp/actions.py``) once the episodes end standing.

    Why: widened from the first step, a fresh H1 fell before it stood (SitChair: episodes 77 -> 39 steps as the reach
    grew), where the same widening from a standing policy made it sit. Each episode that reached its end (a
    time-out) votes 1 / num_envs; a round's worth of standing episodes (num_envs of them, counted since the start)
    starts the widening, which then follows its schedule whatever the episodes do: the policy that sat went through
    a trough of falls (4-7 % time-outs) at the widest reach before it used it, where a reach paced by falls stalled
    at ~0.1 of the way. Falls do not vote against: SitChair's policies stand for a while (up to 60 % of episodes
    ending standing around iteration 800), then tilt back on the chair, and a vote of stands minus falls had not
    reached a round's worth on seed 1 by iteration 1,650.
    Returns the reach (TensorBoard ``Curriculum/action_reach``), None where the actions' reach does not wait.
    """
    term = env.action_manager.get_term(action_name)
    if not getattr(term, "waits", False):
        return None
    ids = torch.arange(env.num_envs, device=env.device)[env_ids]
    ended = env.episode_length_buf[ids] > 0  # not the first reset, nor a second reset of an episode just counted
    term.vote_standing((env.termination_manager.time_outs[ids] & ended).sum() / env.num_envs)
    return term.reach_level
