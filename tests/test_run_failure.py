"""A run that fails ends at once: one [ERROR] line that says what happened, where and what to change; exit code 1;
nothing half-written; the process gone within seconds (worker thread and simulation closed)."""

import os
import subprocess
import sys
import time

import pytest
import torch
from script_helpers import REPO, script_path

from nil_ext.run_failure import failure_line, note_failure


def raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as err:
        return err


def test_out_of_memory_says_what_to_change():
    err = raised(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.23 GiB.\nGPU 0 has 140 GiB"))
    note_failure(err, "in the env step of iteration 3 (no checkpoint written yet)")
    note_failure(err, "in the training loop of iteration 3")  # the innermost note stays
    line = failure_line(err)
    assert "\n" not in line and line.startswith("[ERROR] The run failed in the env step of iteration 3")
    assert "out of memory (CUDA out of memory. Tried to allocate 9.23 GiB. GPU 0 has 140 GiB)" in line
    assert "--num_envs" in line and "env.imitation.reward.chunk_size" in line
    assert f"{os.path.relpath(__file__)}:" in line and "(raised)" in line  # where it was raised


def test_any_other_error_names_its_type_and_message():
    line = failure_line(raised(ValueError("bad bundle: 3 frames")))
    assert line.startswith("[ERROR] The run failed while running at ")
    assert "ValueError: bad bundle: 3 frames." in line and "chunk_size" not in line and "NIL_DEBUG=1" in line


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory, menagerie_available):
    """train.py on A1's cpu-smoke task whose alive term raises an out-of-memory error at its 6th call, with the env
    stepped on the runner's worker thread (overlap_env_step)."""
    tmp = tmp_path_factory.mktemp("failing_run")
    stamp = tmp / "failed_at"
    env = dict(os.environ, NIL_TEST_FAIL_AFTER="5", NIL_TEST_FAIL_KIND="oom", NIL_TEST_FAIL_STAMP=str(stamp),
               PYTHONPATH=os.pathsep.join([os.path.join(REPO, "tests"), os.environ.get("PYTHONPATH", "")]))
    env.pop("NIL_DEBUG", None)
    cmd = [sys.executable, script_path("train.py"), "--task", "failing_task:NIL-A1-Walk-Failing",
           "--preset", "cpu-smoke", "--max_iterations", "1000", "agent.overlap_env_step=True",
           "agent.save_interval=2"]
    proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=900)
    ended = time.time()
    return proc.returncode, out, err, float(stamp.read_text()) if stamp.exists() else None, ended, tmp


def test_a_failure_in_a_reward_term_ends_the_run_in_one_line(failed_run):
    code, out, err, failed_at, ended, tmp = failed_run
    shown = f"stdout:\n{out[-3000:]}\nstderr:\n{err[-3000:]}"
    assert failed_at is not None, shown
    assert code == 1, shown
    assert "Traceback" not in err and "Traceback" not in out, shown
    errors = [line for line in (out + err).splitlines() if "[ERROR]" in line]
    assert len(errors) == 1, shown
    assert errors[0].startswith("[ERROR] The run failed in the env step of iteration"), shown
    assert "out of memory" in errors[0] and "env.imitation.reward.chunk_size" in errors[0], shown
    assert "failing_task.py" in errors[0], shown  # where it was raised
    assert ended - failed_at < 30, f"exited {ended - failed_at:.1f} s after the failure"


def test_a_failed_run_leaves_nothing_half_written(failed_run):
    code, out, err, failed_at, ended, tmp = failed_run
    runs = list((tmp / "logs/bro/nil_a1_walk").glob("*/"))
    assert len(runs) == 1, runs
    files = [p.relative_to(runs[0]).as_posix() for p in runs[0].rglob("*") if p.is_file()]
    assert not any(".tmp" in f for f in files), files
    assert not any(f.startswith("exported") or f.startswith("videos") for f in files), files
    for name in files:  # the checkpoints written before the failure (every 2 iterations) are whole
        if name.startswith("model_"):
            assert torch.load(runs[0] / name, map_location="cpu", weights_only=False)["agent"] == "bro"
    # the line names the last of them, to resume from
    last = max((f for f in files if f.startswith("model_")), key=lambda f: int(f[6:-3]), default=None)
    assert last is not None and f"last checkpoint {runs[0] / last}" in err
