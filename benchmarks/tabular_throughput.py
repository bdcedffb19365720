"""Tabular env steps per second through agentlab's whole loop, against a plain single-process loop.

The baseline is the textbook program: one env, ε-greedy on a Q-table, a Q-learning update after every
step, no fragments, no workers, no logging. It is measured in the same run, so the ratio is fair. Ours log
every episode (CSV and TensorBoard), metrics and checkpoints as any run does; a worker steps its envs as one
batch (``envs.vector.GridBatch``) and acts for all of them in one pass.

    python -m benchmarks.tabular_throughput --steps 200000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import envs
from agentlab.train import train
from benchmarks import cli

ENV = "agentlab/CliffWalking-v0"


def plain_loop(steps: int, seed: int = 0) -> float:
    env = envs.make(ENV, seed=seed)
    rng = np.random.default_rng(seed)
    q = np.zeros((env.observation_space.n, env.action_space.n))
    s, _ = env.reset(seed=seed)
    start = time.perf_counter()
    for _ in range(steps):
        a = int(rng.integers(4)) if rng.random() < 0.1 else int(np.argmax(q[s]))
        s2, r, term, trunc, _ = env.step(a)
        q[s, a] += 0.5 * (r + (0.0 if term else q[s2].max()) - q[s, a])
        s = env.reset()[0] if term or trunc else s2
    return steps / (time.perf_counter() - start)


def agentlab_loop(steps: int, backend: str, workers: int, num_envs: int, fragment_length: int) -> float:
    """Env steps per second of training (``RunResult.wall_time``: the loop, not the final evaluation or plot)."""
    result = train({"algo": "q_learning", "env": ENV, "steps": steps, "backend": backend, "workers": workers,
                    "envs_per_worker": num_envs, "fragment_length": fragment_length,
                    "run_dir": f"runs/bench_throughput_{backend}_{workers}w{num_envs}e_f{fragment_length}"
                    f"_{time.strftime('%H%M%S')}"}, progress=False)
    return result.env_steps / result.wall_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200_000)
    args = parser.parse_args()
    from agentlab.backends import init_ray

    init_ray()  # started once, outside the timed runs (~4 s)
    baseline = plain_loop(args.steps)
    print(f"plain single-process loop (baseline)      {baseline:9,.0f} steps/s   x1.00")
    for backend, workers, num_envs, frag in (("local", 1, 1, 1), ("local", 1, 1, 64), ("local", 1, 16, 64),
                                             ("local", 2, 16, 64), ("ray", 2, 16, 64), ("ray", 2, 16, 256)):
        rate = agentlab_loop(args.steps, backend, workers, num_envs, frag)
        print(f"agentlab {backend:>5}, {workers} worker(s) of {num_envs:>2} env(s), fragment {frag:>3}  "
              f"{rate:9,.0f} steps/s   x{rate / baseline:.2f}", flush=True)


if __name__ == "__main__":
    cli(main)
