"""The user's mistakes the library raises and the scripts say in one line (cli.run).

A leaf: it imports nothing of nil_ext, so tasks/ can raise them without importing the scripts' cli.
"""


class UserError(Exception):
    """A mistake in what the user gave (a flag, a file, a setting): :func:`nil_ext.cli.run` says it in one line."""


class TaskError(UserError):
    """A task id that is not registered, or that needs what was not given (NIL-Walk: a robot file)."""


class CheckpointError(UserError):
    """A checkpoint that is missing, unreadable, or not one of this project's."""


class ConfigError(UserError, ValueError):
    """A task config that cannot be built from the settings given (an unknown preset or profile, a bad rate...)."""
