"""Each robot in a kit-less Newton scene on CPU: it holds its start pose, and the camera follows it with masks."""

import math

import pytest
import torch

from nil_ext.assets import ROBOTS

# a walk episode: H1's earlier start pose, balanced on its heels, toppled after 2 s; TALOS drifted off its pose
SIM_SECONDS = {"h1": 4.0, "talos": 4.0}


@pytest.fixture(scope="module", params=[*sorted(ROBOTS), "ant"])
def held_scene(request, menagerie_available):
    """A 4-env scene of one robot after holding its start pose for 1 s (H1, TALOS: 4 s), with what was measured. The four robots of
    assets/robots, and gymnasium's Ant from a robot file given as the scripts' --robot_config does."""
    from nil_ext.assets.robots import ROBOT_FILES_ENV, add_robot, load_robot_file
    from nil_ext.scene.camera import FollowCameraCfg
    from nil_ext.scene.robot_scene import open_robot_scene

    with pytest.MonkeyPatch.context() as patch:  # the Ant stays known to this module only
        if request.param not in ROBOTS:
            patch.setattr("nil_ext.assets.robots.ROBOTS", dict(ROBOTS))
            patch.delenv(ROBOT_FILES_ENV, raising=False)
            add_robot(load_robot_file(request.getfixturevalue("ant_robot_file")))
        with open_robot_scene(request.param, num_envs=4, camera=FollowCameraCfg(width=64, height=64)) as scene:
            start_height = scene.base_pos[:, 2].clone()
            scene.step(round(SIM_SECONDS.get(request.param, 1.0) / scene.physics_dt))
            yield request.param, scene, start_height


def test_robot_holds_its_start_pose(held_scene):
    name, scene, start_height = held_scene
    state = torch.cat([scene.robot.data.joint_pos.torch, scene.robot.data.root_pose_w.torch], dim=1)
    assert torch.isfinite(state).all(), f"{name}: NaN in the simulated state"
    height = scene.base_pos[:, 2]
    assert ((height - start_height).abs() / start_height < 0.10).all(), f"{name}: base {start_height} -> {height}"
    gravity_b = scene.robot.data.projected_gravity_b.torch
    tilt_deg = torch.rad2deg(torch.acos((-gravity_b[:, 2]).clamp(-1.0, 1.0)))
    assert (tilt_deg < 10.0).all(), f"{name}: torso tilt {tilt_deg} degrees"


def test_camera_gives_rgb_and_masks_and_follows_the_robot(held_scene):
    name, scene, _ = held_scene
    rgb, mask = scene.render()
    n, h, w = scene.num_envs, 64, 64
    assert rgb.shape == (n, h, w, 3) and rgb.dtype == torch.uint8
    assert mask.shape == (n, h, w) and mask.dtype == torch.bool
    area = mask.flatten(1).sum(1)
    assert (area > 20).all(), f"{name}: mask areas {area}"
    assert (area < 0.8 * h * w).all()

    def centre(m: torch.Tensor) -> torch.Tensor:
        ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        a = m.flatten(1).sum(1).float()
        return torch.stack([(m * xs).flatten(1).sum(1) / a, (m * ys).flatten(1).sum(1) / a], dim=1)

    before = centre(mask)
    scene.move_base((1.0, 0.0, 0.0))
    _, moved_mask = scene.render()
    after = centre(moved_mask)
    # Without following, 1 m sideways at ~3 m distance would move the robot a third of the image.
    assert ((after - before).norm(dim=1) < 0.1 * w).all(), f"{name}: mask centre {before} -> {after}"
    assert ((after - torch.tensor([w / 2, h / 2])).norm(dim=1) < 0.25 * math.hypot(w, h)).all()
