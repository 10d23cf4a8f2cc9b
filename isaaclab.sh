#!/usr/bin/env bash
# nil_ext's entry point, shaped like Isaac Lab's own isaaclab.sh:
#   ./isaaclab.sh --install        build the project's Python 3.12 environment (kit-less Isaac Lab 3 + this extension)
#   ./isaaclab.sh -p SCRIPT ARGS   run the environment's Python (installs first when the environment is missing)
#   ./isaaclab.sh --test [ARGS]    run the test suite (pytest ARGS)
#   ./isaaclab.sh --env            print where the environment lives
#
# Settings (environment variables):
#   NIL_PYTHON          a Python 3.12 interpreter to build the environment with (default: found on PATH, then pyenv)
#   NIL_ENV_DIR         where the virtual environment lives
#                       (default: ~/.cache/nil_ext/venv-<hash of the pins>, so a change of pins builds a fresh one)
#   NIL_MENAGERIE_DIR   a MuJoCo Menagerie checkout to take robots from (offline machines); otherwise the
#                       mujoco-menagerie package downloads them
#   WARP_CACHE_PATH     Warp's kernel cache (default: ~/.cache/nil_ext/warp), kept across runs
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/nil_ext"
PINS=("$ROOT/requirements/pins.txt" "$ROOT/requirements/no-deps.txt")

die() { echo "[nil_ext] error: $*" >&2; exit 1; }
say() { echo "[nil_ext] $*" >&2; }

is_py312() { "$@" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 12) else 1)' >/dev/null 2>&1; }

# Python 3.12 the way a user's machine offers it: an explicit setting, then PATH, then pyenv.
find_python() {
    if [[ -n "${NIL_PYTHON:-}" ]]; then
        is_py312 "$NIL_PYTHON" || die "NIL_PYTHON=$NIL_PYTHON is not a working Python 3.12."
        echo "$NIL_PYTHON"; return
    fi
    local cand
    for cand in python3.12 python3 python; do
        if command -v "$cand" >/dev/null && is_py312 "$cand"; then command -v "$cand"; return; fi
    done
    if command -v pyenv >/dev/null; then
        local v
        for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.12(\.[0-9]+)?$' | sort -V -r); do
            cand="$(pyenv root)/versions/$v/bin/python3.12"
            if is_py312 "$cand"; then echo "$cand"; return; fi
        done
    fi
    die "Isaac Lab 3 needs Python 3.12 and none was found (looked at NIL_PYTHON, python3.12/python3/python on PATH, pyenv).
  Install it (e.g. 'pyenv install 3.12', 'uv python install 3.12', or your OS package python3.12) or set NIL_PYTHON=/path/to/python3.12."
}

env_dir() {
    if [[ -n "${NIL_ENV_DIR:-}" ]]; then echo "$NIL_ENV_DIR"; return; fi
    local key
    key="$(cat "${PINS[@]}" | sha256sum | cut -c1-12)"
    echo "$CACHE_ROOT/venv-$key"
}

install_env() {
    local venv py
    venv="$(env_dir)"
    py="$(find_python)"
    say "building the environment in $venv with $py (first time: ~4 GB of downloads, 5-10 minutes)"
    rm -rf "$venv"
    "$py" -m venv "$venv"
    local pip=("$venv/bin/python" -m pip)
    "${pip[@]}" install --upgrade pip
    "${pip[@]}" install -r "$ROOT/requirements/pins.txt"
    # Packages whose declared dependencies clash with Isaac Lab's pins but whose code works with them.
    "${pip[@]}" install --no-deps -r "$ROOT/requirements/no-deps.txt"
    link_checkout "$venv"
    # Written last: an interrupted install leaves no environment that looks ready.
    touch "$venv/.nil_ready"
    say "environment ready: $venv"
}

# The environment is shared by every checkout with the same pins (CI clones afresh each run):
# point its editable install of nil_ext at this checkout when it points elsewhere.
# One at a time: runs started together (e.g. two seeds) would both reinstall and break each other's install.
link_checkout() {
    local venv="$1"
    (
        if command -v flock >/dev/null; then flock 9; fi
        if [[ "$(cat "$venv/.nil_checkout" 2>/dev/null)" != "$ROOT" ]]; then
            "$venv/bin/python" -m pip install -q --no-deps --no-build-isolation -e "$ROOT/source/nil_ext"
            echo "$ROOT" > "$venv/.nil_checkout"
        fi
    ) 9>"$venv/.nil_lock"
}

ensure_env() {
    local venv
    venv="$(env_dir)"
    [[ -f "$venv/.nil_ready" ]] || install_env
    link_checkout "$venv"
    export WARP_CACHE_PATH="${WARP_CACHE_PATH:-$CACHE_ROOT/warp}"
    export PYTHONUNBUFFERED=1
    PY="$venv/bin/python"
}

usage() { sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

case "${1:-}" in
    -i|--install) install_env ;;
    -p|--python) shift; ensure_env; exec "$PY" "$@" ;;
    -t|--test) shift; ensure_env; cd "$ROOT"; exec "$PY" -m pytest "$@" ;;
    --env) env_dir ;;
    -h|--help|"") usage ;;
    *) usage; die "unknown option '$1'" ;;
esac
