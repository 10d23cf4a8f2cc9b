"""Settings as overrides (``env.decimation=8 agent.algorithm.gamma=0.995``): typed, refused in one line when a key
names no setting or a value does not fit it (nil_ext.overrides); no simulator needed."""

import dataclasses

import pytest
from isaaclab.utils import configclass

from nil_ext.overrides import OverrideError, apply_overrides, parse_value


@dataclasses.dataclass
class Reward:  # a plain dataclass that derives fields in __post_init__, as NilRewardCfg does
    ablation: str | None = None
    use_video: bool = True

    def __post_init__(self):
        if self.ablation not in (None, "no_video"):
            raise ValueError(f"ablation {self.ablation!r} not in ['no_video']")
        if self.ablation == "no_video":
            self.use_video = False


@dataclasses.dataclass(frozen=True)
class Camera:
    width: int = 64
    mode: str = "follow"


@dataclasses.dataclass
class Imitation:  # a plain dataclass holding a frozen one (Isaac Lab's configclass takes no frozen members)
    camera: Camera = dataclasses.field(default_factory=Camera)
    speed: float = 1.0


@configclass
class Term:
    weight: float = 1.0
    params: dict = {"names": [".*"], "limit": 0.5}


@configclass
class Env:
    decimation: int = 4
    scale: float = 0.25
    gains: dict[str, float] | float | None = None
    offset: tuple = (0.0, 0.0, 1.0)
    enabled: bool = True
    name: str = "walk"
    curriculum: Term | None = Term()
    term: Term = Term()
    reward: Reward = dataclasses.field(default_factory=Reward)
    func: object = print


def test_values_are_read_as_isaac_labs_hydra_helper_reads_them():
    assert [parse_value(v) for v in ("true", "False", "none", "null", "8", "0.5", "[1, 2]", "abc", "a b")] == \
        [True, False, None, None, 8, 0.5, [1, 2], "abc", "a b"]


def test_overrides_set_typed_values_in_order_and_return_them():
    env, agent = Env(), Env()
    given = ["env.decimation=8", "env.scale=1", "env.offset=[0, 1, 2]", "env.enabled=false", "env.name=123",
             "env.term.weight=0.5", "env.term.params.limit=2", "env.gains=3", "agent.term.params.names=['a']",
             "env.decimation=2"]
    assert apply_overrides({"env": env, "agent": agent}, given) == given
    assert env.decimation == 2 and env.scale == 1.0 and isinstance(env.scale, float)
    assert env.offset == (0, 1, 2) and env.enabled is False and env.name == "123"  # a string field keeps the text
    assert env.term.weight == 0.5 and env.term.params["limit"] == 2 and env.gains == 3.0
    assert agent.term.params["names"] == ["a"] and agent.decimation == 4


def test_a_section_may_be_switched_off_where_its_type_allows_none():
    env = Env()
    apply_overrides({"env": env}, ["env.curriculum=None", "env.gains=null"])
    assert env.curriculum is None and env.gains is None
    with pytest.raises(OverrideError, match="env.term cannot be None"):
        apply_overrides({"env": env}, ["env.term=None"])


def test_dataclasses_that_check_or_derive_their_fields_are_rebuilt():
    env, imitation = Env(), Imitation()
    apply_overrides({"env": env, "agent": imitation}, ["env.reward.ablation=no_video", "agent.camera.mode=fixed"])
    assert env.reward.ablation == "no_video" and env.reward.use_video is False  # __post_init__ ran
    assert imitation.camera == Camera(mode="fixed")  # frozen: replaced in its parent
    with pytest.raises(OverrideError, match=r"'env.reward.ablation=nope': ablation 'nope' not in \['no_video'\]"):
        apply_overrides({"env": env}, ["env.reward.ablation=nope"])


@pytest.mark.parametrize("override, message", [
    ("env.decimaton=8", r"'env.decimaton=8': env has no 'decimaton' \(did you mean 'decimation'\?\); its fields: "
                        r"decimation, scale"),
    ("env.term.wieght=1", r"env.term has no 'wieght' \(did you mean 'weight'\?\)"),
    ("env.term.params.limt=1", r"env.term.params has no 'limt' \(did you mean 'limit'\?\); its fields: names, limit"),
    ("env.decimation=2.5", r"env.decimation is an integer, not '2.5'"),
    ("env.decimation=true", r"env.decimation is an integer, not 'true'"),
    ("env.scale=high", r"env.scale is a number, not 'high'"),
    ("env.enabled=1", r"env.enabled is true or false, not '1'"),
    ("env.offset=3", r"env.offset is a list, e.g. env.offset=\[0.0, 0.0, 1.0\]; not '3'"),
    ("env.term=3", r"env.term is a section \(Term\); set one of its fields \(weight, params\) as env.term.FIELD=VALUE"),
    ("env.term.params=3", r"env.term.params is a mapping; set one key as env.term.params.KEY=VALUE"),
    ("env.func=len", r"env.func is a function \('print'\)"),
    ("env.scale.x=1", r"env.scale is a float value, not a section"),
    ("env.offset.7=1", r"env.offset is a list of 3; index it 0..2"),
    ("agent.decimation=8", r"'agent.decimation=8': this script takes overrides of env. only"),
])
def test_a_bad_override_is_refused_naming_it_and_the_choices(override, message):
    with pytest.raises(OverrideError, match=message):
        apply_overrides({"env": Env(), "agent": None}, [override])


def test_the_walk_tasks_settings_are_reachable_by_override(menagerie_available):
    """The settings the removed flags set (--action_scale, --reward, --ablation, --no_curriculum) and Isaac Lab's own
    (decimation, actuator gains, event parameters) on a real NIL task config."""
    from nil_ext.tasks.walk.walk_env_cfg import walk_env_cfg

    cfg = walk_env_cfg("a1", "cpu-smoke")
    apply_overrides({"env": cfg}, [
        "env.actions.joint.scale=0.1", "env.rewards.alive.weight=0", "env.imitation.reward.ablation=only_iou",
        "env.curriculum=None", "env.imitation.camera_speed=1", "env.decimation=8",
        "env.scene.robot.actuators.joints.stiffness=30", "env.events.reset_base.params.pose_range={'yaw': (-0.1, 0.1)}",
        "env.events.reset_joints=None"])  # a manager term switched off, as Isaac Lab's managers skip None terms
    assert cfg.actions.joint.scale == 0.1 and cfg.rewards.alive.weight == 0 and cfg.decimation == 8
    assert cfg.imitation.reward.ablation == "only_iou" and not cfg.imitation.reward.use_penalties
    assert cfg.curriculum is None and cfg.imitation.camera_speed == 1.0
    assert cfg.scene.robot.actuators["joints"].stiffness == 30.0
    assert cfg.events.reset_base.params["pose_range"] == {"yaw": (-0.1, 0.1)} and cfg.events.reset_joints is None


def test_the_imitation_settings_live_in_the_command_and_keep_their_short_name(menagerie_available):
    """Issue 42: the command's settings are ImitationCommandCfg's (commands.imitation, as mjlab's MotionCommandCfg);
    env.imitation.* reaches the same object, and a run's params carry them under commands.imitation."""
    from nil_ext.tasks.mdp import ImitationCommandCfg
    from nil_ext.tasks.walk.walk_env_cfg import walk_env_cfg

    cfg = walk_env_cfg("h1", "cpu-smoke")
    assert isinstance(cfg.commands.imitation, ImitationCommandCfg) and cfg.imitation is cfg.commands.imitation
    apply_overrides({"env": cfg}, ["env.imitation.camera_speed=0.7", "env.commands.imitation.foot_contact_force=2"])
    assert cfg.commands.imitation.camera_speed == 0.7 and cfg.imitation.foot_contact_force == 2.0
    dumped = cfg.to_dict()
    assert "imitation" not in dumped and dumped["commands"]["imitation"]["camera_speed"] == 0.7
    with pytest.raises(OverrideError, match="env.imitation has no 'camera_sped'.*'camera_speed'"):
        apply_overrides({"env": cfg}, ["env.imitation.camera_sped=1"])  # said in the words typed
