"""NIL tasks, registered with gymnasium when Isaac Lab loads the ``isaaclab.tasks`` entry point."""

from .walk import registration as _walk  # noqa: F401
from .walk.registration import GENERIC_WALK_TASK, WALK_TASKS, register_walk_task, walk_task_id  # noqa: F401
from .wholebody import registration as _wholebody  # noqa: F401
from .wholebody.registration import WHOLEBODY_TASKS  # noqa: F401

NIL_TASKS = dict(WALK_TASKS)


def register() -> None:
    """For Isaac Lab's stock scripts, ``--external_callback nil_ext.tasks.register``: importing this package has
    registered the NIL tasks (and the robot files of ``NIL_ROBOTS_DIR``); nothing is left to do."""


def register_robot_file(path: str) -> str:
    """Make the robot of a robot file (``--robot_config FILE.toml``) known and register its walk task; return the
    task id. A robot already known by that name must be the same robot."""
    from ..assets.robot_model import read_robot_info
    from ..assets.robots import add_robot, load_robot_file

    spec = load_robot_file(path)
    read_robot_info(spec, spec.model_dir())  # its names against its MJCF: a bad file fails here, not in the simulator
    add_robot(spec)
    task_id = walk_task_id(spec.name)
    if task_id not in WALK_TASKS:
        WALK_TASKS[register_walk_task(spec.name)] = spec.name
    return task_id
