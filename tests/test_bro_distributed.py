"""Two processes (gloo, CPU): each steps its own envs, gradients are all-reduced, parameters stay equal."""

import socket

import torch
import torch.multiprocessing as mp
from bro_helpers import distributed_worker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_keep_identical_parameters(tmp_path):
    mp.spawn(distributed_worker, args=(2, free_port(), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in (0, 1))
    assert not torch.equal(r0["obs"], r1["obs"])  # different data on each process ...
    assert all(torch.equal(a, b) for a, b in zip(r0["params"], r1["params"], strict=True))  # ... the same learner
    assert all(torch.equal(a, b) for a, b in zip(r0["initial"], r1["initial"], strict=True))  # rank 0's init was broadcast
    assert any(not torch.equal(a, b) for a, b in zip(r0["initial"], r0["params"], strict=True))  # and it learned
    assert torch.equal(r0["normalizer"]["mean"], r1["normalizer"]["mean"])  # statistics merged over processes
    assert r0["normalizer"]["count"] == 2 * 40 * 4 and r0["transitions"] == 2 * 40 * 4
