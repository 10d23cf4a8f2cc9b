"""A run that fails (out of memory, a NaN, a broken term) ends at once, said in one line.

The training loop notes on the exception where it happened (:func:`note_failure`); :func:`failure_line` turns the
exception into the ``[ERROR]`` line the scripts print instead of a traceback; :func:`exit_promptly` bounds how long
the process may take to go after it (interpreter shutdown can wait on worker threads and device teardown).

A leaf: it imports nothing of nil_ext.
"""

from __future__ import annotations

import contextlib
import os
import sys
import sysconfig
import threading
import traceback

EXIT_RUN_FAILED = 1  # a run that broke; 2 is a mistake in the input (nil_ext.cli)
EXIT_GRACE_S = 10.0
_MAX_MESSAGE = 300

OOM_HINT = ("lower --num_envs, env.imitation.reward.chunk_size (the video encoder's clips per pass) or the camera "
            "(env.imitation.camera.width/height)")


class RunFailed(SystemExit):
    """A failed run's line, carried out of Isaac Lab's ``launch_simulation`` (which prints the traceback of any
    exception but ``SystemExit``, then closes the simulation with a non-zero status)."""

    def __init__(self, line: str):
        super().__init__(line)
        self.line = line


def note_failure(err: BaseException, where: str) -> None:
    """Record on ``err`` where the run was when it was raised (the first note wins: the innermost knows best)."""
    if not getattr(err, "_nil_where", None):
        err._nil_where = where
        err.add_note(f"nil_ext: raised {where}")


def _is_oom(err: BaseException) -> bool:
    # torch.OutOfMemoryError, and the allocator's RuntimeErrors of older builds and other libraries (Warp)
    return type(err).__name__ == "OutOfMemoryError" or "out of memory" in str(err).lower()


def _origin(err: BaseException) -> str:
    """The innermost frame of the traceback in code of this project or the user's, as ``path:line (function)``."""
    skip = tuple(p for p in {sysconfig.get_paths().get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")} if p)
    frames = [f for f in traceback.extract_tb(err.__traceback__) if not f.filename.startswith(skip)]
    if not frames:
        return ""
    frame = frames[-1]
    try:
        path = os.path.relpath(frame.filename)
    except ValueError:  # another drive
        path = frame.filename
    if path.startswith(".." + os.sep):
        path = frame.filename
    return f"{path}:{frame.lineno} ({frame.name})"


def failure_line(err: BaseException) -> str:
    """``err`` as one ``[ERROR]`` line: what happened, where, and what to change."""
    where = getattr(err, "_nil_where", None) or "while running"
    origin = _origin(err)
    message = " ".join(str(err).split()) or "(no message)"
    if len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE] + "..."
    if _is_oom(err):
        what, change = f"out of memory ({message})", f"To fit, {OOM_HINT}."
    else:
        what, change = f"{type(err).__name__}: {message}", ""
    at = f" at {origin}" if origin else ""
    return " ".join(filter(None, [f"[ERROR] The run failed {where}{at}: {what}.", change,
                                  "NIL_DEBUG=1 shows the traceback."]))


@contextlib.contextmanager
def closing(env):
    """Close ``env`` when the block ends; after a failure quietly, since the failure is what to report."""
    try:
        yield env
    except BaseException:
        with contextlib.suppress(Exception):
            env.close()
        raise
    env.close()


def exit_promptly(code: int, grace_s: float = EXIT_GRACE_S) -> None:
    """``sys.exit(code)``; for a failed run, with a watchdog that ends the process ``grace_s`` seconds later if
    the interpreter's shutdown (joining worker threads, closing the device) has not finished by then."""
    if code not in (0, None):
        sys.stdout.flush()
        sys.stderr.flush()
        timer = threading.Timer(grace_s, os._exit, args=(code,))
        timer.daemon = True
        timer.start()
    sys.exit(code)
