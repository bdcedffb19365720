"""Ray workers that die or hang are replaced, and a run outlives them (issue 14).

Every test runs a real local Ray, shared by the module (its processes descend from this one, so the
worker processes a test kills are its own): a worker actor killed with ``ray.kill`` or a real
SIGKILL of its process, a worker frozen with SIGSTOP (a hang), on the asynchronous schedule (DQN)
and the synchronous one (A2C).
"""

from __future__ import annotations

import csv
import dataclasses
import os
import random
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import ray

from agentlab import algorithms, runs
from agentlab.backends import RayBackend, WorkerFailure, fresh_seed, init_ray
from agentlab.train import train
from agentlab.worker import Worker
from benchmarks.chaos import Killer, worker_pids


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    os.environ["RAY_AUTH_MODE"] = "disabled"
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    started = init_ray(num_cpus=4)
    yield
    if started:
        ray.shutdown()


def metrics_rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def train_with_fault(run_dir: Path, at_steps: int, sig: int = signal.SIGKILL, **values: Any) -> Any:
    """Train while a thread sends ``sig`` to one of this run's worker processes once ``at_steps`` have passed."""
    done = threading.Event()
    killer = Killer(lambda: worker_pids(root=os.getpid()), run_dir, [at_steps], random.Random(0), done, sig)
    killer.start()
    try:
        result = train({"backend": "ray", "workers": 2, "run_dir": str(run_dir), **values}, progress=False)
    finally:
        done.set()
        killer.join()
        for _, pid in killer.kills:  # a frozen process that survived would hold its CPU
            with_cont(pid)
    assert len(killer.kills) == 1, "the fault was never injected: the run ended first"
    return result


def with_cont(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGCONT)
    except ProcessLookupError:
        pass


DQN_SMALL = {"algo": "dqn", "env": "CartPole-v1", "fragment_length": 64, "hidden_sizes": (32,), "learning_starts": 256}


def test_killed_worker_is_replaced_and_the_async_run_finishes(tmp_path):
    result = train_with_fault(tmp_path, at_steps=640, steps=10_000, **DQN_SMALL)
    assert result.env_steps >= 10_000
    rows = metrics_rows(tmp_path)
    assert int(rows[-1]["worker_restarts"]) == 1
    killed_at = next(int(r["env_steps"]) for r in rows if int(r["worker_restarts"]) == 1)
    with open(tmp_path / "episodes.csv", newline="") as f:
        after = {int(r["worker"]) for r in csv.DictReader(f) if int(r["env_steps"]) > killed_at}
    assert after == {0, 1}  # both indices keep shipping: the replacement took the dead worker's place


def test_sync_round_completes_with_the_replacement(tmp_path):
    # A2C's preset: 2 workers x 4 envs x 5 steps = 40 env steps a round, one update each.
    result = train_with_fault(tmp_path, at_steps=400, algo="a2c", env="CartPole-v1", steps=4000)
    assert int(metrics_rows(tmp_path)[-1]["worker_restarts"]) == 1
    assert result.env_steps >= 4000
    assert result.env_steps == 40 * result.learner.version  # every update had both workers' fragments


def test_hung_worker_is_replaced_after_worker_timeout(tmp_path):
    # SIGSTOP freezes the process: the actor is alive to Ray but never answers, so only the timeout sees it.
    start = time.perf_counter()
    result = train_with_fault(tmp_path, at_steps=400, sig=signal.SIGSTOP, algo="a2c", env="Acrobot-v1",
                              envs_per_worker=2, fragment_length=5, steps=2000, worker_timeout_s=4)
    assert int(metrics_rows(tmp_path)[-1]["worker_restarts"]) == 1
    assert result.env_steps == 2 * 2 * 5 * result.learner.version >= 2000  # whole rounds only
    assert time.perf_counter() - start > 4  # the round waited out the timeout


def test_past_max_worker_restarts_the_run_stops_with_one_line_after_a_checkpoint(tmp_path):
    with pytest.raises(WorkerFailure) as failure:
        train_with_fault(tmp_path, at_steps=400, algo="a2c", env="CartPole-v1", steps=1_000_000,
                         max_worker_restarts=0)
    message = str(failure.value)
    assert "\n" not in message and "max_worker_restarts" in message
    checkpoint = runs.load_checkpoint(runs.latest_checkpoint(tmp_path))
    assert 400 <= checkpoint["env_steps"] < 1_000_000


def one_worker(env_id: str = "CartPole-v1", seed: int = 3) -> list[dict[str, Any]]:
    config = algorithms.get("dqn").config_cls(hidden_sizes=(8,))
    return [dict(algo="dqn", algo_config=dataclasses.asdict(config), env_id=env_id, num_envs=2, fragment_length=4,
                 worker_index=0, num_workers=1, seed=seed)]


def test_replacement_has_a_fresh_seed_stream_and_the_latest_weights():
    kwargs = one_worker()
    backend = RayBackend(kwargs, worker_timeout_s=60)
    try:
        backend.request(0)
        first = backend.next().payload
        ray.kill(backend.workers[0], no_restart=True)
        local = Worker(**kwargs[0])
        dqn = algorithms.get("dqn")
        weights = dqn.make_learner(dqn.config_cls(hidden_sizes=(8,)), local.envs.single_observation_space,
                                   local.envs.single_action_space, 0, "cpu").get_weights()
        backend.set_weights(0, weights, 7)  # to the dead actor: must not raise
        backend.request(0)
        replaced = backend.next().payload
    finally:
        backend.close()
    assert backend.restarts == 1
    assert replaced.version == 7  # the replacement was given the latest published weights
    same_seed = local.sample().payload
    np.testing.assert_array_equal(first.obs, same_seed.obs)  # a worker's first fragment follows from its seed
    assert not np.array_equal(replaced.obs[0], first.obs[0])  # the replacement starts from other resets
    assert fresh_seed(3, 0, 1) not in (3, fresh_seed(3, 0, 2), fresh_seed(3, 1, 1))


def two_workers() -> list[dict[str, Any]]:
    return [{**one_worker()[0], "worker_index": i, "num_workers": 2, "seed": 3 + i} for i in range(2)]


def all_finished(backend: RayBackend) -> None:
    """Wait until every call asked of the workers has finished (their start is slow on a loaded box)."""
    pending = list(backend.pending)
    ready, _ = ray.wait(pending, num_returns=len(pending), timeout=600)
    assert len(ready) == len(pending), "the workers never finished their samples"


def test_async_samples_come_back_in_the_order_asked():
    backend = RayBackend(two_workers(), worker_timeout_s=60)
    try:
        order = [0, 1, 1, 0, 1, 0, 0, 1]
        for i in order:
            backend.request(i)
        all_finished(backend)  # every call is ready at once: the oldest must still come first
        served = [backend.next().worker for _ in order]
    finally:
        backend.close()
    assert served == order


def test_a_dead_worker_is_seen_while_the_other_has_samples_ready():
    backend = RayBackend(two_workers(), worker_timeout_s=60)
    try:
        backend.request(1)
        backend.next()  # worker 1 is up
        pid = ray.get(backend.workers[1].__ray_call__.remote(lambda self: os.getpid()))
        os.kill(pid, signal.SIGSTOP)  # frozen first, so the call below cannot finish before the kill
        backend.request(1)
        for _ in range(3):
            backend.request(0)
        os.kill(pid, signal.SIGKILL)
        all_finished(backend)
        sample = backend.next()  # worker 1's call was asked first: its error is read before worker 0's samples
    finally:
        backend.close()
    assert backend.restarts == 1 and sample.worker == 0


def test_a_frozen_worker_is_replaced_on_the_async_path():
    backend = RayBackend(one_worker(env_id="Acrobot-v1"), worker_timeout_s=4)
    try:
        backend.request(0)
        backend.next()  # the worker is up
        pid = ray.get(backend.workers[0].__ray_call__.remote(lambda self: os.getpid()))
        backend.request(0)
        backend.request(0)
        os.kill(pid, signal.SIGSTOP)
        start = time.perf_counter()
        samples = [backend.next(), backend.next()]  # both owed samples come back, from the replacement
        waited = time.perf_counter() - start
        with_cont(pid)
    finally:
        backend.close()
    assert backend.restarts == 1 and [s.worker for s in samples] == [0, 0]
    assert 4 <= waited < 60


def test_a_worker_whose_constructor_fails_is_not_restarted():
    backend = RayBackend(one_worker(env_id="NoSuchEnv-v9"), max_worker_restarts=5)
    try:
        backend.request(0)
        with pytest.raises(ray.exceptions.RayActorError):
            backend.next()
    finally:
        backend.close()
    assert backend.restarts == 0  # a bad setting would fail the same way in every replacement


def test_local_backend_logs_zero_restarts(tmp_path):
    train({"algo": "q_learning", "env": "agentlab/GridWorld-v0", "backend": "local", "steps": 500,
           "run_dir": str(tmp_path)}, progress=False)
    assert {r["worker_restarts"] for r in metrics_rows(tmp_path)} == {"0"}
