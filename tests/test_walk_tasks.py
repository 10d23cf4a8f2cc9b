"""The NIL walk tasks: each builds, resets and steps on CPU with its reward terms wired to the camera."""

import inspect

import numpy as np
import pytest
import torch

import nil_ext.tasks  # noqa: F401  (registers the task ids)
from nil_ext.reference.errors import BundleError
from nil_ext.task_loading import load_cfg
from nil_ext.tasks import NIL_TASKS
from nil_ext.tasks.mdp import imitation_term


def term_values(env) -> dict[str, torch.Tensor]:
    """Each active reward term's value of the last step per env, before its weight, in the paper's per-step units:
    the terms recomputed from the command's render of that step (the stateful video and air-time terms' values as
    they hold them: calling them again would advance their state). A weight of 0 reads 0, as Isaac Lab skips the
    term (the air-time term refuses a robot that is not a biped, or a reference that does not cycle)."""
    manager, values = env.reward_manager, {}
    for name in manager.active_terms:
        cfg = manager.get_term_cfg(name)
        if cfg.weight == 0:
            values[name] = torch.zeros(env.num_envs)
        elif name == "video":
            score = cfg.func.score
            values[name] = score.held if score is not None else torch.zeros(env.num_envs)
        elif name == "air_time":
            values[name] = cfg.func.held
        else:
            values[name] = cfg.func(env, **cfg.params) * env.step_dt
    return values


def weighted_sum(env, values: dict[str, torch.Tensor]) -> torch.Tensor:
    """R_t from the terms' values and weights."""
    return sum(env.reward_manager.get_term_cfg(name).weight * value for name, value in values.items())


def make_env(task_id: str, num_envs: int = 2, reference: str | None = None):
    from isaaclab.envs import ManagerBasedRLEnv

    cfg = load_cfg(task_id, "env_cfg_entry_point", preset="cpu-smoke", num_envs=num_envs)
    cfg.set_reference(reference)
    return ManagerBasedRLEnv(cfg)


@pytest.fixture(scope="module")
def launched():
    """One kit-less launch for the module (the runtime Newton needs, nothing else)."""
    from isaaclab.app import launch_simulation

    from nil_ext.tasks.walk.walk_env_cfg import walk_env_cfg

    with launch_simulation(walk_env_cfg("h1", "cpu-smoke"), {}):
        yield


@pytest.mark.parametrize("task_id", sorted(NIL_TASKS))
def test_task_builds_resets_and_steps(task_id, launched, menagerie_available):
    env = make_env(task_id)
    try:
        obs, _ = env.reset()
        assert obs["policy"].shape[0] == 2 and torch.isfinite(obs["policy"]).all()
        actions = torch.zeros(2, env.action_manager.total_action_dim)
        for _ in range(5):
            obs, reward, terminated, truncated, extras = env.step(actions)
        assert reward.shape == (2,) and torch.isfinite(reward).all()
        # the env's reward is the paper's R_t (Isaac Lab's dt scaling undone), term by term
        terms = term_values(env)
        assert torch.allclose(reward, weighted_sum(env, terms), atol=1e-4)
        for name in ("iou", "torque", "tilt"):
            assert torch.isfinite(terms[name]).all(), name
        assert (terms["iou"] > 0.2).all(), "standing at the start pose should overlap the reference's start"
        if env.cfg.rewards.silhouette.weight != 0:  # the walk profile: centred where the reference starts
            assert (terms["silhouette"] > 0.5).all()
        assert (imitation_term(env).time_steps == 5).all()
        assert not terminated.any()
        if env.cfg.robot_name == "talos":  # its policy_joints: the grippers and head hold their start pose
            robot = env.scene["robot"]
            held = [i for i, n in enumerate(robot.joint_names) if n.startswith(("gripper", "head"))]
            assert env.action_manager.total_action_dim == 28 and len(held) == 16
            drift = (robot.data.joint_pos.torch - robot.data.default_joint_pos.torch)[:, held].abs().max()
            assert drift < 0.05, drift
    finally:
        env.close()


def test_alive_and_silhouette_terms_join_the_reward_when_weighted(launched, menagerie_available):
    """The two terms beyond the paper: 0 in the paper's profile, added to R_t when given a weight (train.py
    --reward); alive reads 0 on the step an env falls."""
    from isaaclab.envs import ManagerBasedRLEnv

    from nil_ext.task_loading import set_reward_weights

    cfg = load_cfg("NIL-H1-Walk", "env_cfg_entry_point", preset="cpu-smoke", num_envs=2, profile="paper")
    assert cfg.rewards.alive.weight == 0 and cfg.rewards.silhouette.weight == 0
    cfg.set_reference(None)
    set_reward_weights(cfg, ["alive=0.5", "silhouette=2"])
    env = ManagerBasedRLEnv(cfg)
    try:
        env.reset()
        actions = torch.zeros(2, env.action_manager.total_action_dim)
        for _ in range(3):
            _, reward, terminated, _, _ = env.step(actions)
        terms = term_values(env)
        assert not terminated.any() and torch.allclose(terms["alive"], torch.ones(2))
        assert (terms["silhouette"] > 0.9).all(), "standing at the start pose, centred where the reference is"
        paper = weighted_sum(env, {k: v for k, v in terms.items() if k not in ("alive", "silhouette")})
        assert torch.allclose(reward, paper + 0.5 * terms["alive"] + 2 * terms["silhouette"], atol=1e-4)
        robot = env.scene["robot"]
        pose = robot.data.root_pose_w.torch.clone()
        pose[0, 2] = 0.2  # env 0 drops below the fall height
        robot.write_root_pose_to_sim(pose[:1], env_ids=torch.tensor([0]))
        _, reward, terminated, _, _ = env.step(actions)
        assert terminated.tolist() == [True, False]
        assert term_values(env)["alive"].tolist() == [0.0, 1.0]
    finally:
        env.close()


def test_reference_of_another_robot_is_refused(launched, menagerie_available):
    from nil_ext.scene.camera import FollowCameraCfg
    from nil_ext.tasks.references import ensure_scripted_reference

    a1_reference = ensure_scripted_reference("a1", FollowCameraCfg(width=64, height=64).to_dict(0.28))
    with pytest.raises(BundleError) as err:
        make_env("NIL-H1-Walk", reference=str(a1_reference))
    assert "a1" in str(err.value) and "h1" in str(err.value)


def test_video_term_runs_in_the_env_and_leaves_the_bundle_on_disk_as_it_was(launched, menagerie_available, tmp_path):
    """The video stream end to end, with a tiny random TimeSformer (plumbing; IoU carries the meaning tests); the
    reference embeddings are computed at env creation, never written into the bundle."""
    import shutil

    from isaaclab.envs import ManagerBasedRLEnv

    from nil_ext.errors import ConfigError
    from nil_ext.reference.bundle import ReferenceBundle
    from nil_ext.rewards import NilRewardCfg
    from nil_ext.rewards.tiny_models import save_tiny_timesformer

    cfg = load_cfg("NIL-H1-Walk", "env_cfg_entry_point", preset="cpu-smoke", num_envs=2)
    cfg.set_reference(None)
    reference = tmp_path / "reference"
    shutil.copytree(cfg.imitation.reference, reference)
    cfg.imitation.reference = str(reference)
    files_before = {f.name: f.read_bytes() for f in reference.iterdir()}
    encoder = save_tiny_timesformer(tmp_path / "tiny_timesformer", image_size=64)
    cfg.imitation.reward = NilRewardCfg(encoder_id=str(encoder), image_size=64)
    with pytest.raises(ConfigError, match="video term compares colour clips and this camera renders masks only"):
        ManagerBasedRLEnv(cfg)  # the CPU presets' camera renders no colour
    cfg.scene.camera.data_types = ["rgb", "instance_segmentation"]  # as the message says
    env = ManagerBasedRLEnv(cfg)
    try:
        env.reset()
        for _ in range(3):
            _, reward, *_ = env.step(torch.zeros(2, env.action_manager.total_action_dim))
        video = term_values(env)["video"]
        assert torch.isfinite(reward).all() and (video.abs() <= 1.0 + 1e-5).all() and (video != 0).all()
    finally:
        env.close()
    assert {f.name: f.read_bytes() for f in reference.iterdir()} == files_before
    assert not ReferenceBundle.load(reference).embeddings


def test_camera_speed_curriculum_moves_the_reference_camera(launched, menagerie_available):
    """reference_path starts with a slow camera; finished episodes that keep up raise its speed, others lower it."""
    from isaaclab.envs import ManagerBasedRLEnv

    from nil_ext.tasks import mdp
    from nil_ext.tasks.walk.walk_env_cfg import CAMERA_START_SPEED

    cfg = load_cfg("NIL-H1-Walk", "env_cfg_entry_point", preset="cpu-smoke", num_envs=2)
    assert cfg.imitation.camera_speed == CAMERA_START_SPEED and cfg.curriculum.camera_speed is not None
    judged = load_cfg("NIL-H1-Walk", "env_cfg_entry_point", preset="cpu-smoke", camera_speed_curriculum=False)
    assert judged.imitation.camera_speed == 1.0 and judged.curriculum is None
    played = load_cfg("NIL-H1-Walk", "env_cfg_entry_point", preset="cpu-smoke")
    played.play_mode()  # Isaac Lab's PLAY convention, as play.py and evaluate.py use it: the reference's own camera
    assert played.imitation.camera_speed == 1.0 and played.curriculum is None

    cfg.set_reference(None)
    env = ManagerBasedRLEnv(cfg)
    try:
        env.reset()
        state = imitation_term(env)
        standing = torch.zeros(2, env.action_manager.total_action_dim)
        state.camera_speed.fill_(0.0)
        for _ in range(30):
            env.step(standing)
        still_iou = state.mask_iou().clone()  # a still camera: a standing robot stays in view
        state.camera_speed.fill_(1.0)
        for _ in range(30):
            env.step(standing)
        assert (state.mask_iou() < still_iou - 0.2).all(), "at full speed the camera leaves a standing robot"

        state.camera_speed.fill_(0.5)
        env.reset()  # forced, mid-episode (as the closing side-by-side episode does): no episode ended, no vote
        assert state.camera_speed.item() == 0.5

        round_step = inspect.signature(mdp.camera_speed_curriculum).parameters["round_step"].default
        step = round_step / env.num_envs  # one episode's vote
        travel = float(state.camera_travel[-1, :2] @ state.travel_dir)  # the reference camera's whole way
        robot = env.scene["robot"]
        start = robot.data.default_root_pose.torch.clone()
        start[:, :3] += env.scene.env_origins

        def vote(speed, finished=(True, True), advanced=(0.0, 0.0), ran=(True, True)):
            """The speed after both episodes end: reference finished or not (or the env never ran), robot moved this
            far ahead (m)."""
            state.camera_speed.fill_(speed)
            frames = [(state.num_ref_frames if f else 30) if r else 0 for f, r in zip(finished, ran, strict=True)]
            state.time_steps.copy_(torch.tensor(frames))
            pose = start.clone()
            pose[:, :2] += torch.tensor(advanced)[:, None] * state.travel_dir
            robot.write_root_pose_to_sim_index(root_pose=pose)
            return mdp.camera_speed_curriculum(env, torch.tensor([0, 1], dtype=torch.int32)).item()

        env.reset_buf.fill_(True)  # the episodes ended (fell or finished the reference) in the last step
        env.cfg.imitation.camera_speed = 0.0  # the speed the task started at, below which votes never take it
        assert vote(0.0) == pytest.approx(2 * step), "standing under a still camera keeps up"
        assert vote(1.0) == pytest.approx(1.0 - 2 * step), "standing under a moving camera falls behind"
        assert vote(0.5, advanced=(0.5 * travel, 0.1 * travel)) == pytest.approx(0.5)  # one up, one down
        band = 0.09 / travel  # the camera 9 cm ahead: between behind and keeping up, no vote
        assert vote(band) == pytest.approx(band)
        assert vote(0.2, finished=(False, True), advanced=(travel, travel)) == pytest.approx(0.2)  # fell; kept up
        # a fall votes down, clamped at a still camera; an env that has not run yet does not vote
        assert vote(0.0, finished=(False, False), ran=(True, False)) == 0.0
        env.cfg.imitation.camera_speed = 0.3
        assert vote(0.3, finished=(False, True), ran=(True, False)) == pytest.approx(0.3), "never below its start"
        assert vote(0.3, advanced=(travel, travel), ran=(True, False)) == pytest.approx(0.3 + step)
        state.load_state_dict({"camera_speed": 0.3})  # what a resumed run's checkpoint brings back
        assert state.state_dict() == {"camera_speed": pytest.approx(0.3)}
    finally:
        env.close()


def standing_then_env0_base(env, change):
    """A standing policy that, at its 4th step, rewrites env 0's base pose with ``change(pose)`` (in place)."""
    robot, calls = env.scene["robot"], []

    def policy(obs):
        calls.append(1)
        if len(calls) == 4:
            pose = robot.data.root_pose_w.torch.clone()
            change(pose[0])
            robot.write_root_pose_to_sim_index(root_pose=pose)
        return torch.zeros(obs.shape[0], env.action_manager.total_action_dim)

    return policy


def test_evaluation_counts_the_steps_after_a_fall_as_zero_imitation(launched, menagerie_available):
    """A fall ends imitation: IoU is averaged over the whole episode, so falling early cannot score the
    well-aligned first frames only (the env reward stops summing the same way)."""
    from nil_ext.evaluation.rollout import run_episode

    env = make_env("NIL-A1-Walk")
    try:
        # env 0's base put on the ground at step 4: the next step terminates it (fell)
        stats = run_episode(env, standing_then_env0_base(env, lambda pose: pose.__setitem__(2, 0.02)), max_steps=30)
        assert stats.fell.tolist() == [True, False]
        assert stats.mean_iou[1] > 0.2, "standing at the start pose overlaps the reference's start"
        assert 0 < stats.mean_iou[0] <= 4 / 30, "after its fall env 0's steps count 0 (at most 4 of 30 counted)"
        assert stats.env_reward[0] < stats.env_reward[1]
    finally:
        env.close()


def test_evaluation_ends_an_env_whose_simulation_went_nan_as_a_fall_and_keeps_its_means(launched, menagerie_available):
    """A NaN from the simulator (the physics blew up in one env) ends that env's episode like a fall, marked broken,
    with what it scored before; the table's means stay numbers (they read NaN before: BalanceBoard, 2026-11-26)."""
    from nil_ext.evaluation.rollout import broken_episodes, run_episode

    env = make_env("NIL-A1-Walk")
    try:
        nan_base = lambda pose: pose[:3].fill_(float("nan"))  # noqa: E731
        stats = run_episode(env, standing_then_env0_base(env, nan_base), max_steps=20)
        assert stats.broken.tolist() == [True, False] and stats.fell.tolist() == [True, False]
        assert broken_episodes([stats]) == 1
        for values in (stats.env_reward, stats.mean_iou, stats.forward_speed, stats.task_return, stats.mean_pose_iou,
                       stats.heading_error_deg, *stats.term_returns.values()):
            assert np.isfinite(values).all()
        assert 0 < stats.mean_iou[0] <= 4 / 20 and stats.mean_iou[1] > 0.2
    finally:
        env.close()


def test_the_cadence_ratio_compares_the_agent_s_stride_with_the_reference_s():
    """evaluate.py's cadence column: the reference's gait period over the agent's, both read from silhouettes. An
    agent at the reference's stride reads 1, one stepping twice as slowly 0.5, one that stands (or falls within a
    stride) nan; a reference that does not repeat gives no column."""
    from reward_helpers import render_walker

    from nil_ext.evaluation.rollout import cadence_ratios

    _, reference = render_walker(num_frames=100, period=18)
    _, slow = render_walker(num_frames=100, period=36)
    agents = [torch.stack([reference[t], slow[t], reference[0]]) for t in range(100)]  # (N=3, h, w) per step
    ratios = cadence_ratios(agents, torch.tensor([100, 100, 100]), reference, fps=25.0)
    assert ratios[0] == pytest.approx(1.0, abs=0.03) and ratios[1] == pytest.approx(0.5, abs=0.03)
    assert np.isnan(ratios[2])
    fell = cadence_ratios(agents, torch.tensor([100, 12, 100]), reference, fps=25.0)
    assert np.isnan(fell[1]), "12 steps up: no repeat of a 36-step stride to see"
    assert cadence_ratios(agents, torch.tensor([100] * 3), reference[:1].expand(100, -1, -1), fps=25.0) is None


def test_low_pass_filter_moves_the_pd_targets_part_of_the_way(launched, menagerie_available):
    from isaaclab.envs import ManagerBasedRLEnv

    cfg = load_cfg("NIL-A1-Walk", "env_cfg_entry_point", preset="cpu-smoke", num_envs=2)
    cfg.actions.joint.low_pass_alpha = 0.3
    cfg.set_reference(None)
    env = ManagerBasedRLEnv(cfg)
    try:
        env.reset()
        term = env.action_manager.get_term("joint")
        rest = env.scene["robot"].data.default_joint_pos.torch.clone()
        full = rest + cfg.actions.joint.scale  # the targets of an all-ones action
        ones = torch.ones(2, env.action_manager.total_action_dim)
        env.step(ones)
        assert torch.allclose(term.processed_actions, rest + 0.3 * (full - rest), atol=1e-5)
        env.step(ones)
        assert torch.allclose(term.processed_actions, rest + 0.51 * (full - rest), atol=1e-5)
        env.reset()
        assert torch.allclose(term.processed_actions, rest, atol=1e-5), "a reset restarts from the start pose"
    finally:
        env.close()


def test_reach_widens_from_reach_from_to_each_joints_scale_and_resumes(launched, menagerie_available):
    from isaaclab.envs import ManagerBasedRLEnv

    from nil_ext.agents.vec_env import IsaacLabVecEnv

    cfg = load_cfg("NIL-A1-Walk", "env_cfg_entry_point", preset="cpu-smoke", num_envs=2)
    cfg.actions.joint.scale = {".*_hip_joint": 0.1, ".*_thigh_joint|.*_calf_joint": 0.5}
    cfg.actions.joint.reach_from, cfg.actions.joint.reach_steps = 0.2, 40
    cfg.set_reference(None)
    env = ManagerBasedRLEnv(cfg)
    try:
        vec = IsaacLabVecEnv(env)
        term = env.action_manager.get_term("joint")
        hips = torch.tensor(["hip" in name for name in term._joint_names])
        rest = env.scene["robot"].data.default_joint_pos.torch[:, term._joint_ids].clone()
        ones = torch.ones(2, env.action_manager.total_action_dim)

        def reach_of_ones() -> torch.Tensor:  # each joint's PD target offset for an all-ones action
            env.step(ones)
            return (term.processed_actions - rest)[0]

        start = reach_of_ones()
        assert torch.allclose(start[hips], torch.tensor(0.1)), "a joint's scale below reach_from stays"
        assert torch.allclose(start[~hips], torch.tensor(0.2)), "the others start at reach_from"
        for _ in range(18):
            env.step(ones)
        assert torch.allclose(reach_of_ones()[~hips], torch.tensor(0.35)), "half way after half the steps"
        assert vec.state_dict()["actions/joint"] == {"reach_step": 20}
        env.reset()
        assert env.extras["log"]["Curriculum/action_reach"] == pytest.approx(0.5)  # TensorBoard's scalar
        vec.load_state_dict({"actions/joint": {"reach_step": 40}})  # a resumed run widens on from where it stopped
        full = reach_of_ones()
        assert torch.allclose(full[~hips], torch.tensor(0.5)) and torch.allclose(full[hips], torch.tensor(0.1))
    finally:
        env.close()
    played = load_cfg("NIL-A1-Walk", "env_cfg_entry_point", preset="cpu-smoke", num_envs=2)
    played.actions.joint.reach_from = 0.2
    played.play_mode()
    assert played.actions.joint.reach_from is None, "play and evaluation act at the full scale"


def test_a_waiting_reach_starts_widening_once_the_episodes_end_standing(launched, menagerie_available):
    """reach_waits (SitChair's default): the action_reach curriculum starts the widening after a round's worth of
    episodes net ended standing; from then on it follows its schedule, falls or not."""
    from isaaclab.envs import ManagerBasedRLEnv
    from isaaclab.envs.mdp import time_out
    from isaaclab.managers import TerminationTermCfg

    from nil_ext.agents.vec_env import IsaacLabVecEnv
    from nil_ext.tasks.mdp.actions import _has_reach_curriculum

    cfg = load_cfg("NIL-A1-Walk", "env_cfg_entry_point", preset="cpu-smoke", num_envs=2)
    cfg.actions.joint.scale = {".*_hip_joint": 0.1, ".*_thigh_joint|.*_calf_joint": 0.5}
    cfg.actions.joint.reach_from, cfg.actions.joint.reach_steps, cfg.actions.joint.reach_waits = 0.2, 40, True
    cfg.terminations.reference_end = TerminationTermCfg(func=time_out, time_out=True)  # episodes of 3 steps
    cfg.episode_length_s = 2.5 * cfg.sim.dt * cfg.decimation
    cfg.set_reference(None)
    sit = load_cfg("NIL-H1-SitChair", "env_cfg_entry_point", preset="cpu-smoke")
    assert _has_reach_curriculum(sit) and sit.actions.joint.reach_waits, "SitChair's reach waits by default"
    hang = load_cfg("NIL-H1-HangBar", "env_cfg_entry_point", preset="cpu-smoke")
    assert _has_reach_curriculum(hang) and hang.actions.joint.reach_waits and not hang.actions.joint.to_limits
    assert not _has_reach_curriculum(load_cfg("NIL-H1-BalanceBoard", "env_cfg_entry_point", preset="cpu-smoke"))
    env = ManagerBasedRLEnv(cfg)
    try:
        vec = IsaacLabVecEnv(env)
        term = env.action_manager.get_term("joint")
        legs = torch.tensor(["hip" not in name for name in term._joint_names])
        ones = torch.ones(2, env.action_manager.total_action_dim)
        env.reset()
        fell = env.termination_manager.get_term_cfg("fell")
        height = fell.params["minimum_height"]
        fell.params["minimum_height"] = 10.0  # every episode falls at its first step
        for _ in range(20):
            env.step(ones)
        assert torch.allclose(term._scale[0, legs], torch.tensor(0.2)), "falling episodes keep the reach waiting"
        assert term.reach == 0.0 and float(term.standing_vote) == 0.0
        fell.params["minimum_height"] = height
        for _ in range(3):  # both episodes run to their end at the third step: a round's worth, the widening starts
            env.step(ones)
        assert float(term.standing_vote) == 1.0
        fell.params["minimum_height"] = 10.0  # from then on falls do not stop it
        for _ in range(17):
            env.step(ones)
        assert term.reach == pytest.approx(0.5) and torch.allclose(term._scale[0, legs], torch.tensor(0.35))
        assert torch.allclose(term._scale[0, ~legs], torch.tensor(0.1)), "a joint's scale below reach_from stays"
        assert env.extras["log"]["Curriculum/action_reach"] == pytest.approx(0.5)  # TensorBoard's scalar
        assert vec.state_dict()["actions/joint"] == {"reach": pytest.approx(0.5), "standing_vote": 1.0}
        vec.load_state_dict({"actions/joint": {"reach": 1.0, "standing_vote": 1.0}})  # a resume goes on from there
        assert torch.allclose(term._scale[0, legs], torch.tensor(0.5))
    finally:
        env.close()


def test_the_scripted_a1_gait_played_open_loop_walks_forward(launched, menagerie_available):
    """The scripted reference glides forward kinematically; its leg motion, played as PD targets in the simulator,
    must push the robot forward too, or imitating the legs fights following the camera (the A1 gait once had its
    calves in the humanoids' sign and walked backward)."""
    from isaaclab.envs import ManagerBasedRLEnv

    from nil_ext.reference.scripted import GAITS, gait_offsets

    # The paper's 100 Hz: the gait's targets played at the reference's own rate (25 Hz holds each for 40 ms)
    cfg = load_cfg("NIL-A1-Walk", "env_cfg_entry_point", preset="cpu-smoke", num_envs=2, profile="paper")
    cfg.set_reference(None)
    env = ManagerBasedRLEnv(cfg)
    try:
        env.reset()
        robot = env.scene["robot"]
        steps = round(1.0 / env.step_dt)  # 1 s: the swing ramps in over the first 0.5 s
        times = torch.arange(1, steps + 1) * env.step_dt
        actions = gait_offsets(GAITS["a1"], robot.joint_names, times) / cfg.actions.joint.scale
        start = robot.data.root_pos_w.torch[:, 0].clone()
        for t in range(steps):
            env.step(actions[t].expand(2, -1))
        travelled = robot.data.root_pos_w.torch[:, 0] - start
        assert (travelled > 0.1).all(), f"open-loop gait moved {travelled.tolist()} m in 1 s"
    finally:
        env.close()


@pytest.mark.slow  # ~30-45 s of two envs; the suite passed 15 min (tests/test_reference_retiming.py keeps the retiming)
def test_a_lower_control_rate_retimes_the_reference_and_scores_the_same_seconds(launched, menagerie_available):
    """control_hz=50: four physics steps per control step, the reward still the paper's per-step R_t, the 100 fps
    scripted reference retimed in memory (every other frame, the bundle on disk untouched), and an evaluation
    episode still 3 s of A1 scored in the paper's 10 ms units."""
    import math

    import numpy as np
    from isaaclab.envs import ManagerBasedRLEnv

    from nil_ext.evaluation.env_reward import QUADRUPED_TARGET_VELOCITY
    from nil_ext.evaluation.rollout import run_episode, standing_policy
    from nil_ext.reference.bundle import ReferenceBundle

    cfg = load_cfg("NIL-A1-Walk", "env_cfg_entry_point", preset="cpu-smoke", num_envs=2, control_hz=50)
    cfg.set_reference(None)
    on_disk = ReferenceBundle.load(cfg.imitation.reference)
    assert on_disk.fps == 100
    env = ManagerBasedRLEnv(cfg)
    try:
        assert env.step_dt == pytest.approx(0.02) and cfg.decimation == 4
        env.reset()
        _, reward, *_ = env.step(torch.zeros(2, env.action_manager.total_action_dim))
        state = imitation_term(env)
        assert torch.allclose(reward, weighted_sum(env, term_values(env)), atol=1e-4)
        assert state.bundle.fps == 50 and state.num_ref_frames == (on_disk.num_frames + 1) // 2
        np.testing.assert_array_equal(state.bundle.masks, on_disk.masks[::2])
        stats = run_episode(env, standing_policy(env.action_manager.total_action_dim))
        # standing still scores exp(-5 |0 - v*|) for each of 300 paper steps, whatever the control rate
        standing = 300 * math.exp(-5 * math.hypot(*QUADRUPED_TARGET_VELOCITY))
        assert stats.env_reward == pytest.approx([standing, standing], abs=0.5)
        assert state.time_steps.max() == 150  # 3 s at 50 Hz
    finally:
        env.close()
    assert ReferenceBundle.load(cfg.imitation.reference).fps == 100


def test_a_control_rate_that_does_not_divide_the_physics_is_refused():
    with pytest.raises(ValueError, match="does not divide the 200 Hz physics; use one of 200, 100, 50"):
        load_cfg("NIL-A1-Walk", "env_cfg_entry_point", preset="cpu-smoke", control_hz=30)


def test_the_imitation_command_holds_the_state_and_resets_only_the_reset_envs(launched, menagerie_available):
    """The imitation state is the ``imitation`` term of Isaac Lab's command manager, not an env attribute nor a
    reward term: evaluation, the agents' vec env and the curriculum's checkpoint state reach it from there, its
    command is the phase the policy observes, and its ``reset(env_ids)`` (Isaac Lab's, on env.reset) restarts only
    those envs."""
    from nil_ext.agents.vec_env import IsaacLabVecEnv
    from nil_ext.evaluation.rollout import run_episode, standing_policy
    from nil_ext.tasks.mdp import ImitationCommand

    env = make_env("NIL-A1-Walk", num_envs=3)
    try:
        term = imitation_term(env)
        assert isinstance(term, ImitationCommand) and env.command_manager.get_term("imitation") is term
        assert not [name for name, value in vars(env).items() if isinstance(value, ImitationCommand)]
        assert "imitation" not in env.reward_manager.active_terms, "no reward term that returns 0"
        obs_terms = env.observation_manager.active_terms["policy"]
        assert obs_terms == ["joint_pos", "joint_vel", "projected_gravity", "base_lin_vel", "base_ang_vel", "phase",
                             "last_action", "reference"]  # the default (track) profile's policy input
        assert env.observation_manager.group_obs_term_dim["policy"][obs_terms.index("phase")] == (1,)

        vec_env = IsaacLabVecEnv(env)  # resets every env
        assert vec_env.state_dict() == {"imitation": {"camera_speed": pytest.approx(0.3)}}
        vec_env.load_state_dict({"imitation": {"camera_speed": 0.5}})  # a resumed run's curriculum
        assert term.camera_speed.item() == 0.5

        standing = torch.zeros(3, env.action_manager.total_action_dim)
        for _ in range(5):
            env.step(standing)
        assert term.time_steps.tolist() == [5, 5, 5]
        env.reset(env_ids=torch.tensor([1], dtype=torch.int32))
        assert term.time_steps.tolist() == [5, 0, 5]
        assert term.camera_speed.item() == 0.5, "a reset that ended no episode moves no curriculum"
        env.step(standing)
        assert term.time_steps.tolist() == [6, 1, 6]
        phase = torch.tensor([6.0, 1.0, 6.0]) / (term.num_ref_frames - 1)
        torch.testing.assert_close(env.command_manager.get_command("imitation")[:, 0], phase)

        stats = run_episode(env, standing_policy(env.action_manager.total_action_dim), record=True, max_steps=3)
        assert len(stats.frames) == 3 and stats.terms["total"].shape == (3,) and (stats.mean_iou > 0).all()
    finally:
        env.close()


def test_a_reward_weight_changes_its_term_and_nothing_else(launched, menagerie_available):
    """beta is the ``iou`` term's weight: halving it halves that term's share of the reward and leaves every other
    term, and the reward's other part, as they were (two runs from the same seed); the reward stays R_t. The blurred
    and the motion IoU and the transport are on, so that their reading of the command's masks runs in a real env
    too."""
    from isaaclab.envs import ManagerBasedRLEnv

    def run(iou_weight: float):
        cfg = load_cfg("NIL-H1-Walk", "env_cfg_entry_point", preset="cpu-smoke", num_envs=2)
        cfg.seed = 7
        cfg.rewards.iou.weight = iou_weight
        cfg.rewards.soft_iou.weight = cfg.rewards.motion_iou.weight = cfg.rewards.transport.weight = 1.0
        cfg.set_reference(None)
        env = ManagerBasedRLEnv(cfg)
        try:
            env.reset(seed=7)
            term, dt = imitation_term(env), env.step_dt
            rewards, shares, raw_iou = [], [], []
            for _ in range(4):
                _, reward, *_ = env.step(torch.zeros(2, env.action_manager.total_action_dim))
                assert torch.allclose(reward, weighted_sum(env, term_values(env)), atol=1e-5)
                rewards.append(reward.clone())
                raw_iou.append(term.mask_iou().clone())
                # each term's weighted value per step (Isaac Lab reports it per second)
                shares.append({name: torch.tensor([dict(env.reward_manager.get_active_iterable_terms(i))[name][0] * dt
                                                   for i in range(2)]) for name in env.reward_manager.active_terms})
            weights = {name: env.reward_manager.get_term_cfg(name).weight for name in env.reward_manager.active_terms}
            return torch.stack(rewards), shares, torch.stack(raw_iou), weights
        finally:
            env.close()

    reward_1, shares_1, iou_1, weights_1 = run(1.0)
    reward_half, shares_half, iou_half, weights_half = run(0.5)
    assert weights_half == {**weights_1, "iou": 0.5} and weights_1["iou"] == 1.0
    torch.testing.assert_close(iou_half, iou_1)  # the same run: only the weight differs
    for one, half in zip(shares_1, shares_half, strict=True):
        torch.testing.assert_close(half["iou"], 0.5 * one["iou"])
        for name in set(one) - {"iou"}:
            torch.testing.assert_close(half[name], one[name], msg=name)
    torch.testing.assert_close(reward_1 - reward_half, 0.5 * iou_1)
    assert (iou_1 > 0.2).all()
    soft, moved, near = (torch.stack([share[name] for share in shares_1])
                         for name in ("soft_iou", "motion_iou", "transport"))
    assert (soft >= iou_1 - 1e-5).all() and (soft <= 1).all()  # blurred masks share at least the overlap
    assert ((moved >= 0) & (moved <= 1)).all()
    assert ((near > 0) & (near <= 1)).all()  # both robots in view: some distance, paid


def test_feet_contact_comes_from_the_contact_sensor(launched, menagerie_available):
    """The foot-slip penalty's and the air-time term's contact is Isaac Lab's contact sensor (Newton, CPU): a
    standing robot's feet touch the ground, a foot lifted off it does not; the air-time term, weighted, reads the
    reference's swing from its masks (0.4 of the scripted walk's 0.71 s stride) and pays nothing to a robot with
    both feet down or both up."""
    from isaaclab.envs import ManagerBasedRLEnv

    cfg = load_cfg("NIL-H1-Walk", "env_cfg_entry_point", preset="cpu-smoke", num_envs=2)
    cfg.set_reference(None)
    cfg.rewards.air_time.weight = 1.0
    env = ManagerBasedRLEnv(cfg)
    try:
        env.reset()
        term = imitation_term(env)
        assert term.contact_sensor is env.scene["feet_contact"]
        standing = torch.zeros(2, env.action_manager.total_action_dim)
        for _ in range(20):
            env.step(standing)
        assert term.feet_in_contact().all()
        air_time = env.reward_manager.get_term_cfg("air_time").func
        assert air_time.swing_s == pytest.approx(0.4 * 0.714, rel=0.05)
        assert torch.allclose(air_time.mode_time, torch.full((2, 2), 20 * env.step_dt))
        robot = env.scene["robot"]
        pose = robot.data.root_pose_w.torch.clone()
        pose[0, 2] += 0.3  # env 0 in the air
        robot.write_root_pose_to_sim_index(root_pose=pose)
        env.step(standing)
        assert term.feet_in_contact().tolist() == [[False, False], [True, True]]
        assert air_time.mode_time[0].tolist() == pytest.approx([env.step_dt] * 2)  # a new mode for env 0's feet
        assert (term_values(env)["air_time"] == 0).all()
    finally:
        env.close()


def test_pace_and_heading_refuse_a_reference_without_a_camera_path(launched, menagerie_available, tmp_path):
    """A bundle with no camera path (a clip whose camera could not be followed), trained with the camera following
    the agent: the terms and the observation that need the path stop the run in one line naming the switch, not with
    a traceback."""
    from isaaclab.envs import ManagerBasedRLEnv

    from nil_ext.assets.robot_cfg import robot_model_info
    from nil_ext.errors import ConfigError
    from nil_ext.reference.bundle import ReferenceBundle
    from nil_ext.tasks.mdp import reference_in_base_frame
    from nil_ext.tasks.references import ensure_scripted_reference
    from nil_ext.tasks.walk.walk_env_cfg import walk_env_cfg

    cfg = walk_env_cfg("h1", "cpu-smoke", num_envs=1, camera_mode="follow_agent", profile="imitate")
    demo = ensure_scripted_reference("h1", cfg.imitation.camera.to_dict(robot_model_info("h1").base_pos[2]))
    bundle = ReferenceBundle.load(demo)
    bundle.camera_path = bundle.camera_path_confidence = None
    no_path = bundle.save(tmp_path / "no_path")
    cfg.set_reference(str(no_path))
    env = ManagerBasedRLEnv(cfg)
    try:
        env.reset()
        with pytest.raises(ConfigError, match="needs the reference camera's path.*--profile walk"):
            env.step(torch.zeros(1, env.action_manager.total_action_dim))
        # the default (track) profile's observation refuses the same way, when the env sizes it
        with pytest.raises(ConfigError, match="observation needs the reference camera's path.*--profile walk"):
            reference_in_base_frame(env)
    finally:
        env.close()


def test_reference_path_replays_the_clip_s_own_camera_where_the_bundle_has_it(launched, menagerie_available,
                                                                             tmp_path):
    """A generated clip's camera stands, turns and tilts to keep the robot in view (the robot nears and grows): the
    bundle keeps that camera's own path (``eye_path``) and the task camera replays it, from the env's start, at the
    curriculum's share, instead of following the reference's robot at a fixed distance."""
    import math

    from isaaclab.envs import ManagerBasedRLEnv
    from isaaclab.utils.math import quat_apply

    from nil_ext.assets.robot_cfg import robot_model_info
    from nil_ext.reference.bundle import ReferenceBundle
    from nil_ext.tasks.references import ensure_scripted_reference
    from nil_ext.tasks.walk.walk_env_cfg import walk_env_cfg

    cfg = walk_env_cfg("h1", "cpu-smoke", num_envs=2)
    demo = ensure_scripted_reference("h1", cfg.imitation.camera.to_dict(robot_model_info("h1").base_pos[2]))
    bundle = ReferenceBundle.load(demo)
    ramp = np.linspace(0.0, 1.0, bundle.num_frames)
    # it stands where it started, turns 0.8 rad left and tilts 0.2 rad further down
    bundle.eye_path = np.column_stack([np.repeat(bundle.camera_path[:1], bundle.num_frames, 0), 0.2 * ramp])
    bundle.eye_path[:, 3] += 0.8 * ramp
    cfg.set_reference(str(bundle.save(tmp_path / "standing_camera")))
    env = ManagerBasedRLEnv(cfg)
    try:
        env.reset()
        term, camera = imitation_term(env), env.scene["camera"]
        start = env.scene["robot"].data.default_root_pose.torch[:, :3] + env.scene.env_origins
        term.camera_speed.fill_(0.5)
        standing = torch.zeros(2, env.action_manager.total_action_dim)
        for _ in range(20):
            env.step(standing)
        frame = term.frame_index
        assert (frame > 10).all()
        # the camera stays at the start's offset (the old follow camera would have travelled ~0.5 * 1.25 m/s)
        torch.testing.assert_close(camera.data.pos_w.torch, start + term.camera_offset, atol=1e-4, rtol=0.0)
        forward = quat_apply(camera.data.quat_w_world.torch, torch.tensor([[1.0, 0.0, 0.0]]).expand(2, 3))
        yaw = torch.atan2(forward[:, 1], forward[:, 0])
        share = frame.float() / (term.num_ref_frames - 1)  # the bundle's 100 fps retimed to the control rate
        expected = math.radians(cfg.imitation.camera.yaw_deg) + math.pi + 0.5 * 0.8 * share
        torch.testing.assert_close(torch.remainder(yaw - expected + math.pi, 2 * math.pi) - math.pi,
                                   torch.zeros(2), atol=1e-3, rtol=0.0)
        offset = term.camera_offset
        pitch = torch.asin(-forward[:, 2])
        expected = torch.atan2(offset[2], offset[:2].norm()) + 0.5 * 0.2 * share
        torch.testing.assert_close(pitch, expected, atol=1e-3, rtol=0.0)
    finally:
        env.close()


def test_the_track_and_clock_profiles_observe_the_reference_from_the_base(launched, menagerie_available):
    """``--profile track`` (and ``clock``, which adds a gait clock after it): four of the policy's inputs are the
    ground offset from the base to the reference's robot in the base's yaw frame and the reference's direction of
    travel in it, from the camera path alone.
    Standing, the reference walks away ahead; a base turned 90 degrees left sees it on its right and its heading
    at -90 degrees. The clock runs at the reference's stride, read from its masks (the scripted H1 gait: 1.4 Hz,
    17.86 control steps), and a reference that does not cycle is refused in one line."""
    import math

    from isaaclab.envs import ManagerBasedRLEnv
    from isaaclab.utils.math import quat_from_angle_axis

    from nil_ext.errors import ConfigError
    from nil_ext.tasks.mdp import reference_gait_clock
    from nil_ext.tasks.walk.walk_env_cfg import walk_env_cfg

    cfg = walk_env_cfg("h1", "cpu-smoke", num_envs=2, profile="clock")
    cfg.set_reference(None)
    env = ManagerBasedRLEnv(cfg)
    try:
        obs, _ = env.reset()
        manager, term = env.observation_manager, imitation_term(env)
        assert manager.active_terms["policy"][-2:] == ["reference", "gait_clock"]
        assert manager.group_obs_term_dim["policy"][-2:] == [(4,), (4,)]
        period = term.gait_period().frames
        assert abs(period - 25 / 1.4) < 0.3, period
        standing = torch.zeros(2, env.action_manager.total_action_dim)
        for _ in range(20):  # 0.8 s: the reference, starting from rest, is 0.2 m ahead at the curriculum's start
            obs, *_ = env.step(standing)
        phase = 2 * math.pi * term.time_steps.float() / period
        torch.testing.assert_close(obs["policy"][:, -4:], torch.stack(
            [phase.cos(), phase.sin(), (phase / 2).cos(), (phase / 2).sin()], -1), atol=1e-5, rtol=0.0)
        seen = obs["policy"][:, -8:-4]
        ahead = term.camera_speed * term.camera_travel[term.time_steps, :2] @ term.travel_dir
        assert (ahead > 0.1).all()
        torch.testing.assert_close(seen[:, 0], ahead, atol=0.05, rtol=0.0)  # ahead, within where the robot swayed
        assert seen[:, 1].abs().max() < 0.05 and (seen[:, 2] > 0.99).all()

        robot = env.scene["robot"]
        pose = robot.data.root_pose_w.torch.clone()
        yaw = torch.tensor([math.radians(90.0) + term.travel_yaw])
        pose[0, 3:] = quat_from_angle_axis(yaw, torch.tensor([[0.0, 0.0, 1.0]]))[0]  # env 0 turned left
        robot.write_root_pose_to_sim_index(root_pose=pose)
        obs, *_ = env.step(standing)
        turned = obs["policy"][0, -8:-4]
        assert abs(turned[0]) < 0.05 and turned[1] < -0.1, "the reference is on the turned base's right"
        torch.testing.assert_close(turned[2:], torch.tensor([0.0, -1.0]), atol=0.05, rtol=0.0)

        term.reference_masks = term.reference_masks[:1].expand_as(term.reference_masks)  # a robot that stands
        term._gait_period = None
        with pytest.raises(ConfigError, match="gait clock needs a reference whose robot repeats.*--profile track"):
            reference_gait_clock(env)
    finally:
        env.close()
