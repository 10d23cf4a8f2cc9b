"""What every script does at its edges: one flag style, settings as overrides, and a user's mistake said in one line.

- :class:`ArgumentParser`: flags are snake_case (``--num_envs``, as Isaac Lab's scripts spell them); the kebab-case
  spelling of a flag (``--num-envs``) is accepted too. With ``overrides=True`` the script also takes settings as
  ``env.PATH=VALUE`` / ``agent.PATH=VALUE`` tokens anywhere on its command line (:mod:`nil_ext.overrides`), in
  ``args.overrides``. A bad flag is said as ``[ERROR] ...`` in one line (exit code 2), as every other mistake.
- :func:`run`: ``sys.exit(run(main))`` runs a script's ``main`` and turns the project's user errors (a bad task,
  robot, robot file, checkpoint, reference bundle or video, override, preset...) into ``[ERROR] <message>`` on
  stderr and exit code 2, with no traceback; any other exception (a run that failed: out of memory, a NaN, a broken
  term) into one ``[ERROR] The run failed ...`` line and exit code 1 (:mod:`nil_ext.run_failure`). ``NIL_DEBUG=1``
  shows the traceback instead.
- :data:`REMOVED_FLAGS`: flags of earlier releases that set one config field; given one, the script names the override
  that replaces it, in one line.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable

from .errors import UserError
from .overrides import OVERRIDE, OverrideError
from .run_failure import EXIT_RUN_FAILED, RunFailed, failure_line

EXIT_USER_ERROR = 2  # as argparse's own usage errors
DEBUG_ENV = "NIL_DEBUG"
SECTIONS = ("env", "agent")


def user_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "the input is wrong", not "the code is wrong" (imported when needed)."""
    from .agents.bro.runner import CheckpointMismatchError
    from .assets import MenagerieNotFoundError, MjcfError, RobotConfigError, UnknownRobotError
    from .reference.errors import BundleError, ReferenceInputError
    from .rewards.video_encoder import EncoderUnavailableError

    return (UserError, OverrideError, BundleError, ReferenceInputError, RobotConfigError, UnknownRobotError,
            MjcfError, MenagerieNotFoundError, CheckpointMismatchError, EncoderUnavailableError,
            FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError, PermissionError)


def error_line(message: str) -> str:
    """``message`` as the scripts print a refusal: its first line starts with ``[ERROR]``."""
    message = str(message).strip() or "failed"
    return message if message.startswith("[ERROR]") else f"[ERROR] {message}"


def run(main: Callable[..., int | None], *args) -> int:
    """Call ``main(*args)`` and return its exit code; a user error (:mod:`nil_ext.errors` and the library's own input
    errors, :func:`user_errors`) becomes one ``[ERROR]`` line on stderr and exit code 2 (``NIL_DEBUG=1``: the
    traceback); so does the ``SystemExit("message")`` that :func:`launch_simulation` turns one into. Any other
    exception (a run that failed: out of memory, a broken term) is said in one line too, exit code 1
    (:mod:`nil_ext.run_failure`)."""
    try:
        return main(*args) or 0
    except RunFailed as failed:
        return _fail(failed.line)
    except SystemExit as stop:
        if not isinstance(stop.code, str):
            raise
        return _refuse(stop.code)
    except Exception as err:
        if os.environ.get(DEBUG_ENV):
            raise
        if not isinstance(err, user_errors()):
            return _fail(failure_line(err))
        return _refuse(_message(err))


def _fail(line: str) -> int:
    sys.stdout.flush()
    print(line, file=sys.stderr, flush=True)
    return EXIT_RUN_FAILED


@contextlib.contextmanager
def launch_simulation(env_cfg, args):
    """Isaac Lab's ``launch_simulation``, with a user error raised inside it said in one line as well: Isaac Lab's
    own prints the traceback of any exception but ``SystemExit`` before it closes the simulation, so the user
    error is turned into ``SystemExit("[ERROR] ...")`` inside it, which :func:`run` then prints; any other
    exception into :class:`~nil_ext.run_failure.RunFailed`, its one line, printed once."""
    from isaaclab.app import launch_simulation as isaaclab_launch_simulation

    with isaaclab_launch_simulation(env_cfg, args) as physics:
        try:
            yield physics
        except Exception as err:
            if os.environ.get(DEBUG_ENV):
                raise
            if not isinstance(err, user_errors()):
                raise RunFailed(failure_line(err)) from err
            raise SystemExit(error_line(_message(err))) from err


def _message(err: BaseException) -> str:
    if isinstance(err, OSError) and err.filename is not None and err.strerror:
        # FileNotFoundError and kin: the path, without errno
        return f"{err.strerror}: '{err.filename}' (check the path given)"
    return str(err)


DETAIL_LINES = 12


def _refuse(message: str) -> int:
    """Print the refusal: its first line as ``[ERROR] ...``; what follows it (a hint, or a child process's output
    that an exception carries) indented below, its last :data:`DETAIL_LINES` lines at most."""
    sys.stdout.flush()
    first, *rest = error_line(message).splitlines()
    rest = [line for line in rest if line.strip()]
    if len(rest) > DETAIL_LINES:
        rest = [f"  ... ({len(rest) - DETAIL_LINES} lines more with {DEBUG_ENV}=1)"] + rest[-DETAIL_LINES:]
    print("\n".join([first] + [line if line.startswith(" ") else f"  {line}" for line in rest]), file=sys.stderr,
          flush=True)
    return EXIT_USER_ERROR


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the project's conventions (see the module's docstring)."""

    def __init__(self, *args, overrides: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.takes_overrides = overrides
        if overrides:
            self.add_argument(
                "overrides", nargs="*", metavar="SECTION.PATH=VALUE", default=[],
                help="settings of the run's configs, as Isaac Lab's scripts take them, e.g. env.decimation=8 "
                     "env.actions.joint.scale=0.25 env.rewards.alive.weight=0 agent.algorithm.gamma=0.995 "
                     "(env.: the task's env config, agent.: the agent's; recorded in the run's params/overrides.json)")

    def parse_known_args(self, args=None, namespace=None):
        args = list(sys.argv[1:] if args is None else args)
        self._refuse_removed_flags(args)
        args = [self._snake_case(a) for a in args]
        given = []
        if self.takes_overrides:  # anywhere on the line, also between flags that take several values
            given = [a for a in args if is_override_token(a)]
            args = [a for a in args if not is_override_token(a)]
        namespace, extras = super().parse_known_args(args, namespace)
        if self.takes_overrides:
            wrong = [a for a in namespace.overrides if not is_override_token(a)]
            unknown = [a for a in extras if a.startswith("-")]
            if wrong and unknown:  # "--out x.json": the value of a flag this script does not have
                self.error(f"unrecognized flag {unknown[0]}")
            if wrong:
                self.error(f"'{wrong[0]}' is neither a flag nor a setting; settings are env.PATH=VALUE or "
                           "agent.PATH=VALUE (e.g. agent.algorithm.gamma=0.995)")
            namespace.overrides = given + list(namespace.overrides)
        return namespace, extras

    def _refuse_removed_flags(self, args: list[str]) -> None:
        for k, token in enumerate(args):
            name, eq, value = token.partition("=")
            flag = "--" + name[2:].replace("-", "_") if name.startswith("--") else name
            if flag in REMOVED_FLAGS and flag not in self._option_string_actions:
                if not eq and "{}" in REMOVED_FLAGS[flag] and k + 1 < len(args) and not args[k + 1].startswith("-"):
                    value = args[k + 1]
                self.error(removed_flag_error(flag, value or None))

    def _snake_case(self, token: str) -> str:
        """``--num-envs[=N]`` -> ``--num_envs[=N]`` when the parser knows the snake_case flag."""
        if not token.startswith("--") or "-" not in token[2:].split("=", 1)[0]:
            return token
        name, sep, value = token.partition("=")
        snake = "--" + name[2:].replace("-", "_")
        return snake + sep + value if snake in self._option_string_actions and name not in self._option_string_actions \
            else token

    def error(self, message: str):
        self.exit(EXIT_USER_ERROR, f"[ERROR] {message}; see {self.prog} --help\n")


def is_override_token(token: str) -> bool:
    match = OVERRIDE.match(token) if not token.startswith("-") else None
    return match is not None and match["key"].split(".", 1)[0] in SECTIONS


# Flags of earlier releases, removed: each set one config field (or two), which an override sets now. Given one, a
# script names the override to write instead (docs/scripts.md, "Removed flags"). ``{}``: the flag's value.
# Not overrides, on purpose: --preset, --profile, --camera_mode and --control_hz stay arguments of the task's config
# factory. Each changes several fields together (--control_hz: the decimation, the render interval and the rate
# the reference is retimed to; --camera_mode: the camera and whether the speed curriculum exists; --preset and
# --profile: whole sets of values), which one override would leave half-changed.
REMOVED_FLAGS = {
    "--action_scale": "env.actions.joint.scale={}",
    "--gamma": "agent.algorithm.gamma={}",
    "--no_curriculum": "env.curriculum=None env.imitation.camera_speed=1.0",
    "--camera_speed": "env.imitation.camera_speed={}",
    "--ablation": "env.imitation.reward.ablation={}",
    "--reward": "env.rewards.{}.weight={}",
}


def removed_flag_error(flag: str, value: str | None) -> str:
    """What a removed flag says: the override that replaces it, with the value given."""
    template = REMOVED_FLAGS[flag]
    if flag == "--reward":  # --reward TERM=WEIGHT
        term, eq, weight = (value or "").partition("=")
        override = template.format(term.strip() or "TERM", weight.strip() if eq and weight.strip() else "WEIGHT")
    else:
        override = template.format(value or "V")
    return f"{flag} was removed; write the setting {override} instead (docs/scripts.md: removed flags)"
