"""Run a script of ``scripts/`` as a user does: in a fresh process (:func:`run_script`), or, where only its
refusal is checked, through the same entry point in the test's own process (:func:`run_in_process`), which spares
the ~7 s of imports a fresh process pays."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import subprocess
import sys
from functools import cache

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def script_path(script: str) -> str:
    return os.path.join(REPO, "scripts", script)


def run_script(cwd, script: str, arguments: list[str], env: dict | None = None,
               timeout: int = 600) -> subprocess.CompletedProcess:
    """``python scripts/<script> arguments`` in ``cwd``, NIL_DEBUG unset (a refusal then shows no traceback)."""
    env = {k: v for k, v in (os.environ if env is None else env).items() if k != "NIL_DEBUG"}
    return subprocess.run([sys.executable, script_path(script), *arguments], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


@cache
def load_script(script: str):
    """The script as a module (its ``main``), imported once per test process."""
    spec = importlib.util.spec_from_file_location(f"nil_script_{script[:-3]}", script_path(script))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_in_process(cwd, script: str, arguments: list[str]) -> subprocess.CompletedProcess:
    """What the script prints and returns for ``arguments``, from its own ``cli.run(main)`` in this process."""
    from nil_ext import cli

    module = load_script(script)
    out, err = io.StringIO(), io.StringIO()
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.run(module.main, arguments)
            except SystemExit as stop:  # argparse's own exit
                code = stop.code
    finally:
        os.chdir(previous)
    return subprocess.CompletedProcess([script, *arguments], code, out.getvalue(), err.getvalue())
