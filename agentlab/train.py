"""The driver: resolve the config, start workers, feed the learner, record everything in the run folder.

``train(values)`` is what ``python -m agentlab.run`` calls, and what tests and benchmarks call
directly. The schedule comes from the algorithm: ``async`` hands each sample to the learner as it
arrives (tabular, DQN, A3C); ``sync`` waits for one fragment from every worker and updates once (A2C).
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import json
import math
import random
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

import envs
from agentlab import algorithms, presets, runs
from agentlab.algorithms import Algorithm
from agentlab.backends import LocalBackend, RayBackend, WorkerFailure
from agentlab.config import ConfigError, RunConfig, budget_lengths, check_resume, split_overrides, to_dict, validate
from agentlab.core import Sample, concat_payloads
from agentlab.evaluate import evaluate_weights
from agentlab.game_worker import GameWorker
from agentlab.policies import PolicySet, policy_ids, policy_map
from agentlab.recorder import Recorder
from agentlab.worker import Worker
from envs.multiagent import GameSpaces, is_multiagent, make_aec


@dataclass
class RunResult:
    run_dir: Path
    env: str
    env_steps: int
    episodes: int
    wall_time: float
    """Seconds of training (a resumed run's before it included), to the final checkpoint and the workers' shutdown;
    not the final evaluation or the plot."""
    solved_at: int | None
    eval: dict[str, Any] | None
    learner: Any
    signal: int | None = None
    """SIGINT or SIGTERM if the run was stopped by one (after its final checkpoint), else None."""
    elapsed: float = 0.0
    """Seconds from ``train``'s call to the end of training in this process: setup (workers, Ray) included, a resumed
    run's earlier time, the final evaluation and the plot not (what a benchmark's wall time to solve counts)."""


def resolve(values: dict[str, Any], base: dict[str, dict[str, Any]] | None = None
            ) -> tuple[RunConfig, Any, Algorithm]:
    """Defaults ← the preset for the algorithm and env (``agentlab.presets``) ← ``base`` (a saved run) ← ``values``."""
    base = base or {"run": {}, "algo": {}}
    algo = str(values.get("algo", base["run"].get("algo", RunConfig.algo)))
    env_id = str(values.get("env", base["run"].get("env", RunConfig.env)))
    if algo not in algorithms.REGISTRY:
        close = difflib.get_close_matches(algo, list(algorithms.REGISTRY), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ConfigError(f"unknown algo '{algo}'; {hint}choose one of: {', '.join(algorithms.REGISTRY)}")
    algorithm = algorithms.get(algo)
    row = presets.preset(algo, env_id)
    run_values, algo_values = split_overrides(row, algorithm.config_cls)
    saved_run, saved_algo = split_overrides({**base["run"], **base["algo"]}, algorithm.config_cls)  # typed like --set
    run_over, algo_over = split_overrides(values, algorithm.config_cls)
    check_resume(RunConfig, saved_run, run_over)  # a resume keeps what shapes its checkpoint
    check_resume(algorithm.config_cls, saved_algo, algo_over)
    run_values.update({**saved_run, **run_over})
    algo_values.update({**saved_algo, **algo_over})
    steps = int(run_values.get("steps", RunConfig.steps))
    first = budget_lengths(algorithm.config_cls, int(base["run"].get("steps", steps)))
    for name, length in budget_lengths(algorithm.config_cls, steps).items():
        # A schedule that scales with the budget, also when a resume extends it: a length the first run derived
        # from its steps (not set by the user or a preset) follows the new steps, as SB3's progress does.
        if name not in algo_over and name not in row and int(saved_algo.get(name, first[name])) == first[name]:
            algo_values[name] = length
    # Every field's type and range, and each config's own cross-field checks, before anything starts.
    run_cfg = validate(RunConfig(**{**run_values, "algo": algo, "env": env_id}))
    algo_cfg = validate(algorithm.config_cls(**algo_values))
    if getattr(algo_cfg, "encoder_weights", ""):  # Ray workers need not share the driver's working directory
        algo_cfg.encoder_weights = str(Path(algo_cfg.encoder_weights).expanduser().resolve())
    return run_cfg, algo_cfg, algorithm


def make_env_checked(env_id: str, seed: int | None = None, evaluation: bool = False, **kwargs: Any) -> Any:
    """envs.make, with its ValueError (unknown id, missing ROM) turned into a one-line ConfigError."""
    try:
        return (envs.make_eval if evaluation else envs.make)(env_id, seed=seed, **kwargs)
    except ValueError as e:
        raise ConfigError(str(e).splitlines()[0]) from None


GAME_SETTINGS = ("eval_opponent", "random_opening", "self_play_pool")
"""Run settings that only a multi-agent env's games use: set for a single-agent env, they are refused."""


def env_spaces(run_cfg: RunConfig) -> tuple[Any, Any, list[str] | None]:
    """The observation and action space a policy sees, and the policy ids of a multi-agent env (else None)."""
    if is_multiagent(run_cfg.env):
        try:
            probe = make_aec(run_cfg.env)
            spaces = GameSpaces(probe, agent_id=run_cfg.policies == "shared")
        except ValueError as e:
            raise ConfigError(f"env {run_cfg.env}: {str(e).splitlines()[0]}") from None
        probe.close()
        return spaces.observation_space, spaces.action_space, policy_ids(policy_map(spaces.agents, run_cfg.policies))
    for name in GAME_SETTINGS:
        if getattr(run_cfg, name):
            raise ConfigError(f"{name} acts on the games of a multi-agent env; {run_cfg.env} has one agent: "
                              f"leave {name} unset")
    probe = make_env_checked(run_cfg.env)
    obs_space, action_space = probe.observation_space, probe.action_space
    probe.close()
    return obs_space, action_space, None


def build_learner(algorithm: Algorithm, algo_cfg: Any, run_cfg: RunConfig, device: str) -> Any:
    """The run's learner: the algorithm's own, or for a multi-agent env a ``PolicySet`` of one per policy."""
    obs_space, action_space, policies = env_spaces(run_cfg)
    if policies is None:
        return algorithm.make_learner(algo_cfg, obs_space, action_space, run_cfg.seed, device)
    if algorithm.make_actor(algo_cfg, obs_space, action_space, 0, 1, run_cfg.seed).initial_state(1):
        fix = "leave memory unset" if getattr(algo_cfg, "memory", "") else "choose an algorithm without a state"
        raise ConfigError(f"{algorithm.name} keeps a state between steps (memory, or a world model's filter), which "
                          f"the workers of multi-agent envs do not carry yet; {fix}")
    return PolicySet({policy: algorithm.make_learner(algo_cfg, obs_space, action_space, run_cfg.seed + 101 * i, device)
                      for i, policy in enumerate(policies)})


def pick_device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was asked for but torch sees no GPU; use --device cpu")
    return name


class Driver:
    """One training run: feeds the learner from the backend on the algorithm's schedule, and records it."""

    def __init__(self, run_cfg: RunConfig, algo_cfg: Any, algorithm: Algorithm, learner: Any, run_dir: Path,
                 start: dict[str, Any], progress: bool):
        self.run_cfg, self.algo_cfg, self.algorithm, self.learner = run_cfg, algo_cfg, algorithm, learner
        self.run_dir = run_dir
        self.env_steps, self.num_episodes = int(start["env_steps"]), int(start["episodes"])
        self.solved_at: int | None = None
        self.out_of_time = False  # read once a round in periodic(), so the final metrics row is always logged
        self.metrics: dict[str, float] = {}
        self.cached: tuple[int, Any] = (-1, None)
        # A resume whose workers' state is not restored (Ray) gets fresh environment seeds, so it does not replay
        # the episodes it already saw; a restored local backend continues its own envs and RNGs exactly.
        self.multiagent = is_multiagent(run_cfg.env)
        games = ({"policies": run_cfg.policies, "self_play_pool": run_cfg.self_play_pool,
                  "random_opening": run_cfg.random_opening} if self.multiagent else {})
        worker_kwargs = [dict(algo=run_cfg.algo, algo_config=dataclasses.asdict(algo_cfg), env_id=run_cfg.env,
                              num_envs=run_cfg.envs_per_worker, fragment_length=run_cfg.fragment_length,
                              worker_index=i, num_workers=run_cfg.workers, seed=run_cfg.seed + self.env_steps, **games)
                         for i in range(run_cfg.workers)]
        worker_cls = GameWorker if self.multiagent else Worker
        self.backend = (LocalBackend(worker_kwargs, worker_cls) if run_cfg.backend == "local"
                        else RayBackend(worker_kwargs, run_cfg.address, run_cfg.dashboard, run_cfg.worker_timeout_s,
                                        run_cfg.max_worker_restarts, worker_cls))
        if "learner" in start:  # a resume: the workers (and Ray) are up, so the run goes on from the checkpoint
            runs.drop_rows_after(run_dir, start)
        self.rec = Recorder(run_dir, run_cfg.steps, self.env_steps, progress, float(start["wall_time"]))
        self.log_every = max(run_cfg.steps // 200, 1)
        self.ckpt_every = run_cfg.checkpoint_every or max(run_cfg.steps // 10, 1)
        self.next_log = self.env_steps + self.log_every
        self.next_ckpt = self.env_steps + self.ckpt_every
        self.next_eval = self.env_steps + run_cfg.eval_every if run_cfg.eval_every else math.inf
        self.fragments_done = [0] * run_cfg.workers
        self.stop_signal: int | None = None  # set by a SIGINT/SIGTERM handler; the loop ends after this round
        self.restored = "driver" in start and self.restore(start["driver"])
        best = runs.best_eval(run_dir)
        self.best_return: float | None = None if best is None else float(best["mean_return"])

    def state(self) -> dict[str, Any]:
        """The loop's own state: its marks, the return window, the process's RNGs and (local) the workers'."""
        return {"next_log": self.next_log, "next_ckpt": self.next_ckpt, "next_eval": self.next_eval,
                "fragments_done": list(self.fragments_done), "recent": list(self.rec.recent),
                "metrics": dict(self.metrics), "backend": self.backend.get_state(),
                "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}}

    def restore(self, state: dict[str, Any]) -> bool:
        """Continue exactly where ``state`` was taken, if the backend's workers can be put back; True if so."""
        same_layout = self.run_cfg.backend == "local" and len(state["fragments_done"]) == self.run_cfg.workers
        if not (same_layout and state["backend"] is not None and self.backend.set_state(state["backend"])):
            why = ("Ray workers cannot be stopped at the checkpoint's step" if self.run_cfg.backend == "ray"
                   else "an env's state could not be saved, or the worker layout changed")
            print(f"resume: episodes start fresh at step {self.env_steps} ({why})", file=sys.stderr)
            return False
        self.next_log, self.next_ckpt, self.next_eval = state["next_log"], state["next_ckpt"], state["next_eval"]
        self.fragments_done = list(state["fragments_done"])
        self.rec.recent.extend(state["recent"])
        self.metrics = dict(state["metrics"])
        torch.set_rng_state(state["rng"]["torch"])
        np.random.set_state(state["rng"]["numpy"])
        random.setstate(state["rng"]["python"])
        return True

    def weights(self) -> Any:
        """The learner's weights, fetched once per version however many workers ask."""
        if self.cached[0] != self.learner.version:
            self.cached = (self.learner.version, self.learner.get_weights())
        return self.cached[1]

    def done(self) -> bool:
        cfg = self.run_cfg
        return (self.env_steps >= cfg.steps or self.solved_at is not None
                or (cfg.episodes > 0 and self.num_episodes >= cfg.episodes)
                or self.out_of_time)

    def run(self) -> None:
        cfg, backend = self.run_cfg, self.backend
        try:
            sync = self.algorithm.schedule == "sync"
            if not self.restored:  # a restored local backend has its workers' weights and request queue back
                for i in range(cfg.workers):
                    backend.set_weights(i, self.weights(), self.learner.version)
                if not sync:
                    for _ in range(cfg.in_flight if cfg.backend == "ray" else 1):
                        for i in range(cfg.workers):
                            backend.request(i)
            while not self.done() and self.stop_signal is None:
                if sync:  # A2C: one fragment from every worker, one update, everyone gets the new weights
                    samples = backend.sample_all()
                    self.metrics = self.learner.update(concat_payloads([s.payload for s in samples]))
                else:  # each sample as it arrives; its worker gets weights every sync_every samples
                    samples = [backend.next()]
                    self.metrics = self.learner.update(samples[0].payload)
                for sample in samples:
                    self.account(sample)
                    self.fragments_done[sample.worker] += 1
                    if sync or self.fragments_done[sample.worker] % cfg.sync_every == 0:
                        backend.set_weights(sample.worker, self.weights(), self.learner.version)
                    if not sync:
                        backend.request(sample.worker)
                self.periodic()
            self.checkpoint()
        except WorkerFailure:
            self.checkpoint()  # the run so far is kept (--resume continues it); the caller prints the one line
            raise
        finally:
            self.rec.close()
            backend.close()

    def account(self, sample: Sample) -> None:
        self.env_steps += sample.env_steps
        self.num_episodes += len(sample.episodes)
        self.rec.episodes(sample, self.env_steps)

    def periodic(self) -> None:
        """Evaluate, log and checkpoint when their env-step marks are passed."""
        cfg = self.run_cfg
        self.out_of_time = cfg.minutes > 0 and self.rec.wall >= cfg.minutes * 60
        if self.env_steps >= self.next_eval:
            self.next_eval += cfg.eval_every
            result = self.evaluate(cfg.eval_episodes or 10, seed=cfg.seed + 999_983)
            self.rec.evaluation(self.env_steps, result)
            self.metrics = {**self.metrics, "eval": result["mean_return"]}
            self.keep_best(result)
            if cfg.solve_return is not None and result["mean_return"] >= cfg.solve_return:
                self.solved_at = self.env_steps
        if self.env_steps >= self.next_log or self.done():
            self.next_log += self.log_every
            self.rec.metrics(self.env_steps, self.learner.version,
                             {**self.metrics, **self.learner.metrics(), "worker_restarts": self.backend.restarts})
        if self.env_steps >= self.next_ckpt:
            self.next_ckpt += self.ckpt_every
            self.checkpoint()
        self.rec.progress(self.env_steps, self.metrics)

    def keep_best(self, result: dict[str, Any]) -> None:
        """Save the learner as checkpoints/best.pt when ``result`` beats every earlier evaluation of the run
        (SB3's EvalCallback ``best_model``); the best of the run before a resume counts too."""
        if self.best_return is None or result["mean_return"] > self.best_return:
            self.best_return = result["mean_return"]
            runs.save_best(self.run_dir, {"learner": self.learner.state_dict(), "env_steps": self.env_steps,
                                          "eval": result, "algo": self.run_cfg.algo, "env": self.run_cfg.env})

    def evaluate(self, episodes: int, seed: int) -> dict[str, Any]:
        if self.multiagent:
            from agentlab.arena import evaluate_game, versus

            cfg = self.run_cfg
            if cfg.eval_opponent:
                return versus(self.algorithm, self.algo_cfg, cfg.env, self.weights(), cfg.policies, cfg.eval_opponent,
                              episodes, seed)
            return evaluate_game(self.algorithm, self.algo_cfg, cfg.env, self.weights(), cfg.policies, episodes, seed)
        return evaluate_weights(self.algorithm, self.algo_cfg, self.run_cfg.env, self.weights(), episodes, seed)

    def checkpoint(self) -> None:
        state = {"learner": self.learner.state_dict(), "env_steps": self.env_steps, "episodes": self.num_episodes,
                 "wall_time": self.rec.wall, "algo": self.run_cfg.algo, "env": self.run_cfg.env,
                 "driver": self.state()}
        runs.save_checkpoint(self.run_dir, state, self.env_steps)

    @contextlib.contextmanager
    def stop_on_signals(self) -> Iterator[None]:
        """SIGINT and SIGTERM end the loop after the current round (final checkpoint, plot, Ray shut down);
        a second one acts at once. Outside the main thread (no handlers there) this does nothing."""
        def handler(signum: int, frame: Any) -> None:
            self.stop_signal = signum
            signal.signal(signum, previous[signum])
            print(f"\n{signal.Signals(signum).name}: stopping after this round (again to stop at once)",
                  file=sys.stderr)

        previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, handler)
        try:
            yield
        finally:
            for signum, old in previous.items():
                signal.signal(signum, old)


def train(values: dict[str, Any], progress: bool = True, resume: str | Path | None = None) -> RunResult:
    """Train as ``values`` (run and algorithm keys) say; ``resume`` continues a run folder's latest checkpoint."""
    called = time.perf_counter()
    saved = runs.read_config(resume) if resume else None
    if saved:
        runs.check_resume_values(resume, saved, values)
    run_cfg, algo_cfg, algorithm = resolve(values, saved)
    if not resume and run_cfg.run_dir:
        runs.check_fresh(run_cfg.run_dir)
    if saved and run_cfg.device.startswith("cuda") and "device" not in values and not torch.cuda.is_available():
        print(f"resume: the run trained on {run_cfg.device}; this machine has no GPU, so it continues on the cpu",
              file=sys.stderr)
        run_cfg = dataclasses.replace(run_cfg, device="cpu")
    device = pick_device(run_cfg.device)
    torch.manual_seed(run_cfg.seed)
    learner = build_learner(algorithm, algo_cfg, run_cfg, device)

    start: dict[str, Any] = {"env_steps": 0, "episodes": 0, "wall_time": 0.0}
    if resume:
        run_dir = Path(resume)
        start = runs.resume_state(run_dir, run_cfg.algo, run_cfg.env)
        learner.load_state_dict(start["learner"])
    else:
        run_dir = Path(run_cfg.run_dir or runs.new_run_dir(run_cfg.algo, run_cfg.env, run_cfg.seed))
        run_dir.mkdir(parents=True, exist_ok=True)

    threads = torch.get_num_threads()
    torch.set_num_threads(run_cfg.learner_threads)  # on a GPU too: its host-side work competes with the workers
    final_eval = None
    try:
        driver = Driver(run_cfg, algo_cfg, algorithm, learner, run_dir, start, progress)
        runs.write_config(run_dir, to_dict(run_cfg), to_dict(algo_cfg))  # once the workers (and Ray) are up
        with driver.stop_on_signals():
            driver.run()
        wall_time, elapsed = driver.rec.wall, time.perf_counter() - called
        if run_cfg.eval_episodes and driver.stop_signal is None:
            final_eval = driver.evaluate(run_cfg.eval_episodes, seed=run_cfg.seed + 12_345)
            runs.atomic_write(run_dir / "eval.json", (json.dumps(final_eval) + "\n").encode())
    finally:
        torch.set_num_threads(threads)
    from agentlab.plot import plot_runs

    plot_runs([run_dir], run_dir / "curve.png")
    return RunResult(run_dir, run_cfg.env, driver.env_steps, driver.num_episodes, wall_time, driver.solved_at,
                     final_eval, learner, driver.stop_signal, elapsed)
