"""Newton (MuJoCo-Warp) simulation settings that run on CPU and CUDA alike."""

from __future__ import annotations

from isaaclab.sim import SimulationCfg
from isaaclab_newton.physics import MJWarpSolverCfg, NewtonCfg


def newton_sim_cfg(device: str = "cpu", dt: float = 0.005, render_interval: int = 1) -> SimulationCfg:
    return SimulationCfg(
        dt=dt,
        device=device,
        render_interval=render_interval,
        physics=NewtonCfg(
            solver_cfg=MJWarpSolverCfg(njmax=400, nconmax=100, integrator="implicitfast", cone="pyramidal"),
            # CUDA graphs speed up GPU stepping; on CPU they do not exist.
            use_cuda_graph=device.startswith("cuda"),
        ),
    )
