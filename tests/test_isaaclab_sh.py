"""isaaclab.sh finds Python 3.12 the way a user's machine offers it, and says what to do when it cannot."""

import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
