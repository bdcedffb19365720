"""Sutton & Barto (2018) Figures 8.2, 8.4 and 8.5: Dyna-Q and Dyna-Q+ on the book's mazes, through agentlab's loop.

Every run is ``agentlab.train.train`` with ``--algo dyna_q`` on the local backend (one worker, one env,
``fragment_length=1``: the book's online algorithm), seeded by its repetition number, so the whole benchmark
is reproducible.

Figure 8.2 (Example 8.1, Dyna maze): n = 0, 5, 50 planning steps, α = 0.1, ε = 0.1, γ = 0.95, Q₀ = 0, ties
broken at random, 50 episodes, steps per episode averaged over 30 repetitions; each repetition's seed is the
same for every n, so the first episode (about 1,700 steps in the book) is the same for all n. The book: "the
nonplanning agent took about 25 episodes to reach (ε-)optimal performance, whereas the n = 5 agent took about
five episodes, and the n = 50 agent took only three episodes."

Figures 8.4 and 8.5 (Examples 8.2, 8.3): cumulative reward of Dyna-Q and Dyna-Q+ on the blocking maze (changes
after 1,000 steps, 3,000 in all) and the shortcut maze (changes after 3,000 steps, 6,000 in all). The book
gives neither n, α nor κ for them; we use the settings of Shangtong Zhang's reproduction of the book's figures
(github.com/ShangtongZhang/reinforcement-learning-an-introduction, chapter08/maze.py): blocking n = 10, α = 1,
κ = 1e-4; shortcut n = 50, α = 1, κ = 1e-3; ε = 0.1 and γ = 0.95 as in Example 8.1. The book's figures show
both agents stalling after the blocking change and Dyna-Q+ recovering sooner and staying ahead; on the
shortcut maze Dyna-Q never finds the shortcut while Dyna-Q+ does, and the gap grows.

    python -m benchmarks.dyna_maze --runs 30
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

import envs
from agentlab import runs
from agentlab.train import train
from benchmarks import cli

CHANGING = {
    "blocking": {"env": "agentlab/BlockingMaze-v0", "steps": 3000, "change": 1000, "planning_steps": 10,
                 "alpha": 1.0, "kappa": 1e-4, "figure": "8.4"},
    "shortcut": {"env": "agentlab/ShortcutMaze-v0", "steps": 6000, "change": 3000, "planning_steps": 50,
                 "alpha": 1.0, "kappa": 1e-3, "figure": "8.5"},
}
"""Figures 8.4 and 8.5: the maze, its length, when it changes, and the chosen (n, α, κ)."""


def run_dyna(root: Path, name: str, values: dict[str, Any]) -> dict[str, np.ndarray]:
    """One training run; its episodes.csv as arrays."""
    base = {"algo": "dyna_q", "backend": "local", "workers": 1, "envs_per_worker": 1, "fragment_length": 1,
            "epsilon": 0.1, "epsilon_decay": 1.0, "gamma": 0.95, "q_init": 0.0, "steps": 10_000_000,
            "checkpoint_every": 10_000_000, "run_dir": str(root / name)}
    result = train({**base, **values}, progress=False)
    return {k: np.asarray(v) for k, v in runs.read_csv(result.run_dir / "episodes.csv").items()}


def epsilon_optimal_steps(env_id: str, epsilon: float) -> float:
    """Expected steps from the start of the ε-greedy policy over an optimal one (ties split evenly)."""
    grid = envs.make_eval(env_id).unwrapped
    num_states, moves = grid.nrow * grid.ncol, 4
    next_state = np.zeros((num_states, moves), np.int64)
    ends = np.zeros((num_states, moves), bool)
    for s in range(num_states):
        for a in range(moves):
            grid.state = s
            next_state[s, a], _, ends[s, a], _, _ = grid.step(a)
    dist = np.full(num_states, np.inf)  # steps to the goal
    for _ in range(num_states):
        dist = np.minimum(dist, 1 + np.where(ends, 0, dist[next_state]).min(axis=1))
    to_go = 1 + np.where(ends, 0, dist[next_state])  # [S, A]
    greedy = to_go == to_go.min(axis=1, keepdims=True)
    policy = epsilon / moves + (1 - epsilon) * greedy / greedy.sum(axis=1, keepdims=True)  # [S, A]
    transition = np.zeros((num_states, num_states))
    for a in range(moves):
        np.add.at(transition, (np.arange(num_states), next_state[:, a]), policy[:, a] * ~ends[:, a])
    reachable = np.isfinite(dist)
    sub = transition[np.ix_(reachable, reachable)]
    expected = np.linalg.solve(np.eye(len(sub)) - sub, np.ones(len(sub)))  # E = 1 + P E
    return float(expected[np.flatnonzero(reachable).tolist().index(grid.start_state)])


def figure_8_2(root: Path, repetitions: int, episodes: int, out: Path) -> dict[str, Any]:
    lengths = {n: [] for n in (0, 5, 50)}
    for rep in range(repetitions):
        for n in lengths:
            data = run_dyna(root, f"fig8_2_n{n}_r{rep}", {"env": "agentlab/DynaMaze-v0", "seed": rep, "alpha": 0.1,
                                                          "planning_steps": n, "episodes": episodes})
            lengths[n].append(data["length"][:episodes])
    curves = {n: np.mean(rows, axis=0) for n, rows in lengths.items()}  # [episodes]
    first_same = all(np.array_equal(lengths[0][r][:1], lengths[n][r][:1]) for n in lengths for r in range(repetitions))
    optimum = epsilon_optimal_steps("agentlab/DynaMaze-v0", 0.1)
    threshold = 1.25 * optimum

    def reached(curve: np.ndarray) -> int | None:
        """First episode (1-based) from which the mean stays within 25% of the ε-greedy optimum."""
        above = np.flatnonzero(curve > threshold)
        return None if above.size == len(curve) else int(above[-1] + 2) if above.size else 1

    summary = {"first_episode_mean": float(curves[0][0]), "first_episode_same_for_all_n": bool(first_same),
               "epsilon_optimal_steps": optimum,
               "n": {n: {"episode_2": float(c[1]), "episode_3": float(c[2]), "episode_5": float(c[4]),
                         "episode_10": float(c[9]), "episode_25": float(c[24]), "last_10": float(c[-10:].mean()),
                         "episodes_to_eps_optimal": reached(c)} for n, c in curves.items()}}
    plot_steps(curves, out / "dyna_maze_fig8_2.png", repetitions)
    return summary


def cumulative_reward(data: dict[str, np.ndarray], steps: int) -> np.ndarray:
    """Reward summed over time steps 1..t, for t = 1..steps (rewards come only at the goal, at episode ends)."""
    per_step = np.zeros(steps + 1)
    np.add.at(per_step, data["env_steps"].astype(np.int64), data["return"])
    return np.cumsum(per_step)[1:]  # [steps]


def figure_changing(root: Path, name: str, repetitions: int, out: Path) -> dict[str, Any]:
    spec = CHANGING[name]
    curves: dict[str, np.ndarray] = {}
    recovery: dict[str, float] = {}
    final_length: dict[str, float] = {}  # over recovered runs: the median length of their last 10 episodes
    recovered: dict[str, int] = {}  # runs with 10 or more episodes begun after the change
    short: dict[str, int] = {}  # recovered runs whose last 10 episodes take the 10-step path
    for label, kappa in (("Dyna-Q", 0.0), ("Dyna-Q+", spec["kappa"])):
        rows, waits, final = [], [], []
        for rep in range(repetitions):
            data = run_dyna(root, f"{name}_k{kappa}_r{rep}", {"env": spec["env"], "seed": rep, "steps": spec["steps"],
                                                             "alpha": spec["alpha"], "kappa": kappa,
                                                             "planning_steps": spec["planning_steps"]})
            rows.append(cumulative_reward(data, spec["steps"]))
            after = data["env_steps"][data["env_steps"] > spec["change"]]
            waits.append(after[0] - spec["change"] if after.size else np.inf)
            begun_after = data["length"][data["env_steps"] - data["length"] >= spec["change"]]
            if begun_after.size >= 10:
                final.append(np.median(begun_after[-10:]))
        curves[label] = np.mean(rows, axis=0)
        recovery[label] = float(np.median(waits))
        final_length[label] = float(np.mean(final)) if final else float("nan")
        recovered[label] = len(final)
        short[label] = int(np.sum(np.asarray(final) <= 13))  # ε-greedy on the 10-step path, not the 16-step one
    change, end = spec["change"], spec["steps"]
    summary = {label: {f"at_{change}": float(c[change - 1]), f"at_{end}": float(c[-1]),
                       "gained_after_change": float(c[-1] - c[change - 1]),
                       "median_steps_to_first_goal_after_change": recovery[label],
                       "recovered_runs": recovered[label], "final_episode_length": final_length[label],
                       "runs_ending_on_the_10_step_path": short[label]} for label, c in curves.items()}
    plot_cumulative(curves, change, out / f"dyna_{name}_fig{spec['figure'].replace('.', '_')}.png",
                    f"{name} maze (Fig. {spec['figure']}), {repetitions} runs, n={spec['planning_steps']}, "
                    f"α={spec['alpha']}, κ={spec['kappa']}")
    return summary


def plot_steps(curves: dict[int, np.ndarray], path: Path, repetitions: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for n, curve in curves.items():
        ax.plot(np.arange(2, len(curve) + 1), curve[1:], label=f"{n} planning steps" if n else "0 planning steps "
                "(direct RL only)")
    ax.set_ylim(0, 800)
    ax.set_xlabel("episodes")
    ax.set_ylabel("steps per episode")
    ax.set_title(f"Dyna maze (Fig. 8.2), mean of {repetitions} runs; episode 1 not shown", fontsize=9)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_cumulative(curves: dict[str, np.ndarray], change: int, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, curve in curves.items():
        ax.plot(np.arange(1, len(curve) + 1), curve, label=label)
    ax.axvline(change, color="grey", linestyle=":", label="maze changes")
    ax.set_xlabel("time steps")
    ax.set_ylabel("cumulative reward")
    ax.set_title(title, fontsize=9)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30, help="repetitions per curve (the book: 30)")
    parser.add_argument("--episodes", type=int, default=50, help="episodes per Figure 8.2 run (the book: 50)")
    parser.add_argument("--figures", nargs="+", default=["8.2", "8.4", "8.5"], choices=["8.2", "8.4", "8.5"])
    parser.add_argument("--out", type=Path, default=Path("docs/figures"))
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    root = Path("runs") / f"bench_dyna_{time.strftime('%Y%m%d-%H%M%S')}"
    results: dict[str, Any] = {}
    for figure in args.figures:
        t0 = time.perf_counter()
        if figure == "8.2":
            s = results["fig8_2"] = figure_8_2(root, args.runs, args.episodes, args.out)
            print(f"Fig 8.2: first episode {s['first_episode_mean']:.0f} steps (book: about 1700), the same for all n: "
                  f"{s['first_episode_same_for_all_n']}; ε-greedy optimum {s['epsilon_optimal_steps']:.1f} steps "
                  f"(shortest path 14)")
            book = {0: "about 25", 5: "about 5", 50: "3"}
            for n, row in s["n"].items():
                print(f"  n={n:>2}: episode 2 {row['episode_2']:6.1f}, 3 {row['episode_3']:6.1f}, "
                      f"5 {row['episode_5']:6.1f}, 10 {row['episode_10']:5.1f}, 25 {row['episode_25']:5.1f}, "
                      f"last 10 {row['last_10']:5.1f}; "
                      f"episodes to ε-optimal {row['episodes_to_eps_optimal']} (book: {book[n]})")
        else:
            name = "blocking" if figure == "8.4" else "shortcut"
            s = results[name] = figure_changing(root, name, args.runs, args.out)
            spec = CHANGING[name]
            print(f"Fig {figure} ({name} maze, change at {spec['change']}):")
            change, end = spec["change"], spec["steps"]
            for label, row in s.items():
                print(f"  {label:>7}: cumulative reward at {change} {row[f'at_{change}']:6.1f}, at {end} "
                      f"{row[f'at_{end}']:6.1f} (+{row['gained_after_change']:.1f} after the change); median steps "
                      f"from the change to the next goal {row['median_steps_to_first_goal_after_change']:.0f}; "
                      f"{row['recovered_runs']}/{args.runs} runs with 10 episodes after it, their last 10 "
                      f"{row['final_episode_length']:.1f} steps (paths: 10 right, 16 left), "
                      f"{row['runs_ending_on_the_10_step_path']} of them on the 10-step path")
        print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    cli(main)
