"""isaaclab.sh --wheelhouse writes the environment's wheels; --install with NIL_WHEELHOUSE installs from them with no
network. Shown with a tiny requirements folder (NIL_REQUIREMENTS_DIR) instead of the real 4 GB one."""

import os
import subprocess

import pytest
from script_helpers import REPO

NO_NETWORK = ("Failed to establish a new connection", "Temporary failure in name resolution", "Network is unreachable",
              "No matching distribution found")


def isaaclab_sh(args, env, timeout=600):
    return subprocess.run(["bash", os.path.join(REPO, "isaaclab.sh"), *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


@pytest.fixture(scope="module")
def requirements(tmp_path_factory):
    req = tmp_path_factory.mktemp("requirements")
    (req / "pins.txt").write_text("six==1.17.0  # small, pure Python\n")
    (req / "no-deps.txt").write_text("# installed without its dependencies\nidna==3.10\n")
    return req


def build(tmp_path, requirements, *args):
    env = dict(os.environ, NIL_REQUIREMENTS_DIR=str(requirements))
    result = isaaclab_sh(["--wheelhouse", str(tmp_path / "wheels"), *args], env)
    if result.returncode != 0 and any(s in result.stderr for s in NO_NETWORK):
        pytest.skip(f"no package index to build the wheelhouse from: {result.stderr[-300:]}")
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp_path / "wheels"


def offline_env(tmp_path, requirements, wheels):
    """No index that answers (a closed local port), no extra wheel folders, no pip config: only the wheelhouse."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return dict(env, PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL="http://127.0.0.1:9/simple", HOME=str(tmp_path),
                NIL_REQUIREMENTS_DIR=str(requirements), NIL_WHEELHOUSE=str(wheels), NIL_ENV_DIR=str(tmp_path / "venv"))


def test_wheelhouse_installs_with_no_network(tmp_path, requirements):
    wheels = build(tmp_path, requirements)
    lock = (wheels / "requirements.lock").read_text().split()
    assert "six==1.17.0" in lock and "idna==3.10" in lock  # the pins and the no-deps packages
    assert any(p.startswith("setuptools==") for p in lock)  # what the checkout's editable install builds with
    assert (wheels / "without.txt").read_text() == ""
    assert {w.split("-")[0].lower() for w in os.listdir(wheels) if w.endswith(".whl")} >= {"six", "idna", "setuptools"}
    assert "NIL_WHEELHOUSE=" in (wheels / "README.md").read_text()

    result = isaaclab_sh(["--install"], offline_env(tmp_path, requirements, wheels))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    venv = tmp_path / "venv"
    assert (venv / ".nil_ready").exists()
    check = subprocess.run([str(venv / "bin/python"), "-c", "import six, idna, nil_ext; print(six.__version__)"],
                           capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.strip() == "1.17.0", check.stderr
    assert "--system-site-packages" not in (venv / "pyvenv.cfg").read_text()
    assert "include-system-site-packages = false" in (venv / "pyvenv.cfg").read_text()


def test_a_wheelhouse_without_the_images_packages(tmp_path, requirements):
    wheels = build(tmp_path, requirements, "--without", "SIX,setup*")
    lock = (wheels / "requirements.lock").read_text().split()
    assert not any(p.startswith(("six==", "setuptools==")) for p in lock) and "idna==3.10" in lock
    assert (wheels / "without.txt").read_text().split()[1] == "six==1.17.0"
    assert not any(w.lower().startswith("six-") for w in os.listdir(wheels))


def test_install_refuses_a_folder_that_is_no_wheelhouse(tmp_path, requirements):
    result = isaaclab_sh(["--install"], offline_env(tmp_path, requirements, tmp_path))
    assert result.returncode != 0 and "has no requirements.lock" in result.stderr
    assert not (tmp_path / "venv").exists()
