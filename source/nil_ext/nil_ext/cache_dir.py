"""Where NIL keeps what it derives (converted robots, rendered references, textures).

A leaf: it imports nothing of nil_ext, so every layer can reach it without an arrow back up.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_DIR_ENV = "NIL_CACHE_DIR"


def cache_root() -> Path:
    """Where NIL keeps what it derives from downloads (converted robots, demo references)."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "nil_ext"
    return Path(os.environ.get(CACHE_DIR_ENV, default)).expanduser()
