"""Where workers run: in this process, or as Ray actors. The schedule is the driver's; this only moves calls.

Both backends offer the same four calls: ``request(i)`` asks worker i for a sample, ``next()`` returns
the next finished sample (local: in request order, so runs are reproducible; Ray: whichever finishes
first), ``sample_all()`` is one synchronous round over every worker, and ``set_weights``.
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path
from typing import Any

from agentlab.core import Sample
from agentlab.worker import Worker


class LocalBackend:
    def __init__(self, worker_kwargs: list[dict[str, Any]]):
        self.workers = [Worker(**kw) for kw in worker_kwargs]
        self.queue: deque[int] = deque()

    def request(self, i: int) -> None:
        self.queue.append(i)

    def next(self) -> Sample:
        return self.workers[self.queue.popleft()].sample()

    def sample_all(self) -> list[Sample]:
        return [w.sample() for w in self.workers]

    def set_weights(self, i: int, weights: Any, version: int) -> None:
        self.workers[i].set_weights(weights, version)

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


class RayBackend:
    def __init__(self, worker_kwargs: list[dict[str, Any]], address: str = "", dashboard: bool = False):
        import ray

        self.ray = ray
        self.started = init_ray(address, dashboard, num_cpus=max(os.cpu_count() or 1, len(worker_kwargs)))
        remote_worker = ray.remote(num_cpus=1)(Worker)
        self.workers = [remote_worker.remote(**kw, single_thread=True) for kw in worker_kwargs]
        self.pending: dict[Any, int] = {}
        self.weights_ref: tuple[int, Any] | None = None

    def request(self, i: int) -> None:
        self.pending[self.workers[i].sample.remote()] = i

    def next(self) -> Sample:
        [ref], _ = self.ray.wait(list(self.pending), num_returns=1)
        del self.pending[ref]
        return self.ray.get(ref)

    def sample_all(self) -> list[Sample]:
        return self.ray.get([w.sample.remote() for w in self.workers])

    def set_weights(self, i: int, weights: Any, version: int) -> None:
        # One object-store copy per weight version, however many workers fetch it.
        if self.weights_ref is None or self.weights_ref[0] != version:
            self.weights_ref = (version, self.ray.put(weights))
        self.workers[i].set_weights.remote(self.weights_ref[1], version)

    def close(self) -> None:
        # Graceful exit after the calls already queued, so no reply is cut off mid-flight.
        for w in self.workers:
            w.__ray_terminate__.remote()
        self.workers.clear()
        if self.started:
            self.ray.shutdown()
