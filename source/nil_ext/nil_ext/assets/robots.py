"""The robots NIL knows, as data: one TOML file per robot in the checkout's ``assets/robots/`` (and in the folders
of the ``NIL_ROBOTS_DIR`` setting), each holding a :class:`RobotSpec`: the robot's model (MJCF, URDF or USD), the
start pose, the actuation (torque limits and standing PD gains) and the bodies the tasks need. A file dropped there
gives a new robot every walk task; a file anywhere else is loaded with :func:`load_robot_file` (the scripts'
``--robot_config FILE.toml``). docs/new_robot.md shows a new robot in three steps.

Gains are multiples of each joint's torque limit (kp = kp_per_effort * limit, kd = kd_per_kp * kp), tuned per
robot until four envs hold the start pose for a walk episode under Newton (tests/test_robot_scene.py); the
``actuation`` table gives limits a model lacks, or gains outright. Names in the file (bodies, joints, keyframes,
regexes) are checked against the model when the robot is first built (:func:`nil_ext.assets.robot_model.read_robot_info`).
"""

from __future__ import annotations

import os
import tomllib
import types
import typing
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path

ROBOTS_DIR = Path(__file__).resolve().parents[4] / "assets" / "robots"
"""The checkout's robot files."""
ROBOTS_DIR_ENV = "NIL_ROBOTS_DIR"
"""More folders of robot files (separated like PATH); a name there replaces the checkout's robot of that name."""
ROBOT_FILES_ENV = "NIL_ROBOT_FILES"
"""Robot files made known by :func:`add_robot` (``--robot_config``), passed on to the processes this one starts."""


@dataclass(frozen=True)
class RobotSpec:
    name: str
    """Short name used on the command line and in task ids (``h1``): the file's name without ``.toml``."""
    display_name: str
    """Name used in prompts (``Unitree H1``)."""
    base_body: str
    """The body whose pose is the robot's (``pelvis``): the camera follows it, falls are judged by its height."""
    foot_bodies: str
    """Regex of the bodies that touch the ground when walking (foot slip penalty, contact)."""
    mjcf: str | None = None
    """The robot's MJCF file: a file in the ``menagerie`` folder, else a path (relative to the robot file's folder,
    or to ``package``'s folder, or absolute). Exactly one of ``mjcf``, ``urdf``, ``usd``."""
    urdf: str | None = None
    """The robot's URDF file (a path like ``mjcf``), compiled by MuJoCo's URDF reader into an MJCF with a free base."""
    usd: str | None = None
    """The robot's USD file (a path like ``mjcf``), used as it is; joint limits and masses are read from it."""
    package: str | None = None
    """An installed Python package whose folder relative ``mjcf`` / ``urdf`` / ``usd`` paths start from (``newton``)."""
    urdf_packages: dict[str, str] = field(default_factory=dict)
    """``package://NAME/`` roots of the URDF's mesh paths: NAME -> folder (relative to the robot file, or absolute)."""
    actuation: dict[str, dict[str, float]] = field(default_factory=dict)
    """Joint regex -> {effort, stiffness, damping, armature, velocity} (N m or N, N m/rad, N m s/rad, kg m^2, rad/s):
    the actuated joints' limits and gains over what the model says. Every key is optional; a joint's effort (its
    torque limit) must come from here or the model. Without actuators in the model, every hinge and slide joint is
    actuated. stiffness / damping left out follow kp_per_effort / kd_per_kp of the effort."""
    menagerie: str | None = None
    """Folder in MuJoCo Menagerie (``unitree_h1``); None: ``mjcf`` is a path."""
    keyframe_file: str | None = None
    """File beside the MJCF holding the start keyframe when it is not in ``mjcf`` (H1 keeps it in scene.xml)."""
    keyframe: str | int | None = None
    """Keyframe name or index for the start pose; left out: the model's reference pose qpos0."""
    pose_overrides: dict[str, float] = field(default_factory=dict)
    """Joint regex -> position, applied over the keyframe (fixes keyframes outside joint limits)."""
    base_pitch: float = 0.0
    """Forward lean of the start pose, radians about the base's lateral axis, applied over the keyframe: with the
    ankles pitched back as much, the feet lie flat and the centre of mass sits over them rather than the heels."""
    gains_file: str | None = None
    """A position-actuator MJCF beside ``mjcf`` of the same robot whose kp to use (TALOS); else kp_per_effort."""
    kp_per_effort: float = 2.0
    kp_per_effort_overrides: dict[str, float] = field(default_factory=dict)
    """Joint regex -> kp_per_effort for those joints, over kp_per_effort or the gains file (H1's ankles: stiffer than
    gravity's pull on the body above them, m g h per radian, or the robot topples slowly from any pose)."""
    kd_per_kp: float = 0.05
    torso_body: str | None = None
    """The upper body that can turn apart from the base (H1's ``torso_link``): its heading is measured (and rewarded)
    beside the base's; None: the base is the whole trunk (A1)."""
    hand_bodies: str | None = None
    """Regex of the two bodies that carry the hands (whole-body skills: hanging); None: none known."""
    hand_offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """The hand's point in its body's frame (H1 has no hand body: the tip of its forearm)."""
    policy_joints: str = ".*"
    """Regex of the actuated joints the policy moves; the others hold their start pose under PD. TALOS leaves out
    its grippers and head (16 of 44): noise on them never topples it, so they would only widen the action."""
    quadruped: bool = False
    action_scale: float = 0.5
    """Radians of PD target offset per unit of action (Isaac Lab's locomotion tasks: 0.5 humanoids, 0.25 quadrupeds)."""
    source: str | None = field(default=None, compare=False)
    """The file this spec was read from (set by the loader)."""

    def model_dir(self) -> Path:
        """The folder of the model file and its companion files (a Menagerie robot is downloaded on first use)."""
        if self.menagerie is None:
            return Path(self.mjcf or self.urdf or self.usd).parent
        from .menagerie import menagerie_robot_dir

        return menagerie_robot_dir(self.menagerie)

    @property
    def model_kind(self) -> str:
        """``mjcf``, ``urdf`` or ``usd``: the field that names the model file."""
        return "urdf" if self.urdf else "usd" if self.usd else "mjcf"

    @property
    def model_name(self) -> str:
        """The model file as the robot file gives it."""
        return self.urdf or self.usd or self.mjcf

    @property
    def task_name(self) -> str:
        """The robot's part of task ids: ``NIL-H1-Walk``."""
        return self.name.capitalize()


class UnknownRobotError(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; we want it readable
        return str(self.args[0])


class RobotConfigError(ValueError):
    """A robot file that cannot be used: the message names the file and the field."""


_FILE_FIELDS = {f.name: f for f in fields(RobotSpec) if f.name not in ("name", "source")}
_TYPES = typing.get_type_hints(RobotSpec)


def _fits(value, kind) -> bool:
    """Whether a TOML value has the field's type (ints are accepted for floats; arrays for tuples)."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, a) for a in args)
    if origin is dict:
        return isinstance(value, dict) and all(isinstance(k, str) and _fits(v, args[1]) for k, v in value.items())
    if origin is tuple:
        return isinstance(value, list) and len(value) == len(args) and all(map(_fits, value, args))
    if kind is type(None):
        return value is None
    return isinstance(value, kind) and (kind is bool or not isinstance(value, bool))


def load_robot_file(path: str | os.PathLike) -> RobotSpec:
    """Read one robot file; a missing, unknown or mistyped field, or an MJCF that is not there, is refused with a
    message that names the file and the field."""
    path = Path(path).expanduser().resolve()
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise RobotConfigError(f"Robot file not found: {path}") from None
    except tomllib.TOMLDecodeError as err:
        raise RobotConfigError(f"{path}: not valid TOML: {err}") from None

    unknown = sorted(set(data) - set(_FILE_FIELDS))
    if unknown:
        raise RobotConfigError(f"{path}: unknown field(s) {unknown}; a robot file has: {', '.join(_FILE_FIELDS)}")
    missing = [n for n, f in _FILE_FIELDS.items() if f.default is MISSING and f.default_factory is MISSING and n not in data]
    if missing:
        raise RobotConfigError(f"{path}: missing required field(s) {missing}")
    for name, value in data.items():
        if not _fits(value, _TYPES[name]):
            raise RobotConfigError(f"{path}: field '{name}' = {value!r} should be {_TYPES[name]}")
    if "hand_offset" in data:
        data["hand_offset"] = tuple(data["hand_offset"])
    models = [k for k in MODEL_FIELDS if k in data]
    if len(models) != 1:
        raise RobotConfigError(f"{path}: field 'mjcf': give exactly one of {list(MODEL_FIELDS)} (the robot's model "
                               f"file), not {models or 'none'}")
    kind = models[0]
    if kind != "mjcf" and data.get("menagerie") is not None:
        raise RobotConfigError(f"{path}: field 'menagerie': holds MJCF files only; '{kind}' is a path")
    for pattern, values in data.get("actuation", {}).items():
        unknown = sorted(set(values) - set(ACTUATION_KEYS))
        if unknown:
            raise RobotConfigError(f"{path}: field 'actuation': '{pattern}' has unknown key(s) {unknown}; "
                                   f"a joint's actuation has {', '.join(ACTUATION_KEYS)}")
        bad = [k for k, v in values.items() if v < 0 or (k == "effort" and v == 0)]
        if bad:
            raise RobotConfigError(f"{path}: field 'actuation': '{pattern}': {bad[0]} = {values[bad[0]]} must be positive")
    if data.get("menagerie") is None:
        root, where = path.parent, "the robot file"
        if data.get("package"):
            root, where = _package_dir(path, data["package"]), f"package '{data['package']}'"
        model = (root / data[kind]).resolve()
        if not model.is_file():
            raise RobotConfigError(f"{path}: field '{kind}': no {kind.upper()} file at {model} (a path relative to "
                                   f"{where}{', or set menagerie' if kind == 'mjcf' else ''})")
        data[kind] = str(model)
    for name, root in data.get("urdf_packages", {}).items():
        data["urdf_packages"][name] = str((path.parent / root).expanduser().resolve())
    return RobotSpec(name=path.stem.lower(), source=str(path), **data)


MODEL_FIELDS = ("mjcf", "urdf", "usd")
ACTUATION_KEYS = ("effort", "stiffness", "damping", "armature", "velocity")


def _package_dir(path: Path, package: str) -> Path:
    import importlib.util

    try:
        found = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        found = None
    if found is None or not found.submodule_search_locations:
        raise RobotConfigError(f"{path}: field 'package': no installed Python package '{package}'")
    return Path(list(found.submodule_search_locations)[0])


def _robot_dirs() -> list[Path]:
    extra = [Path(p).expanduser() for p in os.environ.get(ROBOTS_DIR_ENV, "").split(os.pathsep) if p]
    return [ROBOTS_DIR, *extra]


def _load_robots() -> dict[str, RobotSpec]:
    files = [path for folder in _robot_dirs() for path in sorted(folder.glob("*.toml"))]
    files += [Path(p) for p in os.environ.get(ROBOT_FILES_ENV, "").split(os.pathsep) if p]
    return {spec.name: spec for spec in map(load_robot_file, files)}


ROBOTS: dict[str, RobotSpec] = _load_robots()


def add_robot(spec: RobotSpec) -> RobotSpec:
    """Make a robot known to this process (a file given on the command line); its walk task is registered by
    :func:`nil_ext.tasks.register_robot`."""
    known = ROBOTS.get(spec.name)
    if known is not None and known != spec:
        raise RobotConfigError(f"{spec.source}: a different robot named '{spec.name}' is already known "
                               f"(from {known.source}); rename the file")
    ROBOTS[spec.name] = spec
    given = [p for p in os.environ.get(ROBOT_FILES_ENV, "").split(os.pathsep) if p]
    if spec.source and spec.source not in given:  # e.g. the scripted demo renders in a child process
        os.environ[ROBOT_FILES_ENV] = os.pathsep.join([*given, spec.source])
    return spec


def get_robot_spec(name: str) -> RobotSpec:
    """The spec of a known robot; an unknown name lists the known ones."""
    try:
        return ROBOTS[name.lower()]
    except KeyError:
        raise UnknownRobotError(
            f"Unknown robot '{name}'. Known robots: {', '.join(sorted(ROBOTS))}. To add one, drop a robot file "
            f"(see {ROBOTS_DIR}/h1.toml) into {ROBOTS_DIR} or a folder of {ROBOTS_DIR_ENV}, or pass --robot_config FILE.toml."
        ) from None
