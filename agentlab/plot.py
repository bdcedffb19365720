"""Learning curves: ``python -m agentlab.plot RUN_DIR [RUN_DIR ...] [--out FILE] [--x env_steps|wall_time]``.

Runs that share algo and env but differ in seed are drawn as their mean with a band of one standard
deviation, on a common x grid; a lone run is drawn as its smoothed episode returns.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from agentlab import runs
from agentlab.config import CliParser, ConfigError, output_file


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


def main(argv: list[str] | None = None) -> int:
    parser = CliParser(prog="python -m agentlab.plot", description=__doc__)
    parser.add_argument("run_dirs", nargs="+", type=Path)
    parser.add_argument("--out", type=output_file(".png", ".pdf", ".svg"),
                        help="PNG to write (default: curves.png in the first run's parent)")
    parser.add_argument("--x", choices=["env_steps", "wall_time"], default="env_steps")
    args = parser.parse_args(argv)
    out = args.out or (args.run_dirs[0] / "curve.png" if len(args.run_dirs) == 1
                       else args.run_dirs[0].parent / "curves.png")
    try:
        plot_runs(args.run_dirs, out, args.x)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
