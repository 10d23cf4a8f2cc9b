"""NIL tasks, registered with gymnasium when Isaac Lab loads the ``isaaclab.tasks`` entry point."""

from .walk import registration as _walk  # noqa: F401
from .walk.registration import WALK_TASKS
from .wholebody import registration as _wholebody  # noqa: F401
from .wholebody.registration import WHOLEBODY_TASKS  # noqa: F401

NIL_TASKS = dict(WALK_TASKS)
