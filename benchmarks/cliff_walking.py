"""Sutton & Barto (2018) Figure 6.4: SARSA vs Q-learning on the cliff, through agentlab's actor–learner loop.

ε = 0.1 fixed, α = 0.5, γ = 1, 500 episodes, returns averaged over seeds. Expected (the book): SARSA's
online return ends clearly above Q-learning's (about −25 vs −50), because Q-learning learns the optimal
path along the edge and keeps falling off it while exploring, while SARSA learns the safer path.

    python -m benchmarks.cliff_walking --backend local --seeds 50
    python -m benchmarks.cliff_walking --backend ray --workers 2 --seeds 50
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from agentlab import runs
from agentlab.train import train
from benchmarks import cli


def greedy_path(q: np.ndarray) -> tuple[str, float]:
    """Follow the greedy policy of ``q`` from the start until the goal or a repeated state.

    Returns the path's kind and its return: "edge" when every step runs along the row next to the
    cliff (the optimal, risky path: return −13), "safer" when it climbs further from the cliff,
    "stuck" when it loops before the goal (an unvisited state whose untried actions still hold 0).
    """
    import envs

    env = envs.make_eval("agentlab/CliffWalking-v0")
    grid = env.unwrapped
    s, _ = env.reset(seed=0)
    seen, rows, total, done = {s}, [], 0.0, False
    while not done:
        s, r, term, trunc, _ = env.step(int(np.argmax(q[s])))
        total, done = total + r, term
        if s in seen or trunc:
            return "stuck", total
        seen.add(s)
        rows.append(grid.to_pos(s)[0])
    return ("edge" if min(rows) == grid.nrow - 2 else "safer"), total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["local", "ray"], default="local")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--episodes", type=int, default=500)
    parser.add_argument("--fragment-length", type=int, default=1,
                        help="steps per fragment (1: the textbook's online updates; Ray wants more per call)")
    parser.add_argument("--out", type=Path, default=Path("docs/figures"))
    args = parser.parse_args()
    if args.backend == "ray":
        from agentlab.backends import init_ray

        init_ray()  # once for all runs
    root = Path("runs") / f"bench_cliff_{args.backend}_{args.workers}w_{time.strftime('%Y%m%d-%H%M%S')}"
    curves: dict[str, np.ndarray] = {}
    summary: dict[str, dict] = {}
    t0 = time.perf_counter()
    for algo in ("sarsa", "q_learning"):
        rows, kinds = [], []
        for seed in range(args.seeds):
            result = train({"algo": algo, "env": "agentlab/CliffWalking-v0", "seed": seed,
                            "backend": args.backend, "workers": args.workers, "episodes": args.episodes,
                            "steps": 10_000_000, "alpha": 0.5, "gamma": 1.0, "epsilon": 0.1,
                            "epsilon_decay": 1.0, "fragment_length": args.fragment_length,
                            "checkpoint_every": 10_000_000,
                            "run_dir": str(root / f"{algo}_s{seed}")}, progress=False)
            rows.append(np.asarray(runs.read_csv(result.run_dir / "episodes.csv")["return"])[: args.episodes])
            kinds.append(greedy_path(result.learner.behaviour_q())[0])
        curves[algo] = np.mean(rows, axis=0)
        summary[algo] = {"last100_online_return": float(curves[algo][-100:].mean()),
                         "greedy_paths": {k: kinds.count(k) for k in ("edge", "safer", "stuck")}}
        last100 = summary[algo]["last100_online_return"]
        print(f"{algo:>10}: mean online return over the last 100 episodes {last100:.1f}; "
              f"greedy paths over {args.seeds} seeds {summary[algo]['greedy_paths']}", flush=True)
    wall = time.perf_counter() - t0
    print(f"backend={args.backend} workers={args.workers} fragment_length={args.fragment_length} "
          f"seeds={args.seeds} episodes={args.episodes} "
          f"wall={wall:.0f}s")
    args.out.mkdir(parents=True, exist_ok=True)
    figure = args.out / f"cliff_walking_{args.backend}.png"
    plot(curves, figure, f"Cliff walking, {args.seeds} seeds, {args.backend} backend, {args.workers} worker(s)")
    print(json.dumps({"figure": str(figure), **summary}))


def plot(curves: dict[str, np.ndarray], out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for algo, curve in curves.items():
        k = 10  # the book smooths its curves too
        smooth = np.convolve(curve, np.ones(k) / k, mode="valid")
        ax.plot(np.arange(len(smooth)) + k, smooth, label="Sarsa" if algo == "sarsa" else "Q-learning")
    ax.set_ylim(-100, -10)
    ax.set_xlabel("episodes")
    ax.set_ylabel("sum of rewards during episode")
    ax.set_title(title, fontsize=9)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    cli(main)
