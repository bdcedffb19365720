"""Observation normalisation (``normalize_obs``) on a task whose observations are far from unit scale.

``agentlab/OffsetCorridor-v0`` shows 10,000 + 10·one-hot(cell): each deep agent with its defaults, with and
without ``normalize_obs``, for ``--budget`` env steps per seed; "solved" = a greedy evaluation of 3 episodes
reaching the end in the fewest steps (return −5), checked every 1,000 steps, the run stopping there.

    python -m benchmarks.normalization --seeds 3 --budget 20000
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from agentlab.train import train
from benchmarks import cli

ENV = "agentlab/OffsetCorridor-v0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algos", nargs="+", default=["dqn", "rainbow", "a2c", "a3c", "ppo"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=int, default=20_000)
    parser.add_argument("--root", type=Path, default=Path("runs/benchmarks/normalization"))
    args = parser.parse_args()
    for algo in args.algos:
        for normalize in (False, True):
            solved = []
            for seed in range(args.seeds):
                t0 = time.perf_counter()
                result = train({"algo": algo, "env": ENV, "steps": args.budget, "seed": seed, "backend": "local",
                                "eval_every": 1_000, "eval_episodes": 3, "solve_return": -5.0,
                                "normalize_obs": normalize, "checkpoint_every": args.budget,
                                "run_dir": str(args.root / f"{algo}_{'norm' if normalize else 'raw'}_s{seed}")},
                               progress=False)
                solved.append(result.solved_at)
                print(json.dumps({"algo": algo, "normalize_obs": normalize, "seed": seed, "solved_at": result.solved_at,
                                  "final": result.eval["mean_return"], "wall": round(time.perf_counter() - t0, 1)}),
                      flush=True)
            print(json.dumps({"algo": algo, "normalize_obs": normalize,
                              "solved": f"{sum(s is not None for s in solved)}/{args.seeds}", "solved_at": solved}),
                  flush=True)


if __name__ == "__main__":
    cli(main)
