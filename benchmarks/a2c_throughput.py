"""A2C sampling throughput on CartPole-v1 with Ray workers, against the raw env and AsyncVectorEnv.

Four figures in one run, all in env steps per second:

- the raw single-process rate: one ``CartPole-v1`` stepped with random actions in a plain loop, the
  most one core can do with one env; the goal is A2C at 80% of ``cores ×`` this;
- gymnasium's ``AsyncVectorEnv`` (one subprocess per env, random actions, no policy, no learning),
  with as many envs as the A2C run up to ``--async-max-envs``;
- one A2C worker's ``sample()`` alone, in this process (policy forward per step, no learner, no Ray):
  the ceiling of one core running a worker. Its CartPole envs are one numpy batch (``envs.vector``);
- A2C training with the Ray backend (``--workers`` workers × ``--envs-per-worker`` envs, policy forward
  per step, one learner update per round of 5 steps), timed on its own metrics after the first 20%
  of the run so that Ray's start-up is left out. The learner may take both cores
  (``--learner-threads 2``): in synchronous A2C the workers wait while it updates.

    python -m benchmarks.a2c_throughput --workers 2 --envs-per-worker 64 256 1024 2048 --learner-threads 1 2
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import os
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from agentlab.a2c.learner import A2CLearner
from agentlab.train import resolve, train
from agentlab.worker import Worker
from benchmarks import cli

ENV = "CartPole-v1"
FRAGMENT = 5  # the preset's n_steps


def raw_rate(seconds: float) -> float:
    env = gym.make(ENV)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(2, size=1 << 16)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for a in actions[:4096]:
            _, _, term, trunc, _ = env.step(int(a))
            if term or trunc:
                env.reset()
        steps += 4096
    return steps / (time.perf_counter() - start)


def async_vector_rate(num_envs: int, seconds: float) -> float:
    vec = gym.vector.AsyncVectorEnv([lambda: gym.make(ENV)] * num_envs)  # autoreset: next-step mode
    vec.reset(seed=0)
    rng = np.random.default_rng(0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(100):
            vec.step(rng.integers(2, size=num_envs))
        steps += 100 * num_envs
    rate = steps / (time.perf_counter() - start)
    vec.close()
    return rate


def worker_rate(envs_per_worker: int, seconds: float) -> float:
    """Env steps per second of one worker's ``sample()`` with the preset's network, in this process."""
    _, cfg, _ = resolve({"algo": "a2c", "env": ENV})
    worker = Worker("a2c", dataclasses.asdict(cfg), ENV, envs_per_worker, FRAGMENT, 0, 1, 0)
    learner = A2CLearner(cfg, worker.envs.single_observation_space, worker.envs.single_action_space, 0)
    worker.set_weights(learner.get_weights(), 0)
    worker.sample()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        steps += worker.sample().env_steps
    return steps / (time.perf_counter() - start)


def a2c_rate(workers: int, envs_per_worker: int, learner_threads: int, rounds: int, root: Path) -> float:
    run_dir = root / f"a2c_{workers}w_{envs_per_worker}e_{learner_threads}t"
    steps = rounds * workers * envs_per_worker * FRAGMENT
    train({"algo": "a2c", "env": ENV, "steps": steps, "fragment_length": FRAGMENT, "workers": workers,
           "envs_per_worker": envs_per_worker,
           "learner_threads": learner_threads, "backend": "ray", "run_dir": str(run_dir)}, progress=False)
    with open(run_dir / "metrics.csv") as f:
        rows = [(int(r["env_steps"]), float(r["wall_time"])) for r in csv.DictReader(f)]
    (s0, t0), (s1, t1) = rows[len(rows) // 5], rows[-1]
    return (s1 - s0) / (t1 - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--envs-per-worker", type=int, nargs="+", default=[4, 16, 64])
    parser.add_argument("--rounds", type=int, default=200, help="synchronous rounds (updates) of each A2C run")
    parser.add_argument("--async-max-envs", type=int, default=256,
                        help="cap on AsyncVectorEnv's envs (one process each); its rate is flat well before")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each baseline measurement")
    parser.add_argument("--learner-threads", type=int, nargs="+", default=[1],
                        help="torch threads of the learner (sync A2C: the workers wait during its update)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    from agentlab.backends import init_ray

    init_ray()  # once, outside every timed figure
    cores = os.cpu_count() or 1
    root = Path("runs") / f"bench_a2c_throughput_{time.strftime('%Y%m%d-%H%M%S')}"
    raw = raw_rate(args.seconds)
    goal = 0.8 * cores * raw
    print(f"{cores} cores; raw single-process {ENV}: {raw:,.0f} steps/s; goal 0.8 × {cores} × raw = {goal:,.0f}")
    for envs_per_worker in args.envs_per_worker:
        num_envs = args.workers * envs_per_worker
        async_envs = min(num_envs, args.async_max_envs)
        vec = async_vector_rate(async_envs, args.seconds)
        one = worker_rate(envs_per_worker, args.seconds)
        print(f"{num_envs:>5} envs: AsyncVectorEnv ({async_envs} envs) {vec:9,.0f} steps/s | "
              f"one worker alone {one:9,.0f} steps/s (x{one / raw:.2f} raw)", flush=True)
        for threads in args.learner_threads:
            a2c = a2c_rate(args.workers, envs_per_worker, threads, args.rounds, root)
            print(f"       A2C ray {args.workers} workers × {envs_per_worker} envs, learner {threads} thread(s): "
                  f"{a2c:9,.0f} steps/s = x{a2c / vec:.2f} AsyncVectorEnv, x{a2c / (cores * raw):.3f} of cores × raw",
                  flush=True)


if __name__ == "__main__":
    cli(main)
