"""Off-policy runner for BRO, shaped like rsl_rl's ``OnPolicyRunner``: it owns the env loop, the replay
buffer, observation statistics, logging, checkpoints and export; :class:`~.algorithm.BRO` owns the update.

The env it drives is rsl_rl-style and vectorised (see :mod:`nil_ext.agents.vec_env`): ``num_envs``,
``num_actions``, ``device``, ``get_observations()`` and ``step(actions) -> (obs, rewards, dones, extras)``.
"""

from __future__ import annotations

import copy
import math
import os
import signal
import threading
import time
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor

import torch
from torch import nn
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from ...run_failure import note_failure
from ..vec_env import policy_obs
from . import distributed
from .algorithm import BRO
from .config import BroRunnerCfg
from .n_step import NStepWindow
from .normalizer import RunningNormalizer
from .replay_buffer import ReplayBuffer
from .warm_start import added_terms, widen_observations

AGENT_NAME = "bro"
REPLAY_BUFFER_FILE = "replay_buffer.pt"


class CheckpointMismatchError(RuntimeError):
    """A checkpoint written for another task or by another agent."""


def check_checkpoint(state: dict, path: str, task: str, agent: str) -> None:
    """Refuse a checkpoint from another agent or task, naming both."""
    if "agent" in state:
        saved_agent = state["agent"]
    elif "actor_state_dict" in state or "model_state_dict" in state:
        saved_agent = "ppo"  # rsl_rl's checkpoints carry no agent name
    else:
        saved_agent = "unknown"
    saved_task = state.get("task") or "unknown"
    if saved_agent != agent or (task and saved_task not in (task, "unknown")):
        raise CheckpointMismatchError(
            f"Checkpoint '{path}' was written by agent '{saved_agent}' for task '{saved_task}', "
            f"but this run is agent '{agent}' on task '{task or 'unknown'}'."
        )


def atomic_save(obj: object, path: str) -> None:
    """torch.save to a temporary file, then rename: a crash never leaves a half-written checkpoint."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


class DeterministicPolicy(nn.Module):
    """Deployment policy: normalise the observation, return tanh(mean) of the conservative actor."""

    def __init__(self, normalizer: RunningNormalizer, actor: nn.Module):
        super().__init__()
        # a disabled normaliser keeps mean 0 and var 1: the same formula then passes observations through
        self.register_buffer("obs_mean", normalizer.mean.float())
        self.register_buffer("obs_std", torch.sqrt(normalizer.var + normalizer.eps).float())
        self.actor = actor

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        mean, _ = self.actor((obs - self.obs_mean) / self.obs_std)
        return torch.tanh(mean)


class OffPolicyRunner:
    """Collects transitions with BRO's optimistic actor, replays them, logs, checkpoints and exports.

    One iteration = one vectorised step of ``num_envs`` envs (per process) + ``updates_per_step`` updates.
    Multi-process (torchrun): each process steps its own envs and keeps its own replay buffer; gradients and
    observation statistics are averaged over processes; rank 0 logs and writes checkpoints.
    """

    def __init__(self, env, train_cfg: BroRunnerCfg | dict, log_dir: str | None = None, device: str = "cpu"):
        if isinstance(train_cfg, dict):
            cfg = BroRunnerCfg()
            cfg.from_dict(train_cfg)
            train_cfg = cfg
        self.cfg = train_cfg
        self.device = distributed.init_from_env(str(device))
        self.rank, self.world_size = distributed.rank(), distributed.world_size()
        torch.manual_seed(self.cfg.seed + self.rank)
        self.env = env
        self.log_dir = log_dir if self.rank == 0 else None
        if not 0.0 <= self.cfg.exploration_noise_correlation < 1.0:
            raise ValueError(f"exploration_noise_correlation must be in [0, 1) (0: white noise); got "
                             f"{self.cfg.exploration_noise_correlation}")

        obs = self._observations()
        obs_dim, act_dim = obs.shape[-1], env.num_actions
        self.alg = BRO(obs_dim, act_dim, self.cfg.algorithm, self.device)
        self.normalizer = RunningNormalizer(obs_dim, self.cfg.observation_normalization).to(self.device)
        self.buffer = ReplayBuffer(self.cfg.buffer_size, obs_dim, act_dim, self.device)
        self.n_step = NStepWindow(self.cfg.algorithm.n_step, self.cfg.algorithm.gamma)

        self.iteration = 0  # vectorised env steps taken (all learn() calls)
        self.transitions = 0  # transitions collected by all processes
        self.tb_step = 0
        self.counters = {"nonfinite_env_steps": 0, "dropped_truncations": 0, "resets": 0}
        self.writer: SummaryWriter | None = None
        # running episodes (the env is not reset between learn() calls) and the last 100 finished ones
        self._ep_return = torch.zeros(env.num_envs, device=self.device)
        self._ep_length = torch.zeros(env.num_envs, device=self.device)
        # exploration noise per env, kept between steps when correlated (drawn only then: white-noise runs keep
        # their random stream)
        self._noise = torch.zeros(env.num_envs, act_dim, device=self.device)
        if self.cfg.exploration_noise_correlation > 0.0:
            self._noise.normal_()
        self._episodes: deque[tuple[float, float]] = deque(maxlen=100)
        self.last_log: dict[str, float] = {}  # the scalars of the last log, for scripts and tests
        self._stop_requested = False
        self._buffer_ready = False
        self._updates_resume_at = 0  # after a resume without a replay buffer: refill it before updating
        self.last_checkpoint: str | None = None  # what a failed run can be resumed from

    @property
    def stop_requested(self) -> bool:
        """True when SIGTERM or Ctrl-C ended the last ``learn`` early (its last checkpoint is written)."""
        return self._stop_requested

    # ------------------------------------------------------------------ the loop

    def learn(self, num_learning_iterations: int) -> None:
        """Run ``num_learning_iterations`` more iterations (vectorised env steps), then save a checkpoint.

        SIGTERM / SIGINT finish the current iteration, write a last checkpoint and return.
        """
        cfg, n = self.cfg, self.env.num_envs
        if self.log_dir is not None and self.writer is None:
            self.writer = SummaryWriter(self.log_dir)
        obs = self._observations()
        invalid = ~torch.isfinite(obs).all(-1)  # envs whose current observation cannot be trusted
        self._metric_sums: dict[str, torch.Tensor] = defaultdict(lambda: torch.zeros((), device=self.device))
        self._env_logs: dict[str, list[float]] = defaultdict(list)
        self._num_updates, self._log_time, self._log_transitions = 0, time.time(), self.transitions

        end = self.iteration + num_learning_iterations
        self._stop_requested = False
        previous_handlers = self._install_signal_handlers()
        # Counts absolute iterations, so that a resumed run's bar matches its model_<iteration>.pt names.
        bar = tqdm(initial=self.iteration, total=end, disable=self.rank != 0 or not cfg.progress_bar, mininterval=2.0)
        stepper, threads = None, torch.get_num_threads()
        if cfg.overlap_env_step:
            stepper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="env_step")
            if torch.device(self.env.device).type == "cpu":  # the simulator's CPU kernels keep one core busy
                torch.set_num_threads(max(1, threads - 1))
        try:
            while self.iteration < end and not distributed.any_rank(self._stop_requested, self.device):
                actions = self._act(obs)
                if stepper is None:
                    next_obs, rewards, dones, extras = self._step_env(actions.to(self.env.device))
                else:  # the env steps on the worker thread while this one updates on the data stored so far
                    pending = stepper.submit(self._step_env, actions.to(self.env.device))
                    if self._ready_to_update():
                        self._update()
                    next_obs, rewards, dones, extras = pending.result()
                obs, invalid = self._process_step(obs, invalid, actions, next_obs, rewards, dones, extras)
                self.iteration += 1
                self.transitions += n * self.world_size
                if self.iteration in cfg.reset_at_env_steps:
                    self.alg.reset()
                    self.counters["resets"] += 1
                if stepper is None and self._ready_to_update():
                    self._update()
                if self.iteration % cfg.log_interval == 0:
                    self._log(bar)
                if self.iteration % cfg.save_interval == 0 and self.log_dir is not None:
                    self.save(self._checkpoint_path())
                bar.update(1)
            if self._stop_requested and self.rank == 0:
                print(f"[INFO] Stop requested: writing a last checkpoint at iteration {self.iteration}.")
            if self.log_dir is not None:
                self.save(self._checkpoint_path())
        except Exception as err:  # said by the scripts in one line (nil_ext.run_failure); no checkpoint of it
            note_failure(err, self._failure_context("in the training loop"))
            raise
        finally:
            if stepper is not None:
                # after a failure the worker has at most the step it is in to finish: nothing queued behind it
                stepper.shutdown(wait=True, cancel_futures=True)
                torch.set_num_threads(threads)
            bar.close()
            for sig, handler in previous_handlers.items():
                signal.signal(sig, handler)
            if self.writer is not None:
                self.writer.flush()

    def _step_env(self, actions: torch.Tensor):
        try:
            return self.env.step(actions)
        except Exception as err:
            note_failure(err, self._failure_context("in the env step"))
            raise

    def _failure_context(self, where: str) -> str:
        last = f"last checkpoint {self.last_checkpoint}" if self.last_checkpoint else "no checkpoint written yet"
        return f"{where} of iteration {self.iteration + 1} ({last})"

    def _act(self, obs: torch.Tensor) -> torch.Tensor:
        if self.iteration < self.cfg.learning_starts:
            return torch.rand(obs.shape[0], self.alg.act_dim, device=self.device) * 2.0 - 1.0
        obs = torch.nan_to_num(obs, nan=0.0, posinf=0.0, neginf=0.0)  # broken envs still get some action
        rho, noise = self.cfg.exploration_noise_correlation, None  # None: act draws fresh (white) noise
        if rho > 0.0:
            noise = self._noise.mul_(rho).add_(torch.randn_like(self._noise), alpha=math.sqrt(1.0 - rho**2))
        return self.alg.act(self.normalizer(obs), mode="explore", noise=noise)

    def _process_step(self, obs, invalid, actions, next_obs, rewards, dones, extras):
        """Store the valid transitions, keep episode statistics, handle non-finite envs. Returns (obs, invalid)."""
        next_obs = policy_obs(next_obs).to(self.device)
        rewards, dones = rewards.to(self.device).view(-1).float(), dones.to(self.device).view(-1).bool()
        time_outs = extras.get("time_outs", torch.zeros_like(dones)).to(self.device).view(-1).bool()
        terminated = dones & ~time_outs

        # The obs returned for a done env is the first of its next episode; bootstrap from the true last one.
        last_obs = next_obs.clone()
        keep = ~invalid
        if "final_obs" in extras:
            last_obs[dones] = policy_obs(extras["final_obs"]).to(self.device)[dones]
        else:
            # Without it a truncated transition cannot be bootstrapped correctly: drop it. A terminal one is
            # kept: its next observation is multiplied by (1 - terminated) = 0 in the target.
            keep &= ~time_outs
            self.counters["dropped_truncations"] += int(time_outs.sum())
        bad = ~torch.isfinite(last_obs).all(-1) | ~torch.isfinite(next_obs).all(-1) | ~torch.isfinite(rewards)
        keep &= ~bad

        self.normalizer.update(obs[keep])
        completed = self.n_step.push(obs, actions, rewards, last_obs, terminated, dones, keep)
        if completed is not None:
            self.buffer.add(*completed)

        # episode statistics (an episode touched by non-finite values is not reported)
        self._ep_return += torch.nan_to_num(rewards, nan=0.0, posinf=0.0, neginf=0.0)
        self._ep_length += 1
        broken = bad | invalid
        finished = dones & ~broken
        if finished.any():
            self._episodes.extend(zip(self._ep_return[finished].tolist(), self._ep_length[finished].tolist(), strict=True))
        if self.cfg.exploration_noise_correlation > 0.0:  # a new episode starts from fresh noise
            self._noise = torch.where(dones[:, None], torch.randn_like(self._noise), self._noise)
        self._ep_return[dones | broken] = 0.0
        self._ep_length[dones | broken] = 0.0
        for key, value in extras.get("log", {}).items():
            self._env_logs[key].append(float(value.float().mean()) if torch.is_tensor(value) else float(value))

        num_bad = int(bad.sum())
        if num_bad:
            # Count it, reset those envs if the env allows it (otherwise their transitions stay dropped until
            # they produce finite observations again), and go on training.
            self.counters["nonfinite_env_steps"] += num_bad
            if hasattr(self.env, "reset_idx"):
                self.env.reset_idx(bad.nonzero().squeeze(-1).to(self.env.device))
                next_obs = self._observations()
        return next_obs, ~torch.isfinite(next_obs).all(-1)

    def _ready_to_update(self) -> bool:
        if self.iteration < max(self.cfg.learning_starts, self._updates_resume_at):
            return False
        if not self._buffer_ready:  # every process must have a batch's worth of data (collectives)
            self._buffer_ready = not distributed.any_rank(len(self.buffer) < self.cfg.algorithm.batch_size, self.device)
        return self._buffer_ready

    def _update(self) -> None:
        try:
            self._update_steps()
        except Exception as err:
            note_failure(err, self._failure_context("in the update"))
            raise

    def _update_steps(self) -> None:
        for _ in range(self.cfg.algorithm.updates_per_step):
            batch = self.buffer.sample(self.cfg.algorithm.batch_size)
            batch.obs, batch.next_obs = self.normalizer(batch.obs), self.normalizer(batch.next_obs)
            metrics = self.alg.update(batch)
            if metrics is not None:
                self._num_updates += 1
                for key, value in metrics.items():
                    self._metric_sums[key] += value

    # ------------------------------------------------------------------ logging

    def _log(self, bar: tqdm) -> None:
        """Write the means since the last log to TensorBoard (rank 0) and restart the accumulators."""
        now = time.time()
        if self.rank == 0:
            self._write_scalars(bar, elapsed=max(now - self._log_time, 1e-9))
        self._metric_sums.clear()
        self._env_logs.clear()
        self._num_updates, self._log_time, self._log_transitions = 0, now, self.transitions

    def _write_scalars(self, bar: tqdm, elapsed: float) -> None:
        updates = max(self._num_updates, 1)
        scalars = {key: float(total) / updates for key, total in self._metric_sums.items()}
        if self._episodes:
            returns, lengths = zip(*self._episodes, strict=True)
            scalars["Train/mean_reward"] = sum(returns) / len(returns)
            scalars["Train/mean_episode_length"] = sum(lengths) / len(lengths)
        for key, values in self._env_logs.items():
            scalars[key if "/" in key else f"Episode/{key}"] = sum(values) / len(values)
        scalars["Perf/transitions_per_s"] = (self.transitions - self._log_transitions) / elapsed
        scalars["Perf/env_steps_per_s"] = scalars["Perf/transitions_per_s"] / (self.env.num_envs * self.world_size)
        scalars["Perf/transitions"] = self.transitions
        scalars["Perf/buffer_size"] = len(self.buffer)
        scalars["Train/nonfinite_env_steps"] = self.counters["nonfinite_env_steps"]
        scalars["Train/dropped_truncations"] = self.counters["dropped_truncations"]
        scalars["Train/skipped_nonfinite_batches"] = self.alg.num_skipped_batches
        scalars["Train/resets"] = self.counters["resets"]
        self.tb_step = self.iteration
        if self.writer is not None:
            for key, value in scalars.items():
                self.writer.add_scalar(key, value, self.tb_step)
        postfix = {"transitions/s": f"{scalars['Perf/transitions_per_s']:.3g}"}
        if "Train/mean_reward" in scalars:  # no episode has finished yet early in a run
            postfix["return"] = f"{scalars['Train/mean_reward']:.3g}"
        bar.set_postfix(postfix, refresh=False)
        self.last_log = scalars

    # ------------------------------------------------------------------ checkpoints and export

    def _checkpoint_path(self) -> str:
        return os.path.join(self.log_dir, f"model_{self.iteration}.pt")

    def save(self, path: str) -> None:
        """Write the full training state (rank 0 only), atomically; the replay buffer too if configured."""
        if self.rank != 0:
            return
        state = {
            "agent": AGENT_NAME,
            "task": self.cfg.task_name,
            "iteration": self.iteration,
            "transitions": self.transitions,
            "tb_step": self.tb_step,
            "counters": dict(self.counters),
            "alg": self.alg.state_dict(),
            "normalizer": self.normalizer.state_dict(),
            "rng_state": self._rng_state(),
            "cfg": self.cfg.to_dict(),
            "observation_terms": self._observation_terms(),
        }
        if hasattr(self.env, "state_dict"):  # the env's own training state (a curriculum's progress)
            state["env"] = self.env.state_dict()
        atomic_save(state, path)
        self.last_checkpoint = path
        if self.cfg.save_replay_buffer:
            buffer_path = os.path.join(os.path.dirname(os.path.abspath(path)), REPLAY_BUFFER_FILE)
            atomic_save({"iteration": self.iteration, "buffer": self.buffer.state_dict()}, buffer_path)

    def _observation_terms(self) -> list[tuple[str, int]] | None:
        """The policy observation's terms (name, size) in order, where the env tells them (Isaac Lab envs)."""
        terms = getattr(self.env, "observation_terms", None)
        return terms() if callable(terms) else None

    def _widen_if_observing_more(self, state: dict, path: str) -> tuple[dict, bool]:
        """A checkpoint whose policy observed the first of this env's observation terms only (trained under a
        profile that observes less): the new terms enter with zero weights (:mod:`.warm_start`)."""
        saved_obs_dim = state["alg"]["actor"]["trunk.stem.0.weight"].shape[1]
        saved_act_dim = state["alg"]["actor"]["mean.weight"].shape[0]
        if saved_obs_dim >= self.alg.obs_dim or saved_act_dim != self.alg.act_dim:
            return state, False
        added = added_terms(state.get("observation_terms"), self._observation_terms(), saved_obs_dim)
        if added is None:
            return state, False
        if self.rank == 0:
            names = ", ".join(f"{name} ({size})" for name, size in added)
            print(f"[INFO] {os.path.basename(path)} observed {saved_obs_dim} of this env's {self.alg.obs_dim} "
                  f"observations; the new terms, {names}, enter its networks with zero weights: the policy starts as it "
                  "was and learns to use them (fresh optimisers, no replay buffer).")
        return widen_observations(state, saved_obs_dim, self.alg.obs_dim), True

    def _check_dims(self, state: dict, path: str) -> None:
        """Refuse, in words, networks made for other observation or action sizes (the task or the robot file changed
        since the run, e.g. its ``policy_joints``) rather than fail in ``load_state_dict``."""
        ours = self.alg.actor.state_dict()
        for key, value in state["alg"]["actor"].items():
            if key in ours and value.shape != ours[key].shape:
                raise CheckpointMismatchError(
                    f"Checkpoint '{path}' was trained on other observation or action sizes (its actor's {key} is "
                    f"{tuple(value.shape)}, this env's {tuple(ours[key].shape)}: {self.alg.obs_dim} observations, "
                    f"{self.alg.act_dim} actions). The task or its robot file changed since that run (a robot file's "
                    f"policy_joints, for one); use a checkpoint of the current settings, or train one.")

    def load(self, path: str, load_optimizer: bool = True) -> dict:
        """Restore a checkpoint of this task and agent: networks, optimisers, coefficients, observation
        statistics, counters (iteration, transitions, TensorBoard step), the env's training state and, if present
        beside it and of the same iteration, the replay buffer. ``load_optimizer=False`` (evaluation, play) leaves
        the optimisers and the env's training state alone: a curriculum's progress is for training, not judging.
        Training from a checkpoint that observed fewer terms (another profile) widens its networks first."""
        state = torch.load(path, map_location=self.device, weights_only=False)
        check_checkpoint(state, path, self.cfg.task_name, AGENT_NAME)
        widened = False
        if load_optimizer:
            state, widened = self._widen_if_observing_more(state, path)
        self._check_dims(state, path)
        alg_state = state["alg"]
        if not load_optimizer:
            alg_state = {k: v for k, v in alg_state.items() if not k.endswith("_opt")}
        self.alg.load_state_dict(alg_state)
        self.normalizer.load_state_dict(state["normalizer"])
        self.iteration, self.transitions, self.tb_step = state["iteration"], state["transitions"], state["tb_step"]
        self.counters.update(state["counters"])
        if load_optimizer and "env" in state and hasattr(self.env, "load_state_dict"):
            self.env.load_state_dict(state["env"])
        if self.world_size == 1:  # processes of a multi-process run keep their own (different) random streams
            torch.set_rng_state(state["rng_state"]["cpu"].cpu())
            if "cuda" in state["rng_state"] and self.device.startswith("cuda"):
                torch.cuda.set_rng_state(state["rng_state"]["cuda"].cpu(), self.device)
        buffer_path = os.path.join(os.path.dirname(os.path.abspath(path)), REPLAY_BUFFER_FILE)
        if os.path.exists(buffer_path) and not widened:  # a widened run's buffer would hold the narrower observations
            saved = torch.load(buffer_path, map_location=self.device, weights_only=False)
            if saved["iteration"] == state["iteration"]:
                self.buffer.load_state_dict(saved["buffer"], self.cfg.algorithm.gamma)
            else:
                print(f"[WARN] Not loading {buffer_path}: it is from iteration {saved['iteration']}.")
        if load_optimizer and distributed.any_rank(len(self.buffer) == 0, self.device):
            # Updating at once would fit the networks to the first few transitions: collect as much data as a
            # fresh run does (learning_starts steps), with the loaded policy, first (every process alike).
            self._updates_resume_at = self.iteration + self.cfg.learning_starts
            if self.rank == 0:
                print(f"[INFO] No replay buffer saved with {os.path.basename(path)}: collecting "
                      f"{self.cfg.learning_starts} steps with the loaded policy before updating "
                      "(save_replay_buffer=True keeps the buffer).")
        return state

    def get_inference_policy(self, device: str | None = None) -> DeterministicPolicy:
        """The deterministic deployment policy (raw observation in, action in [-1, 1] out)."""
        policy = DeterministicPolicy(self.normalizer, copy.deepcopy(self.alg.actor)).eval()
        return policy.to(device or self.device)

    def export_policy(self, path: str) -> dict[str, str]:
        """Write ``policy.pt`` (TorchScript) and ``policy.onnx`` (input "obs", output "actions") into ``path``."""
        os.makedirs(path, exist_ok=True)
        policy = self.get_inference_policy("cpu")
        files = {"torchscript": os.path.join(path, "policy.pt"), "onnx": os.path.join(path, "policy.onnx")}
        torch.jit.script(policy).save(files["torchscript"])
        dummy = torch.zeros(1, self.alg.obs_dim)
        torch.onnx.export(
            policy,
            (dummy,),
            files["onnx"],
            input_names=["obs"],
            output_names=["actions"],
            dynamic_axes={"obs": {0: "batch"}, "actions": {0: "batch"}},
            opset_version=18,
            dynamo=False,
        )
        return files

    # ------------------------------------------------------------------ helpers

    def _observations(self) -> torch.Tensor:
        return policy_obs(self.env.get_observations()).to(self.device)

    def _rng_state(self) -> dict[str, torch.Tensor]:
        state = {"cpu": torch.get_rng_state()}
        if self.device.startswith("cuda"):
            state["cuda"] = torch.cuda.get_rng_state(self.device)
        return state

    def _install_signal_handlers(self) -> dict:
        if threading.current_thread() is not threading.main_thread():
            return {}

        def request_stop(signum, frame):
            self._stop_requested = True

        return {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
