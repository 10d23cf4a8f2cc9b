#!/usr/bin/env bash
# nil_ext's entry point, shaped like Isaac Lab's own isaaclab.sh:
#   ./isaaclab.sh --install        build the project's Python 3.12 environment (kit-less Isaac Lab 3 + this extension)
#   ./isaaclab.sh -p SCRIPT ARGS   run the environment's Python (installs first when the environment is missing)
#   ./isaaclab.sh --test [ARGS]    run the test suite (pytest ARGS)
#   ./isaaclab.sh --env            print where the environment lives
#   ./isaaclab.sh --wheelhouse DIR [--without torch,nvidia-*]
#                                  write every wheel the environment needs into DIR, for a machine without internet
#                                  (same OS, CPU architecture and Python 3.12); --without leaves out packages (names or
#                                  patterns) that machine's image already has: --install there then builds the
#                                  environment on top of its Python's own packages (--system-site-packages)
#
# Settings (environment variables):
#   NIL_PYTHON          a Python 3.12 interpreter to build the environment with (default: found on PATH, then pyenv)
#   NIL_ENV_DIR         where the virtual environment lives
#                       (default: ~/.cache/nil_ext/venv-<hash of the pins>, so a change of pins builds a fresh one)
#   NIL_MENAGERIE_DIR   a MuJoCo Menagerie checkout to take robots from (offline machines); otherwise the
#                       mujoco-menagerie package downloads them
#   WARP_CACHE_PATH     Warp's kernel cache (default: ~/.cache/nil_ext/warp), kept across runs
#   NIL_WHEELHOUSE      a folder written by --wheelhouse: --install then installs from it alone (pip --no-index),
#                       with no network
#   NIL_REQUIREMENTS_DIR  where pins.txt and no-deps.txt live (default: requirements/ of this checkout)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/nil_ext"
REQUIREMENTS="${NIL_REQUIREMENTS_DIR:-$ROOT/requirements}"
PINS=("$REQUIREMENTS/pins.txt" "$REQUIREMENTS/no-deps.txt")

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
    if [[ -n "${NIL_WHEELHOUSE:-}" ]]; then install_offline "$venv" "$py"; return; fi
    say "building the environment in $venv with $py (first time: ~4 GB of downloads, 5-10 minutes)"
    rm -rf "$venv"
    "$py" -m venv "$venv"
    local pip=("$venv/bin/python" -m pip)
    "${pip[@]}" install --upgrade pip
    "${pip[@]}" install -r "$REQUIREMENTS/pins.txt"
    # Packages whose declared dependencies clash with Isaac Lab's pins but whose code works with them.
    "${pip[@]}" install --no-deps -r "$REQUIREMENTS/no-deps.txt"
    finish_install "$venv"
}

# From a --wheelhouse folder, no index: its lock file is the whole dependency closure, so nothing is resolved.
install_offline() {
    local venv="$1" py="$2" wh
    wh="$(cd "$NIL_WHEELHOUSE" 2>/dev/null && pwd)" || die "NIL_WHEELHOUSE=$NIL_WHEELHOUSE is not a folder."
    [[ -f "$wh/requirements.lock" ]] || die "NIL_WHEELHOUSE=$wh has no requirements.lock: write it with ./isaaclab.sh --wheelhouse DIR."
    say "building the environment in $venv with $py from the wheelhouse $wh (no network)"
    rm -rf "$venv"
    local site=()
    # packages left out of the wheelhouse come from the Python it is built with (e.g. a CUDA image's torch)
    if [[ -s "$wh/without.txt" ]]; then site=(--system-site-packages); fi
    "$py" -m venv "${site[@]}" "$venv"
    "$venv/bin/python" -m pip install --no-index --find-links "$wh" --no-deps -r "$wh/requirements.lock"
    finish_install "$venv"
}

finish_install() {
    local venv="$1"
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

# Resolve the pins once (pip's dry-run report), then fetch exactly that closure as wheels (sdists built here), so
# that the offline install needs neither an index nor a resolver.
write_wheelhouse() {
    local dir="${1:-}" without="" py platform
    [[ -n "$dir" && "$dir" != -* ]] || die "--wheelhouse needs a folder: ./isaaclab.sh --wheelhouse DIR [--without torch,nvidia-*]"
    shift
    case "${1:-}" in
        --without) without="${2:-}"; [[ -n "$without" ]] || die "--without needs names, e.g. --without torch,nvidia-*" ;;
        --without=*) without="${1#--without=}" ;;
        "") ;;
        *) die "unknown option '$1' after --wheelhouse DIR (only --without NAMES)" ;;
    esac
    py="$(find_python)"
    platform="$("$py" -c 'import sysconfig; print(sysconfig.get_platform())')"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    say "resolving ${PINS[0]} for Python 3.12 on $platform"
    # setuptools and wheel: what the offline install's editable install of this checkout builds with
    "$py" -m pip install --dry-run --ignore-installed --quiet --report "$dir/.report.json" \
        -r "${PINS[0]}" "setuptools>=69" wheel
    NIL_WITHOUT="$without" "$py" - "$dir/.report.json" "${PINS[1]}" "$dir" <<'PY'
import fnmatch, json, os, re, sys
report, no_deps, out = sys.argv[1:]
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
without = [norm(p.strip()) for p in os.environ["NIL_WITHOUT"].split(",") if p.strip()]
pins = {norm(i["metadata"]["name"]): i["metadata"]["version"] for i in json.load(open(report))["install"]}
for line in open(no_deps):
    name, _, version = line.split("#")[0].strip().partition("==")
    if name:
        pins[norm(name)] = version
kept = {n: v for n, v in pins.items() if not any(fnmatch.fnmatch(n, p) for p in without)}
with open(os.path.join(out, "requirements.lock"), "w") as f:
    f.write("".join(f"{n}=={v}\n" for n, v in sorted(kept.items())))
with open(os.path.join(out, "without.txt"), "w") as f:
    f.write("".join(f"{n}=={v}\n" for n, v in sorted(pins.items()) if n not in kept))
print(f"[nil_ext] {len(kept)} packages, {len(pins) - len(kept)} left out", file=sys.stderr)
PY
    rm -f "$dir/.report.json"
    "$py" -m pip wheel --no-deps --quiet --wheel-dir "$dir" -r "$dir/requirements.lock"
    cat > "$dir/README.md" <<EOF
# nil_ext wheelhouse

Every package of nil_ext's environment as wheels for Python 3.12 on $platform, written by
\`./isaaclab.sh --wheelhouse\` from pins.txt and no-deps.txt. \`requirements.lock\` is the whole dependency closure;
\`without.txt\` lists the packages left out (--without), which the target machine's Python must already have.

Install with no network, from a checkout of the same commit:

    NIL_WHEELHOUSE=/path/to/this/folder ./isaaclab.sh --install

or into a Python 3.12 environment of your own:

    python -m pip install --no-index --find-links /path/to/this/folder --no-deps -r /path/to/this/folder/requirements.lock
EOF
    say "wheelhouse ready: $dir ($(du -sh "$dir" | cut -f1)); install it with no network: NIL_WHEELHOUSE=$dir ./isaaclab.sh --install"
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

usage() { sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

case "${1:-}" in
    -i|--install) install_env ;;
    -p|--python) shift; ensure_env; exec "$PY" "$@" ;;
    -t|--test) shift; ensure_env; cd "$ROOT"; exec "$PY" -m pytest "$@" ;;
    --env) env_dir ;;
    --wheelhouse) shift; write_wheelhouse "$@" ;;
    -h|--help|"") usage ;;
    *) usage; die "unknown option '$1'" ;;
esac
