"""Dreamer against DQN from scratch on an image gridworld, and Dreamer on CartPole (issue 16).

``gridworld``: on ``agentlab/GridWorldImage-v0`` (the 5 × 5 open grid seen as an RGB image, −1 a step), each
arm trains until its greedy path is optimal (a greedy evaluation returns minus the shortest path's length,
found by breadth-first search) or ``--budget`` env steps pass; the figure is the median over seeds of the
env steps that took, Dreamer's against DQN's (the issue asks for at most half).

``cartpole``: on ``CartPole-v1``, each arm trains until a greedy evaluation over 20 episodes averages ≥ 475 or
``--budget`` (50k) env steps pass, with the wall time of each seed.

    python -m benchmarks.dreamer gridworld --arms dreamer --seeds 5 --budget 5000 --eval-every 250
    python -m benchmarks.dreamer gridworld --arms dqn --seeds 5 --budget 30000 --eval-every 250
    python -m benchmarks.dreamer cartpole --arms dreamer --seeds 5 --budget 50000 --eval-every 2500 \
        --set batch_size=16 --set train_every=16

Every arm is the CLI's algorithm with its defaults, the table's presets for the env (``agentlab.presets``) and
any ``--set KEY=VALUE``; rows are printed as JSON lines as they finish, then one summary line per arm.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

import envs
from agentlab.config import parse_set
from benchmarks import cli
from envs.gridworld import shortest_path_length

TASKS: dict[str, dict[str, Any]] = {
    "gridworld": {"env": "agentlab/GridWorldImage-v0", "eval_episodes": 1},
    "cartpole": {"env": "CartPole-v1", "eval_episodes": 20, "solve_return": 475.0},
}
"""Each task's env and how its greedy evaluation counts as solved (the gridworld's bar is computed)."""


def solve_return(task: str) -> float:
    """The greedy return that counts as solved: the optimal return on the gridworld (every step costs its
    ``step_reward``, a deterministic greedy episode is one evaluation), the table's bar elsewhere."""
    if "solve_return" in TASKS[task]:
        return TASKS[task]["solve_return"]
    grid = envs.make_eval(TASKS[task]["env"]).unwrapped
    return shortest_path_length(grid) * grid.step_reward + grid.goal_reward


def run_arm(algo: str, task: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    from agentlab.train import train

    t0 = time.perf_counter()
    result = train({**parse_set(args.overrides), "algo": algo, "env": TASKS[task]["env"], "seed": seed,
                    "steps": args.budget,
                    "backend": args.backend, "eval_every": args.eval_every,
                    "eval_episodes": TASKS[task]["eval_episodes"], "solve_return": solve_return(task),
                    "run_dir": str(args.root / task / f"{algo}_s{seed}")}, progress=False)
    return {"solved_at": result.solved_at, "wall": time.perf_counter() - t0, "env_steps": result.env_steps,
            "final": result.eval["mean_return"], "run_dir": str(result.run_dir)}


def summarise(algo: str, rows: list[dict[str, Any]], budget: int) -> dict[str, Any]:
    """Solved seeds, and the median env steps to solve with unsolved seeds counted at the budget (so a median
    over seeds that did not all solve is a lower bound, and says so)."""
    solved = [r["solved_at"] for r in rows if r["solved_at"] is not None]
    steps = [r["solved_at"] if r["solved_at"] is not None else budget for r in rows]
    return {"arm": algo, "seeds": len(rows), "solved": len(solved), "median_steps_to_solve": float(np.median(steps)),
            "median_is_lower_bound": len(solved) < len(rows), "wall": [round(r["wall"], 1) for r in rows],
            "final_greedy": [round(r["final"], 1) for r in rows]}


def main(argv: list[str] | None = None) -> dict[str, dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=list(TASKS))
    parser.add_argument("--arms", nargs="+", default=["dreamer", "dqn"], help="algorithms (--algo names)")
    parser.add_argument("--seeds", type=int, default=5, help="how many seeds, from --first-seed on")
    parser.add_argument("--first-seed", type=int, default=0, help="the first seed (split seeds across processes)")
    parser.add_argument("--budget", type=int, default=50_000, help="env steps per run at most")
    parser.add_argument("--eval-every", type=int, default=1_000, help="env steps between greedy evaluations")
    parser.add_argument("--backend", choices=["local", "ray"], default="local")
    parser.add_argument("--root", type=Path, default=Path("runs/benchmarks/dreamer"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting for every arm, as agentlab.run's --set (an older figure's settings)")
    args = parser.parse_args(argv)
    summaries = {}
    for algo in args.arms:
        rows = []
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            rows.append(run_arm(algo, args.task, seed, args))
            print(json.dumps({"arm": algo, "seed": seed, **rows[-1]}), flush=True)
        summaries[algo] = summarise(algo, rows, args.budget)
        print(json.dumps(summaries[algo]), flush=True)
    if args.task == "gridworld" and {"dreamer", "dqn"} <= summaries.keys():
        ratio = summaries["dreamer"]["median_steps_to_solve"] / summaries["dqn"]["median_steps_to_solve"]
        print(json.dumps({"dreamer_over_dqn_median_steps": round(ratio, 3)}), flush=True)
    return summaries


if __name__ == "__main__":
    cli(main)
