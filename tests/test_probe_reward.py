"""The reward probe: its ranking check, its kinematic replay, and (slow) the A1 walk reward's ranking."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import nil_ext.tasks  # noqa: F401  (registers the task ids)
from nil_ext.evaluation.probe import ranking_checked, ranking_problems
from nil_ext.task_loading import load_cfg

ROOT = Path(__file__).resolve().parents[1]


def test_ranking_check_names_each_misordered_pair_and_a_fall_that_is_not_lowest():
    good = {"reference": 50.0, "half_speed": 30.0, "backwards": 12.0, "standing": 20.0, "random": 10.0, "falling": 5.0}
    assert ranking_problems(good) == []
    assert ranking_problems(dict(good, standing=40.0)) == ["half_speed (30.00) does not score above standing (40.00)"]
    assert ranking_problems(dict(good, falling=11.0)) == ["falling (11.00) does not score below random (10.00)"]
    # ties are failures (a reward that cannot tell them apart); skipped replays leave the rest checked
    assert ranking_problems({"standing": 3.0, "random": 3.0}) == ["standing (3.00) does not score above random (3.00)"]
    assert ranking_problems({"standing": 3.0, "random": 1.0, "falling": 0.0}) == []
    # a body turned away from the way the reference goes must not pay as much as the reference
    assert ranking_problems(dict(good, turned=45.0)) == []
    assert ranking_problems(dict(good, turned=50.0)) == ["reference (50.00) does not score above turned (50.00)"]
    # a trained policy below the scripted fall says something of the policy, not of the reward
    assert ranking_problems(dict(good, policy=1.0)) == []


def test_a_clean_ranking_says_only_what_was_compared():
    """A whole-body task's reference has no replay: with standing alone scored, no order may be claimed."""
    assert ranking_checked({"standing": 3.0}) is None
    assert ranking_checked({"standing": 3.0, "policy": 9.0}) is None
    assert ranking_checked({"reference": 9.0, "standing": 3.0}) == "reference > standing"
    assert ranking_checked({"reference": 9.0, "half_speed": 5.0, "standing": 3.0, "random": 1.0, "turned": 4.0,
                            "falling": 0.0}) == "reference > half_speed > standing > random, reference > turned, falling lowest"


@pytest.fixture(scope="module")
def launched():
    from isaaclab.app import launch_simulation

    from nil_ext.tasks.walk.walk_env_cfg import walk_env_cfg

    with launch_simulation(walk_env_cfg("a1", "cpu-smoke"), {}):
        yield


def test_kinematic_replay_puts_the_robot_in_the_reference_state_and_the_reward_sees_it(launched, menagerie_available):
    """After k replayed steps the robot's joints and base are the reference's frame k - 1 (the frame the reward just
    compared), the mask matches the reference's exactly, and the probe's per-term sums add up to its return."""
    from isaaclab.envs import ManagerBasedRLEnv

    from nil_ext.evaluation.probe import (
        KinematicReplay,
        add_replay_writer,
        replay_trajectory,
        replay_writer,
        run_probe,
        scripted_states,
    )
    from nil_ext.tasks.mdp import imitation_term

    cfg = load_cfg("NIL-A1-Walk", "env_cfg_entry_point", preset="cpu-smoke", num_envs=2)
    cfg.play_mode()
    cfg.set_reference(None)
    add_replay_writer(cfg)
    env = ManagerBasedRLEnv(cfg)
    try:
        robot = env.scene["robot"]
        states = scripted_states(imitation_term(env).bundle, robot.joint_names, robot.data.default_root_pose.torch[0],
                                 robot.data.default_joint_pos.torch[0], robot.data.joint_pos_limits.torch[0])
        steps = 12
        trajectory = replay_trajectory(states, steps, env.step_dt)
        replay = KinematicReplay(env, trajectory)
        writer = replay_writer(env)
        writer.replay = replay
        obs, _ = env.reset()
        for _ in range(steps):
            obs, *_ = env.step(replay(obs["policy"]))
        writer.replay = None
        k = steps - 1
        assert (imitation_term(env).time_steps == steps).all()
        torch.testing.assert_close(robot.data.joint_pos.torch, trajectory.joint_pos[k].expand(2, -1), atol=1e-4, rtol=0)
        base = robot.data.root_pos_w.torch - env.scene.env_origins
        torch.testing.assert_close(base, trajectory.root_pose[k, :3].expand(2, -1), atol=1e-4, rtol=0)
        assert trajectory.joint_pos[k].sub(trajectory.joint_pos[0]).abs().max() > 0.05, "the gait has moved the legs"
        # the base moves as the reference does: from rest, its speed ramping in with the swing (0.5 m/s after 0.5 s)
        torch.testing.assert_close(robot.data.root_lin_vel_w.torch[:, 0], trajectory.root_vel[k, 0].expand(2),
                                   atol=0.02, rtol=0)
        assert 0.2 < float(trajectory.root_vel[k, 0]) <= 0.5 + 1e-6
        assert (imitation_term(env).mask_iou() > 0.95).all(), "replayed on the reference's camera path"

        # within_actions: the reference with each joint held where the actions reach (start pose +- scale)
        term = env.action_manager.get_term("joint")
        start = robot.data.default_joint_pos.torch[0, term._joint_ids]
        reach = abs(float(term.cfg.scale))
        torch.testing.assert_close(term.reachable(start + 1.0), start + reach)
        torch.testing.assert_close(term.reachable(start - 0.5 * reach), start - 0.5 * reach)

        # quick_steps' joints: the walk's at 1.6 times its time (frame 5 of it is frame 8 of the walk)
        quick = scripted_states(imitation_term(env).bundle, robot.joint_names, robot.data.default_root_pose.torch[0],
                                robot.data.default_joint_pos.torch[0], robot.data.joint_pos_limits.torch[0], 1.6)
        torch.testing.assert_close(quick.joint_pos[5], states.joint_pos[8], atol=1e-5, rtol=0)
        assert quick.joint_pos[5].sub(states.joint_pos[5]).abs().max() > 1e-3

        # short_stride: a third of the swing at the reference's pace; quick_steps: that, stepped 1.6x as often;
        # policy: a given policy (zero actions here)
        names = ("reference", "standing", "within_actions", "short_stride", "quick_steps", "policy")
        zero = lambda obs: torch.zeros(obs.shape[0], env.action_manager.total_action_dim)  # noqa: E731
        results = {r.name: r for r in run_probe(env, steps=10, names=names, policy=zero)}
        assert results["reference"].iou_mean > 0.95 > results["standing"].iou_mean
        assert results["within_actions"].iou_mean > results["standing"].iou_mean
        assert results["reference"].iou_mean > results["short_stride"].iou_mean > results["standing"].iou_mean
        assert results["reference"].iou_mean > results["quick_steps"].iou_mean > results["standing"].iou_mean
        assert results["policy"].return_mean == pytest.approx(results["standing"].return_mean, rel=1e-4)
        assert run_probe(env, steps=2, names=("policy",))[0].note.startswith("no trained policy")
        for r in results.values():
            assert sum(r.terms.values()) == pytest.approx(r.return_mean, abs=1e-3)
        assert results["reference"].return_mean > results["standing"].return_mean
    finally:
        env.close()


def test_kinematic_replay_commands_only_the_joints_the_policy_moves(launched, menagerie_available):
    """TALOS's actions move 28 of its 44 joints (its robot file's policy_joints): the replay commands those, at each
    joint's own scale, as PD targets equal to the replayed joints, and the probe runs on it."""
    from isaaclab.envs import ManagerBasedRLEnv

    from nil_ext.evaluation.probe import (
        KinematicReplay,
        add_replay_writer,
        replay_trajectory,
        run_probe,
        scripted_states,
    )
    from nil_ext.tasks.mdp import imitation_term

    cfg = load_cfg("NIL-Talos-Walk", "env_cfg_entry_point", preset="cpu-smoke", num_envs=2)
    cfg.actions.joint.scale = {"leg_.*": 0.5, "torso_.*|arm_.*": 0.25}  # one per joint pattern, as overrides give it
    cfg.play_mode()
    cfg.set_reference(None)
    add_replay_writer(cfg)
    env = ManagerBasedRLEnv(cfg)
    try:
        assert env.action_manager.total_action_dim == 28
        robot, term = env.scene["robot"], env.action_manager.get_term("joint")
        states = scripted_states(imitation_term(env).bundle, robot.joint_names, robot.data.default_root_pose.torch[0],
                                 robot.data.default_joint_pos.torch[0], robot.data.joint_pos_limits.torch[0])
        trajectory = replay_trajectory(states, 4, env.step_dt)
        replay = KinematicReplay(env, trajectory)
        obs, _ = env.reset()
        for _ in range(3):  # the targets of step k are the replayed joints of frame k
            obs, *_ = env.step(replay(obs["policy"]))
        wanted = trajectory.joint_pos[2][term._joint_ids].expand(2, -1)
        assert wanted.sub(robot.data.default_joint_pos.torch[:, term._joint_ids]).abs().max() > 0.02  # the gait has begun
        torch.testing.assert_close(term.processed_actions, wanted, atol=1e-5, rtol=0)
        results = {r.name: r for r in run_probe(env, steps=8, names=("reference", "standing"))}
        assert results["reference"].iou_mean > 0.95 and results["reference"].iou_mean > results["standing"].iou_mean
    finally:
        env.close()


@pytest.mark.slow
def test_probe_script_ranks_the_a1_walk_reward(tmp_path, menagerie_available):
    """The A1 walk reward (cpu-smoke: IoU + penalties) over a whole evaluation episode ranks the reference above half
    speed above standing above random actions (measured: see README, "Probing the reward")."""
    out = tmp_path / "probe.json"
    cmd = [sys.executable, str(ROOT / "scripts" / "probe_reward.py"), "--task", "NIL-A1-Walk", "--preset", "cpu-smoke",
           "--json", str(out)]
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=dict(os.environ), timeout=1200)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(out.read_text())
    returns = {r["name"]: r["return_mean"] for r in report["results"]}
    assert returns["reference"] > returns["half_speed"] > returns["standing"] > returns["random"], returns
    assert "| reference |" in run.stdout
