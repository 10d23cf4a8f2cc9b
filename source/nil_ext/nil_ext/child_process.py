"""The caller's side of ``python -m nil_ext.tools``: run one of its commands in a child process and wait.

A process holds at most one simulation, so a library module that needs a scene of its own while its caller may hold
one (a training env asking for its scripted demo, the camera search) runs it here. A leaf: it names the tools'
module as a string and imports nothing of nil_ext, so reference/ and tasks/ use it without importing the entry point.
"""

from __future__ import annotations

import subprocess
import sys

TOOLS_MODULE = "nil_ext.tools"  # by name: importing the entry point would be an arrow back up


def run_tool(command: str, *args: str, what: str) -> None:
    """Run ``python -m nil_ext.tools command *args`` and wait; ``what`` names the work in the error if it fails."""
    result = subprocess.run([sys.executable, "-m", TOOLS_MODULE, command, *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed (python -m {TOOLS_MODULE} {command}):\n{result.stdout[-2000:]}\n"
                           f"{result.stderr[-4000:]}")
