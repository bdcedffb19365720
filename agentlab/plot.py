"""Learning curves: ``python -m agentlab.plot RUN_DIR [RUN_DIR ...] [--out FILE] [--x env_steps|wall_time] [--stats]``.

Runs that share algo and env but differ in seed are drawn as their mean with a band of one standard
deviation, on a common x grid; a lone run is drawn as its smoothed episode returns.

``--stats`` scores each run (its final greedy evaluation, eval.json, else the mean of its last 10% of
episode returns) and prints, per algo, the mean, median and IQM with stratified-bootstrap 95% CIs over
its runs (strata: envs), and draws them beside the performance profiles (``agentlab.stats``, rliable's
method, Agarwal et al. 2021) in stats.png. Scores are raw returns: across envs of different scales,
normalise before comparing.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from agentlab import runs, stats
from agentlab.config import ConfigError, output_file
from perception.cli import OneLineParser


def smoothed_returns(run_dir: Path, x_key: str, window: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Episode returns of a run as (x, moving average over ``window`` episodes)."""
    path = run_dir / "episodes.csv"
    data = runs.read_csv(path) if path.exists() else {}
    if not data:
        return np.zeros(0), np.zeros(0)
    x, y = np.asarray(data[x_key]), np.asarray(data["return"])
    k = max(1, min(window, len(y) // 5 or 1))
    cumsum = np.cumsum(np.insert(y, 0, 0.0))
    smooth = np.array([(cumsum[i + 1] - cumsum[max(0, i + 1 - k)]) / min(i + 1, k) for i in range(len(y))])
    return x, smooth


def group_runs(run_dirs: list[Path], labels: list[str] | None = None) -> dict[str, list[Path]]:
    """Runs by label: ``labels[i]`` for ``run_dirs[i]`` when given, else "algo · env" from each config."""
    groups: dict[str, list[Path]] = defaultdict(list)
    for i, run_dir in enumerate(run_dirs):
        if labels is None:
            cfg = runs.read_config(run_dir)
            groups[f"{cfg['run']['algo']} · {cfg['run']['env']}"].append(run_dir)
        else:
            groups[labels[i]].append(run_dir)
    return groups


def plot_runs(run_dirs: list[Path], out: Path, x_key: str = "env_steps", title: str | None = None,
              labels: list[str] | None = None) -> Path:
    """One curve per group of ``group_runs`` (``labels`` tell apart runs of the same algo and env)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, members in group_runs(run_dirs, labels).items():
        curves = [c for c in (smoothed_returns(r, x_key) for r in members) if len(c[0])]
        if not curves:
            continue
        if len(curves) == 1:
            ax.plot(*curves[0], label=label)
            continue
        end = min(x[-1] for x, _ in curves)
        grid = np.linspace(max(x[0] for x, _ in curves), end, 200)
        ys = np.stack([np.interp(grid, x, y) for x, y in curves])
        mean, std = ys.mean(0), ys.std(0)
        (line,) = ax.plot(grid, mean, label=f"{label} (mean of {len(curves)} seeds)")
        ax.fill_between(grid, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    ax.set_xlabel("environment steps" if x_key == "env_steps" else "wall time (s)")
    ax.set_ylabel("episode return (moving average)")
    ax.set_title(title or "learning curve")
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def run_score(run_dir: Path) -> float:
    """A run's score: its final greedy evaluation (eval.json), else the mean of its last 10% of episode returns."""
    path = run_dir / "eval.json"
    if path.is_file():
        return float(json.loads(path.read_text())["mean_return"])
    returns = np.asarray(smoothed_returns(run_dir, "env_steps", window=1)[1])
    if not len(returns):
        raise ConfigError(f"run '{run_dir}' has no eval.json and no finished episode to score; train it longer")
    return float(np.mean(returns[-max(1, len(returns) // 10):]))


def scores_by_algo(run_dirs: list[Path]) -> dict[str, dict[str, list[float]]]:
    """algo → env (the bootstrap's strata) → the scores of its runs."""
    table: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for run_dir in run_dirs:
        cfg = runs.read_config(run_dir)
        table[cfg["run"]["algo"]][cfg["run"]["env"]].append(run_score(run_dir))
    return table


def print_stats(table: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, tuple[float, float, float]]]:
    """One line per algo: its runs, envs, and each aggregate with its 95% CI; the summaries, by algo."""
    summaries = {algo: stats.summarize(by_env) for algo, by_env in table.items()}
    header = "  ".join(f"{name + ' [95% CI]':<26}" for name in stats.AGGREGATES)
    print(f"{'algo':<12} {'runs':>4} {'envs':>4}  {header}")
    for algo, summary in summaries.items():
        cells = [f"{p:.4g} [{lo:.4g}, {hi:.4g}]" for p, lo, hi in summary.values()]
        print(f"{algo:<12} {len(stats.pooled(table[algo])):>4} {len(table[algo]):>4}  "
              + "  ".join(f"{c:<26}" for c in cells))
    return summaries


def plot_stats(table: dict[str, dict[str, list[float]]], summaries: dict[str, dict[str, tuple[float, float, float]]],
               out: Path) -> Path:
    """Aggregates with their CIs (one panel each) and the performance profiles, one colour per algo."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, axes = plt.subplots(1, len(stats.AGGREGATES) + 1, figsize=(3 * len(stats.AGGREGATES) + 4.5, 3.2))
    colors = {algo: f"C{i}" for i, algo in enumerate(table)}
    for ax, name in zip(axes, stats.AGGREGATES, strict=False):
        for row, (algo, summary) in enumerate(summaries.items()):
            point, low, high = summary[name]
            ax.barh(row, high - low, left=low, height=0.5, color=colors[algo], alpha=0.4)
            ax.plot([point, point], [row - 0.25, row + 0.25], color=colors[algo], lw=2)
        ax.set_yticks(range(len(summaries)), list(summaries) if name == "mean" else [""] * len(summaries))
        ax.set_title(name, fontsize=10)
        ax.use_sticky_edges = False  # bars would pin the axis to their ends
        ax.margins(x=0.1)
        ax.grid(axis="x", alpha=0.3)
    everything = np.concatenate([stats.pooled(by_env) for by_env in table.values()])
    margin = 0.05 * (np.ptp(everything) or 1.0)  # the profile starts at 1 and ends at 0
    taus = np.linspace(everything.min() - margin, everything.max() + margin, 101)
    profile_ax = axes[-1]
    for algo, by_env in table.items():
        profile_ax.plot(taus, stats.performance_profile(by_env, taus), color=colors[algo], label=algo)
    profile_ax.set_xlabel("score τ")
    profile_ax.set_ylabel("fraction of runs with score > τ")
    profile_ax.set_title("performance profile", fontsize=10)
    profile_ax.grid(alpha=0.3)
    profile_ax.legend(fontsize=8)
    fig.suptitle("final score: point estimate and stratified-bootstrap 95% CI", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m agentlab.plot", description=__doc__)
    parser.add_argument("run_dirs", nargs="+", type=Path)
    parser.add_argument("--out", type=output_file(".png", ".pdf", ".svg"),
                        help="PNG to write (default: curves.png in the first run's parent)")
    parser.add_argument("--x", choices=["env_steps", "wall_time"], default="env_steps")
    parser.add_argument("--stats", action="store_true",
                        help="print and draw mean, median and IQM with bootstrap CIs and performance profiles")
    args = parser.parse_args(argv)
    single, many = ("stats.png", "stats.png") if args.stats else ("curve.png", "curves.png")
    out = args.out or (args.run_dirs[0] / single if len(args.run_dirs) == 1 else args.run_dirs[0].parent / many)
    try:
        if args.stats:
            table = scores_by_algo(args.run_dirs)
            plot_stats(table, print_stats(table), out)
        else:
            plot_runs(args.run_dirs, out, args.x)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
