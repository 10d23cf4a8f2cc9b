"""isaaclab.sh finds Python 3.12 the way a user's machine offers it, and says what to do when it cannot."""

import os
import subprocess

from script_helpers import REPO


def run(args, env):
    return subprocess.run(["bash", os.path.join(REPO, "isaaclab.sh"), *args], capture_output=True, text=True,
                          env=env, timeout=60)


def test_no_python_312_gives_a_clear_error_and_builds_nothing(tmp_path):
    env_dir = tmp_path / "venv"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "NIL_ENV_DIR": str(env_dir)}
    result = run(["--install"], env)
    if result.returncode == 0:  # this machine has a system python3.12: nothing to check here
        return
    assert "Python 3.12" in result.stderr and "NIL_PYTHON" in result.stderr
    assert not (env_dir / ".nil_ready").exists()


def test_a_wrong_nil_python_is_named(tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "NIL_ENV_DIR": str(tmp_path / "venv"),
           "NIL_PYTHON": "/bin/false"}
    result = run(["--install"], env)
    assert result.returncode != 0 and "NIL_PYTHON=/bin/false" in result.stderr


def test_help_and_env_location(tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    assert "--install" in run(["--help"], env).stdout
    location = run(["--env"], env).stdout.strip()
    assert location.startswith(str(tmp_path / ".cache" / "nil_ext" / "venv-"))


def test_runs_started_together_point_the_environment_at_this_checkout_once(tmp_path):
    """Two seeds launched at once from a checkout the shared environment does not point at: one reinstall."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / ".nil_ready").touch()
    (venv / ".nil_checkout").write_text("/elsewhere\n")
    # a stand-in python: `-m pip install` takes a second and notes overlaps; anything else exits at once
    (venv / "bin" / "python").write_text(f"""#!/bin/bash
if [[ "$2" == pip ]]; then
    [[ -e {tmp_path}/busy ]] && echo overlap >> {tmp_path}/log
    touch {tmp_path}/busy; sleep 1; rm {tmp_path}/busy; echo install >> {tmp_path}/log
fi
""")
    (venv / "bin" / "python").chmod(0o755)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "NIL_ENV_DIR": str(venv)}
    cmd = ["bash", os.path.join(REPO, "isaaclab.sh"), "-p", "-c", "pass"]
    runs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    assert all(r.wait(timeout=60) == 0 for r in runs)
    assert (tmp_path / "log").read_text().split() == ["install"]
    assert (venv / ".nil_checkout").read_text().strip() == REPO
