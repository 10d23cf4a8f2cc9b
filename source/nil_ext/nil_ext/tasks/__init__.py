"""NIL tasks, registered with gymnasium when Isaac Lab loads the ``isaaclab.tasks`` entry point."""

from .walk import registration as _walk  # noqa: F401
from .walk.registration import WALK_TASKS

NIL_TASKS = dict(WALK_TASKS)
