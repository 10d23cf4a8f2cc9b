"""BRO learns Pendulum (gymnasium Pendulum-v1 dynamics, batched in torch): mean return above -200.

Run with ``-m slow -s`` to see the learning curve. On CPU the networks are narrowed (critic 128 x 1 block,
actor 64 x 1, 25 quantiles) to keep the run in minutes; on CUDA the paper's sizes are used.
"""

import time

import pytest
import torch
from bro_helpers import (  # noqa: F401 (one_torch_thread is an autouse fixture)
    BatchedPendulum,
    PendulumEnvCfg,
    PendulumSceneCfg,
    PendulumSimCfg,
    evaluate,
    one_torch_thread,
)

from nil_ext.agents.bro import BroCfg, BroRunnerCfg, OffPolicyRunner

NUM_ENVS, EVAL_EVERY, MAX_ITERATIONS = 4, 250, 2500  # at most 10,000 env transitions


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")
# one-step (BRO) and 3-step returns (n_step), three seeds: docs/experiments/2026-11-26-n-step.md
RUNS = [("cpu", n, seed) for seed in (1, 2, 3) for n in (1, 3)] + [pytest.param("cuda", 1, 1, marks=CUDA)]


@pytest.mark.slow
@pytest.mark.parametrize("device,n_step,seed", RUNS)
def test_bro_reaches_minus_200_on_pendulum(device, n_step, seed):
    narrow = dict(critic_width=128, critic_blocks=1, actor_width=64, num_quantiles=25) if device == "cpu" else {}
    algorithm = BroCfg(updates_per_step=NUM_ENVS, n_step=n_step, **narrow)  # one update per collected transition
    cfg = BroRunnerCfg(seed=seed, learning_starts=250, log_interval=EVAL_EVERY, progress_bar=False, algorithm=algorithm)
    env_cfg = PendulumEnvCfg(scene=PendulumSceneCfg(num_envs=NUM_ENVS), sim=PendulumSimCfg(device=device), seed=seed)
    runner = OffPolicyRunner(BatchedPendulum(env_cfg), cfg, device=device)
    start, curve = time.time(), []
    while runner.iteration < MAX_ITERATIONS:
        runner.learn(EVAL_EVERY)
        curve.append((runner.transitions, evaluate(runner.get_inference_policy(), device=device)))
        transitions, eval_return = curve[-1]
        print(f"[{device}, n_step {n_step}, seed {seed}] env transitions {transitions:6d}  eval return {eval_return:8.1f}  wall {time.time() - start:4.0f} s")
        if eval_return > -200:
            break
    assert curve[-1][1] > -200, curve
