"""One bundle, every preset: a bundle made at 224 px trains on the 64 px cpu-smoke preset (resampled in memory when
the env loads it); a bundle made with another camera geometry (focal length, aspect) is refused in one line."""

import pytest
import torch

from nil_ext.reference.errors import BundleError
from nil_ext.task_loading import load_cfg
from nil_ext.tasks.mdp import imitation_term

NUM_FRAMES = 40  # 0.4 s of the scripted walk at 100 fps: enough for a few control steps


def make_env(reference: str | None, num_envs: int = 2):
    from isaaclab.envs import ManagerBasedRLEnv

    cfg = load_cfg("NIL-H1-Walk", "env_cfg_entry_point", preset="cpu-smoke", num_envs=num_envs)
    cfg.set_reference(reference)
    return ManagerBasedRLEnv(cfg)


@pytest.fixture(scope="module")
def bundles(menagerie_available, tmp_path_factory):
    """H1's scripted walk rendered at 224 px by the cpu-smoke camera's geometry, saved as a bundle; and copies of it
    made for another focal length and for a 16:9 camera."""
    import dataclasses

    from nil_ext.reference.builder import build_bundle
    from nil_ext.reference.options import OutputOptions
    from nil_ext.reference.scripted import render_scripted_reference
    from nil_ext.reference.sources import SimulatorFrames
    from nil_ext.tasks.walk.walk_env_cfg import walk_env_cfg

    camera = dataclasses.replace(walk_env_cfg("h1", "cpu-smoke").imitation.camera, width=224, height=224,
                                 mode="follow_agent")  # as the scripted demos are rendered
    frames, masks, fps, cam, path = render_scripted_reference("h1", camera, num_frames=NUM_FRAMES)
    root = tmp_path_factory.mktemp("bundles")
    out = {}
    for name, changes in (("224", {}), ("focal", {"focal_length": 18.0}), ("wide", {"height": 126})):
        f, m = (frames[:, 49:175], masks[:, 49:175]) if name == "wide" else (frames, masks)
        build_bundle("h1", SimulatorFrames(f, m, fps, {**cam, **changes}, path),
                     output=OutputOptions(root / name, progress=False))
        out[name] = str(root / name)
    return out


@pytest.fixture(scope="module")
def launched(bundles):
    """One kit-less launch for the module, after the bundles were rendered (their scene had its own)."""
    from isaaclab.app import launch_simulation

    from nil_ext.tasks.walk.walk_env_cfg import walk_env_cfg

    with launch_simulation(walk_env_cfg("h1", "cpu-smoke"), {}):
        yield


def first_ious(reference: str | None, steps: int = 3) -> tuple[list[float], tuple[int, int]]:
    env = make_env(reference)
    try:
        env.reset()
        actions = torch.zeros(env.num_envs, env.action_manager.total_action_dim)
        ious = []
        for _ in range(steps):
            _, reward, _, _, _ = env.step(actions)
            assert torch.isfinite(reward).all()
            ious.append(float(imitation_term(env).mask_iou().mean()))
        return ious, imitation_term(env).bundle.size
    finally:
        env.close()


def test_a_bundle_made_at_224_px_trains_on_the_64_px_preset(bundles, launched, capsys):
    ious, size = first_ious(bundles["224"])
    assert size == (64, 64)
    assert "is 224x224 px and this task's camera 64x64 px: resampling" in capsys.readouterr().out
    native, _ = first_ious(None)  # the same walk rendered at 64 px (the preset's own scripted demo)
    print(f"IoU of the agent standing in its start pose vs the reference: 224 px bundle resampled {ious}, "
          f"rendered at 64 px {native}")
    assert ious[0] > 0.75  # the first step: the agent has barely moved from the reference's first frame
    # A 64 px H1 is ~10x30 px, so its boundary pixels are a third of it: the agent and a reference rendered at 64 px
    # share their pixel grid's rounding, a resampled one rounds by coverage (measured 0.03-0.08 lower). A misplaced
    # or rescaled reference would lose far more.
    assert max(abs(a - b) for a, b in zip(ious, native, strict=True)) < 0.12


@pytest.mark.parametrize(("name", "message"), [("focal", "camera differs in focal_length 18.0 (this task: 24.0)"),
                                               ("wide", "camera differs in aspect 224x126 (this task: 64x64)")])
def test_a_bundle_of_another_camera_geometry_is_refused_in_one_line(bundles, launched, name, message):
    with pytest.raises(BundleError) as err:
        make_env(bundles[name])
    text = str(err.value)
    assert message in text and "\n" not in text and "generate_reference.py" in text, text
