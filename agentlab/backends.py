"""Where workers run: in this process, or as Ray actors. The schedule is the driver's; this only moves calls.

Both backends offer the same four calls: ``request(i)`` asks worker i for a sample, ``next()`` returns
the next finished sample (local: in request order, so runs are reproducible; Ray: whichever finishes
first), ``sample_all()`` is one synchronous round over every worker, and ``set_weights``. Both count
``restarts``: the Ray backend replaces a worker that dies or hangs (``RayBackend.replace``); past
``max_worker_restarts`` it raises ``WorkerFailure``.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from agentlab.core import Sample
from agentlab.worker import Worker


class LocalBackend:
    def __init__(self, worker_kwargs: list[dict[str, Any]], worker_cls: type = Worker):
        self.workers = [worker_cls(**kw) for kw in worker_kwargs]
        self.queue: deque[int] = deque()
        self.restarts = 0  # in-process workers are never replaced; the driver logs the same column for both

    def request(self, i: int) -> None:
        self.queue.append(i)

    def next(self) -> Sample:
        return self.workers[self.queue.popleft()].sample()

    def sample_all(self) -> list[Sample]:
        return [w.sample() for w in self.workers]

    def set_weights(self, i: int, weights: Any, version: int) -> None:
        self.workers[i].set_weights(weights, version)

    def get_state(self) -> dict[str, Any]:
        """Every worker's state and the order of pending requests: what an exact resume needs."""
        return {"workers": [w.get_state() for w in self.workers], "queue": list(self.queue)}

    def set_state(self, state: dict[str, Any]) -> bool:
        """Restore ``get_state``; False, with fresh workers left as they are, if some env could not be saved."""
        if len(state["workers"]) != len(self.workers) or any(
                saved["envs"] is None or len(saved["obs"]) != worker.envs.num_envs
                for worker, saved in zip(self.workers, state["workers"], strict=True)):
            return False
        for worker, saved in zip(self.workers, state["workers"], strict=True):
            worker.set_state(saved)
        self.queue = deque(state["queue"])
        return True

    def close(self) -> None:
        self.workers.clear()


def init_ray(address: str = "", dashboard: bool = False, num_cpus: int | None = None) -> bool:
    """Join ``address`` or start a private local Ray bound to localhost; True if we started it."""
    import ray

    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if address:
        ray.init(address=address, include_dashboard=dashboard, log_to_driver=True, logging_level="warning")
        return True
    # A private, single-machine Ray needs no token; workers import this checkout even when it is not installed.
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    root = str(Path(__file__).resolve().parent.parent)
    pythonpath = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    ray.init(num_cpus=num_cpus, include_dashboard=dashboard, _node_ip_address="127.0.0.1",
             dashboard_host="127.0.0.1", logging_level="warning", log_to_driver=True,
             runtime_env={"env_vars": {"PYTHONPATH": pythonpath}})
    return True


class WorkerFailure(RuntimeError):
    """Ray workers failed more often than ``max_worker_restarts`` allows; the message is one line."""


def fresh_seed(seed: int, index: int, life: int) -> int:
    """The seed of worker ``index``'s ``life``-th replacement: a stream of its own, unlike the one that died."""
    return int(np.random.SeedSequence([seed, index, life]).generate_state(1)[0] >> 1)  # < 2**31


class RayBackend:
    """Ray actors; a worker that dies or hangs is replaced in place, so a run outlives its workers.

    A failure is an actor error on one of the worker's calls (its process killed, its node gone) or
    no reply within ``worker_timeout_s``. The replacement keeps the index and settings, gets a fresh
    seed stream and the latest published weights, and is asked again for every sample the dead one
    owed, so an asynchronous schedule keeps its in-flight count and a synchronous round completes.
    """

    def __init__(self, worker_kwargs: list[dict[str, Any]], address: str = "", dashboard: bool = False,
                 worker_timeout_s: float = 300.0, max_worker_restarts: int = 100, worker_cls: type = Worker):
        import ray
        from ray import exceptions

        self.ray = ray
        # The actor died (process killed, node gone, unreachable), or its finished sample was lost with its node.
        self.faults = (exceptions.RayActorError, exceptions.ObjectLostError)
        self.started = init_ray(address, dashboard, num_cpus=max(os.cpu_count() or 1, len(worker_kwargs)))
        # SPREAD: workers over all nodes, and a replacement on any node that is left (no node affinity).
        self.remote_worker = ray.remote(num_cpus=1, max_restarts=0, scheduling_strategy="SPREAD")(worker_cls)
        self.worker_kwargs = worker_kwargs
        self.timeout_s, self.max_restarts = worker_timeout_s, max_worker_restarts
        self.restarts = 0
        self.lives = [0] * len(worker_kwargs)  # replacements so far, per worker index
        self.workers: list[Any] = [None] * len(worker_kwargs)
        self.booting: list[Any] = [None] * len(worker_kwargs)  # a ref that resolves once worker i is constructed
        for i, kw in enumerate(worker_kwargs):
            self.spawn(i, kw["seed"])
        self.pending: dict[Any, int] = {}  # ObjectRef of a sample call -> worker index
        self.owed = [0] * len(worker_kwargs)  # samples asked of each worker and not yet returned
        self.waiting_since = [0.0] * len(worker_kwargs)  # when it was last asked while idle, or last answered
        self.weights_ref: tuple[int, Any] | None = None  # the latest (version, object ref) published

    def request(self, i: int) -> None:
        if not self.owed[i]:
            self.waiting_since[i] = time.monotonic()
        self.owed[i] += 1
        self.pending[self.workers[i].sample.remote()] = i

    def next(self) -> Sample:
        while True:
            for i in self.overdue():
                self.replace(i, f"no reply within worker_timeout_s={self.timeout_s:g}")
            ref = self.oldest_ready()
            if ref is None:
                continue
            i = self.pending[ref]
            try:
                sample = self.ray.get(ref)
            except self.faults as e:
                if getattr(e, "actor_init_failed", False):
                    raise  # its constructor raised: a bug or a bad setting, which a replacement would repeat
                self.replace(i, type(e).__name__)  # asks the replacement for this sample too
                continue
            self.received([ref])
            return sample

    def oldest_ready(self) -> Any:
        """The longest-pending call that has finished (None if none does before the next worker is overdue).

        First come, first served: ``ray.wait(num_returns=1)`` returns any one ready ref, not the oldest, so a
        worker whose calls are always ready could starve the others, and a dead worker's error go unread."""
        pending = list(self.pending)  # in the order asked
        ready, _ = self.ray.wait(pending, num_returns=len(pending), timeout=0)
        if not ready:
            ready, _ = self.ray.wait(pending, num_returns=1, timeout=self.wait_s())
        ready = set(ready)
        return next((ref for ref in pending if ref in ready), None)

    def sample_all(self) -> list[Sample]:
        """One sample from every worker; a worker that fails mid-round is replaced and asked again."""
        for i in range(len(self.workers)):
            self.request(i)
        refs = list(self.pending)
        try:  # the usual round: one call, as without fault handling
            samples = self.ray.get(refs, timeout=self.wait_s())
        except (self.ray.exceptions.GetTimeoutError, *self.faults):  # someone is late or gone: one by one
            return sorted((self.next() for _ in self.workers), key=lambda s: s.worker)
        self.received(refs)
        return sorted(samples, key=lambda s: s.worker)

    def received(self, refs: list[Any]) -> None:
        for ref in refs:
            i = self.pending.pop(ref)
            self.owed[i] -= 1
            self.waiting_since[i], self.booting[i] = time.monotonic(), None

    def set_weights(self, i: int, weights: Any, version: int) -> None:
        # One object-store copy per weight version, however many workers fetch it.
        if self.weights_ref is None or self.weights_ref[0] != version:
            self.weights_ref = (version, self.ray.put(weights))
        self.workers[i].set_weights.remote(self.weights_ref[1], version)  # to a dead actor: its error is dropped

    def overdue(self) -> list[int]:
        """Workers owing a sample with no reply for ``worker_timeout_s`` (and none waiting unread).

        A worker's clock starts once it is constructed: a slow start (imports, a runtime env, an env's
        assets) is not a hang, and a constructor that fails is an actor error, not a timeout."""
        if not self.timeout_s:
            return []
        now, hung = time.monotonic(), []
        for i, owed in enumerate(self.owed):
            if not owed or now - self.waiting_since[i] <= self.timeout_s:
                continue
            if self.ray.wait([r for r, w in self.pending.items() if w == i], num_returns=1, timeout=0)[0]:
                continue  # a reply is waiting, unread while the driver was busy
            if self.booting[i] is not None:
                if self.ray.wait([self.booting[i]], timeout=0)[0]:
                    self.booting[i] = None
                self.waiting_since[i] = now  # constructing until now at the latest: its clock starts here
                continue
            hung.append(i)
        return hung

    def wait_s(self) -> float | None:
        """How long ``next`` may block before the next worker becomes overdue (None: forever)."""
        if not self.timeout_s:
            return None
        first = min(t for t, n in zip(self.waiting_since, self.owed, strict=True) if n)
        return max(first + self.timeout_s - time.monotonic(), 0.0) + 0.01

    def replace(self, i: int, reason: str) -> None:
        """Kill worker i, start its replacement with the latest weights, and re-ask what it owed."""
        if self.restarts >= self.max_restarts:
            raise WorkerFailure(f"worker {i} failed ({reason}) with all max_worker_restarts={self.max_restarts} "
                                f"replacements used; fix the cause or raise --set max_worker_restarts=N")
        self.restarts += 1
        print(f"worker {i} replaced ({reason}): restart {self.restarts} of at most {self.max_restarts}",
              file=sys.stderr, flush=True)
        self.ray.kill(self.workers[i], no_restart=True)
        lost = [ref for ref, w in self.pending.items() if w == i]
        for ref in lost:
            del self.pending[ref]
        self.owed[i] = 0
        self.lives[i] += 1
        self.spawn(i, fresh_seed(self.worker_kwargs[i]["seed"], i, self.lives[i]))
        if self.weights_ref is not None:
            self.workers[i].set_weights.remote(self.weights_ref[1], self.weights_ref[0])
        for _ in lost:
            self.request(i)

    def spawn(self, i: int, seed: int) -> None:
        self.workers[i] = self.remote_worker.remote(**{**self.worker_kwargs[i], "seed": seed}, single_thread=True)
        self.booting[i] = self.workers[i].__ray_ready__.remote()

    def get_state(self) -> None:
        """None: Ray workers run ahead of the learner, so there is no one step at which to capture them all."""
        return None

    def set_state(self, state: Any) -> bool:
        return False

    def close(self) -> None:
        # Graceful exit after the calls already queued, so no reply is cut off mid-flight.
        for w in self.workers:
            w.__ray_terminate__.remote()
        self.workers.clear()
        if self.started:
            self.ray.shutdown()
