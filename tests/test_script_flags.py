"""Every script that starts the simulator takes Isaac Lab's usual ``--headless``, as users type it by habit."""

import importlib.util
import os

import pytest

SCRIPTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts")


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, os.path.join(SCRIPTS, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["train", "play", "evaluate", "probe_reward"])
def test_sim_scripts_accept_headless(name):
    args = load_script(name).parse_args(["--task", "NIL-H1-Walk", "--headless"])
    assert args.headless and args.task == "NIL-H1-Walk"
