"""The whole-body tasks (sit on a chair, hang on a bar, balance on a board): each builds, steps and evaluates on
CPU with its prop rendered but left out of the robot mask, and its success detector tells a posed success state
(the scripted reference's last pose, written into the simulator) from the start state."""

import numpy as np
import pytest
import torch

import nil_ext.tasks  # noqa: F401  (registers the task ids)
from nil_ext.task_loading import load_cfg
from nil_ext.tasks import WHOLEBODY_TASKS
from nil_ext.tasks.mdp import imitation_term


@pytest.fixture(scope="module")
def launched():
    """One kit-less launch for the module (the runtime Newton needs, nothing else)."""
    from isaaclab.app import launch_simulation

    from nil_ext.tasks.wholebody.wholebody_env_cfg import wholebody_env_cfg

    with launch_simulation(wholebody_env_cfg("h1", "sit", "cpu-smoke"), {}):
        yield


# G1's bar and board are H1's props and code with another robot (G1's scene is built by SitChair): in the slow set,
# which keeps the default run under its 15 minutes (~20 s each)
G1_SLOW = {"NIL-G1-HangBar", "NIL-G1-BalanceBoard"}


@pytest.fixture(scope="module", params=[pytest.param(t, marks=pytest.mark.slow) if t in G1_SLOW else t
                                        for t in sorted(WHOLEBODY_TASKS)])
def env(request, launched, menagerie_available):
    """One 2-env, 64 px env per task, shared by the task's tests (its scripted reference is rendered once)."""
    from isaaclab.envs import ManagerBasedRLEnv

    cfg = load_cfg(request.param, "env_cfg_entry_point", preset="cpu-smoke", num_envs=2)
    cfg.scene.camera.data_types = ["rgb", "instance_segmentation"]  # colour too: the prop test looks at it
    cfg.set_reference(None)
    env = ManagerBasedRLEnv(cfg)
    yield env
    env.close()


def zero_actions(env) -> torch.Tensor:
    return torch.zeros(env.num_envs, env.action_manager.total_action_dim)


def prop_pixels(rgb: torch.Tensor) -> torch.Tensor:
    """Pixels of the orange props (scene.props.PROP_COLOR, lit: about (210, 150, 70)); the robot is dark, the
    ground and sky grey."""
    r, g, b = (rgb[..., i].float() for i in range(3))
    return (r > 1.2 * g) & (g > 1.5 * b) & (r > 80)


def pose_like_the_reference_end(env):
    """Write the scripted skill's last pose into every env, at rest; returns its joint positions."""
    from nil_ext.reference.scripted_wholebody import WholeBodyMotion, write_pose

    robot = env.scene["robot"]
    write_pose(env.scene, robot.data.default_root_pose.torch[0], robot.data.default_joint_pos.torch[0])
    env.sim.forward()
    env.scene.update(0.0)
    motion = WholeBodyMotion(robot, env.cfg.robot_name, env.cfg.wholebody.skill, env.cfg.wholebody.prop)
    root, joints, board_dy = motion.pose(motion.duration)
    write_pose(env.scene, root, joints, board_dy)
    env.sim.forward()
    env.scene.update(0.0)
    return root, joints, board_dy


def hold_actions(env, joints: torch.Tensor) -> torch.Tensor:
    """(N, actions) that hold the robot's joints at ``joints`` (all joints, the robot's order)."""
    term = env.action_manager.get_term("joint")
    return term.actions_for(joints[term._joint_ids].expand(env.num_envs, -1))


def test_task_builds_resets_and_steps_with_finite_rewards(env):
    obs, _ = env.reset()
    assert obs["policy"].shape[0] == 2 and torch.isfinite(obs["policy"]).all()
    for _ in range(5):
        obs, reward, terminated, truncated, _ = env.step(zero_actions(env))
    assert reward.shape == (2,) and torch.isfinite(reward).all()
    manager = env.reward_manager
    terms = {name: manager.get_term_cfg(name).func(env) * env.step_dt for name in ("iou", "torque", "tilt", "alive")}
    for name, value in terms.items():
        assert torch.isfinite(value).all(), name
    # R_t: the terms' weighted per-step values (Isaac Lab's dt scaling undone)
    shares = torch.stack([torch.tensor([v[0] for _, v in manager.get_active_iterable_terms(i)]) for i in range(2)])
    assert torch.allclose(reward, shares.sum(-1) * env.step_dt, atol=1e-4)
    assert torch.allclose(shares[:, manager.active_terms.index("iou")] * env.step_dt,
                          manager.get_term_cfg("iou").weight * terms["iou"], atol=1e-5)
    assert (terms["iou"] > 0.2).all(), "standing at the start pose should overlap the reference's start"
    assert not terminated.any()


def test_prop_is_rendered_but_not_in_the_robot_mask(env):
    env.reset()
    env.step(zero_actions(env))
    state = imitation_term(env)
    rgb, mask = state.rgb, state.mask
    props = prop_pixels(rgb)
    assert (props.flatten(1).sum(1) >= 10).all(), f"prop pixels per env: {props.flatten(1).sum(1)}"
    assert not (props & mask).any(), "prop pixels counted as robot"
    assert (mask.flatten(1).sum(1) > 20).all()


def test_reference_bundle_shows_the_skill_with_its_prop(env):
    from nil_ext.reference.bundle import ReferenceBundle

    bundle = ReferenceBundle.load(env.cfg.imitation.reference)
    assert bundle.meta["skill"] == env.cfg.wholebody.skill and bundle.meta["synthetic"] is True
    frames = torch.from_numpy(bundle.frames[[0, -1]])
    assert (prop_pixels(frames).flatten(1).sum(1) >= 10).all()
    assert not (prop_pixels(frames) & torch.from_numpy(bundle.masks[[0, -1]])).any()
    # the robot moves: first and last masks differ
    assert (bundle.masks[0] != bundle.masks[-1]).mean() > 0.01


def test_evaluation_runs_a_short_episode(env):
    from nil_ext.evaluation.metrics import WholeBodyMetrics, task_metrics
    from nil_ext.evaluation.rollout import run_episode, standing_policy

    metrics = task_metrics(env)
    assert isinstance(metrics, WholeBodyMetrics)
    stats = run_episode(env, standing_policy(env.action_manager.total_action_dim), max_steps=10, metrics=metrics)
    assert set(stats.extra) == {"success", "normalised_reward"}
    assert not stats.extra["success"].any(), "standing still is no success"
    assert np.isfinite(stats.extra["normalised_reward"]).all() and (stats.extra["normalised_reward"] <= 1.0).all()
    row = WholeBodyMetrics.summarise("standing", [stats])
    assert row["success_rate"] == 0.0 and row["episodes"] == 2


def test_success_detector_false_at_start_true_on_the_posed_skill(env):
    from nil_ext.evaluation.success import make_detector

    env.reset()
    detector = make_detector(env)
    for _ in range(5):
        env.step(zero_actions(env))
        detector.update()
    assert not detector.condition().any() and not detector.success().any()

    root, joints, board_dy = pose_like_the_reference_end(env)
    detector.reset()
    hold = hold_actions(env, joints)
    for _ in range(round(1.1 / env.step_dt)):  # more than the 1 s a success state must last
        env.step(hold)
        if env.cfg.wholebody.skill != "sit":  # no grip on the bar, a rocking board: held in place by hand
            from nil_ext.reference.scripted_wholebody import write_pose

            write_pose(env.scene, root, joints, board_dy)
            env.sim.forward()
            env.scene.update(0.0)
        detector.update()
    assert detector.success().all(), f"held {detector.held.tolist()} s, best {detector.best.tolist()} s"


def play_script(env, detector, script):
    """Write each (root, joints, board_dy) of ``script`` kinematically, one control step each, and let ``detector``
    count it; returns its success per env."""
    from nil_ext.reference.scripted_wholebody import write_pose

    detector.reset()
    for root, joints, board_dy in script:
        write_pose(env.scene, root, joints, board_dy)
        env.sim.forward()
        env.scene.update(0.0)
        detector.update()
    return detector.success()


def test_scripted_failures_of_each_skill_do_not_succeed(env):
    """Issue 45: a detector passes the skill held 1.1 s and nothing short of it: standing in the start pose for as
    long as the reference lasts, the skill held too briefly, then lost (slid off the chair to the floor, let go of
    the bar, stepped off the board) or ended in a fall."""
    from nil_ext.evaluation.success import make_detector

    env.reset()
    detector = make_detector(env)
    robot = env.scene["robot"]
    standing = (robot.data.default_root_pose.torch[0], robot.data.default_joint_pos.torch[0], 0.0)
    assert not play_script(env, detector, [standing] * imitation_term(env).num_ref_frames).any(), "standing passed"
    root, joints, board_dy = pose_like_the_reference_end(env)
    steps = round(1.1 / env.step_dt)
    brief = round(0.6 / env.step_dt)
    h = detector.base_height
    skill, prop = env.cfg.wholebody.skill, env.cfg.wholebody.prop

    def moved(dx=0.0, dy=0.0, dz=0.0):
        r = root.clone()
        r[:3] += torch.tensor([dx, dy, dz], device=r.device, dtype=r.dtype)
        return r, joints, board_dy

    held = [(root, joints, board_dy)] * steps
    assert play_script(env, detector, held).all(), f"the skill's end pose held 1.1 s: best {detector.best.tolist()}"
    assert not play_script(env, detector, held[:brief]).any(), "held 0.6 s of the 1 s"
    if skill == "sit":
        off_the_chair = moved(dx=prop.size[0] + 0.3 * h, dz=-(root[2].item() - 0.5 * prop.top))  # on the floor
        failures = {"slid off the chair": held + [off_the_chair] * 20,
                    "hovering above the seat": [moved(dz=0.35 * h)] * steps}
    elif skill == "hang":
        let_go = moved(dz=-0.5 * h)  # hands below the bar, feet down
        failures = {"let go": held[:brief] + [let_go] * steps, "hanging, then fallen": held + [moved(dz=-0.7 * h)] * 5}
    else:
        off_the_board = moved(dy=prop.size[1] + 0.2 * h)  # a step sideways, off the board's end
        failures = {"stepped off": held + [off_the_board] * 20, "fell": held + [moved(dz=-0.7 * h)] * 5}
    for name, script in failures.items():
        assert not play_script(env, detector, script).any(), f"{skill}: {name} passed"



def test_a_robot_hangs_by_its_grip_and_falls_without_it(env):
    """Issue 45: the robots cannot close a hand, so HangBar gives them a grip (tasks/mdp/grip.py). Posed hanging
    (hands on the bar, feet tucked) and left to physics with the pose held by its PD targets, the robot hangs for the
    detector's 1 s; with the grip opened it drops and does not succeed."""
    from nil_ext.evaluation.success import make_detector

    if env.cfg.wholebody.skill != "hang":
        pytest.skip("only HangBar has a grip")
    if env.cfg.robot_name != "h1":  # the grip is the same code for every robot: H1's case checks it (~13 s saved)
        pytest.skip("the grip is checked on H1")
    grip = env.action_manager.get_term("grip")
    radius = grip.cfg.grip_radius
    # The arms reach the bar once training has widened their actions (it starts when the policy stands); the
    # joints hanging does not need (ankles, torso) stay at the small reach.
    joint = env.action_manager.get_term("joint")
    reach_from = env.cfg.actions.joint.reach_from
    assert joint.waits and joint.reach == 0.0 and reach_from < 0.5
    assert float(joint._scale.abs().max()) == pytest.approx(reach_from)
    joint.load_state_dict({"reach": 1.0, "standing_vote": 1.0})
    scale = {name: float(joint._scale[0, i]) for i, name in enumerate(joint._joint_names)}
    assert min(v for n, v in scale.items() if "shoulder_pitch" in n) > 2.8, "the shoulders reach the bar, ~2.85 rad up"
    assert max(v for n, v in scale.items() if "ankle" in n or "torso" in n) == pytest.approx(reach_from)
    robot = env.scene["robot"]
    results = {}
    for name, grip_radius in (("grip", radius), ("no grip", 0.0)):
        env.reset()
        grip.cfg.grip_radius = grip_radius
        detector = make_detector(env)
        root, joints, _ = pose_like_the_reference_end(env)
        detector.reset()
        hold = hold_actions(env, joints)
        for _ in range(round(1.5 / env.step_dt)):
            env.step(hold)
            detector.update()
        results[name] = (detector.success().clone(), robot.data.root_pos_w.torch[:, 2] - root[2])
    grip.cfg.grip_radius = radius
    assert results["grip"][0].all(), f"did not hang by its grip: base moved {results['grip'][1].tolist()} m"
    assert (results["grip"][1].abs() < 0.1).all(), results["grip"][1]
    assert not results["no grip"][0].any(), f"hung without a grip: base moved {results['no grip'][1].tolist()} m"


def test_the_travel_terms_and_their_observation_are_off_in_place(launched):
    """A whole-body skill stays in place: under any profile, no term pays for keeping the reference's pace or
    heading, and the ``track`` profile's observation of the reference's travel (and ``clock``'s of its stride) is
    left out."""
    from nil_ext.tasks.walk.walk_env_cfg import PROFILES
    from nil_ext.tasks.wholebody.wholebody_env_cfg import wholebody_env_cfg

    for profile in PROFILES:
        cfg = wholebody_env_cfg("h1", "sit", "cpu-smoke", profile=profile)
        assert cfg.observations.policy.reference is None and cfg.observations.policy.gait_clock is None, profile
        assert [cfg.rewards.pace.weight, cfg.rewards.heading.weight, cfg.rewards.speed.weight] == [0.0, 0.0, 0.0]
