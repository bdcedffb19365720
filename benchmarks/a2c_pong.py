"""A2C on ALE/Pong-v5 with one Ray worker per core for a fixed wall time: return curve, throughput, updates/s.

Two parts in one run:

- the single-process ALE rate: one ``envs.make("ALE/Pong-v5")`` (agentlab's training pipeline, DQN
  preprocessing) stepped with random actions in a plain loop, no policy: what one core can do;
- A2C training (the ``ALE/`` preset's hyperparameters) with ``--workers`` Ray workers ×
  ``--envs-per-worker`` envs and the learner on ``--device``, stopped by the ``minutes`` limit.

From the run folder it prints the env steps/s and learner updates/s after the first 10% of the run
(leaving Ray's start-up out), the ratio of the former to ``workers ×`` the single-process rate, and the
mean return of the first and last 100 episodes; it writes the return curve and a JSON summary to
``--out``, and copies them with metrics.csv and episodes.csv to ``$OUT`` when that is set.

    python -m benchmarks.a2c_pong --workers 16 --envs-per-worker 4 --minutes 6 --device cuda
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import envs
from agentlab import runs
from agentlab.plot import plot_runs
from agentlab.train import train
from benchmarks import cli
from benchmarks.atari_env_speed import run_for

ENV = "ALE/Pong-v5"
WARMUP_FRACTION = 0.1
"""Share of the run's wall time left out of the rates (Ray actors starting, envs being built)."""


def single_process_rate(seconds: float) -> float:
    """Agent steps per second of one training-pipeline Pong env, random actions, in this process."""
    env = envs.make(ENV, seed=0)
    env.reset()
    steps, elapsed = run_for(env, seconds, np.random.default_rng(0))
    env.close()
    return steps / elapsed


def window_rates(metrics: dict[str, list[float]], wall: float) -> dict[str, float]:
    """Env steps/s and updates/s between the first metrics row past the warm-up and the last row."""
    wall_times = np.asarray(metrics["wall_time"])
    first = int(np.searchsorted(wall_times, WARMUP_FRACTION * wall))
    if first >= len(wall_times) - 1:  # too few rows past the warm-up: fall back to the whole run
        first = 0
    last = len(wall_times) - 1
    seconds = wall_times[last] - wall_times[first]
    steps = metrics["env_steps"][last] - metrics["env_steps"][first]
    updates = metrics["updates"][last] - metrics["updates"][first]
    return {"from_s": float(wall_times[first]), "to_s": float(wall_times[last]),
            "env_steps_per_s": steps / seconds if seconds > 0 else math.nan,
            "updates_per_s": updates / seconds if seconds > 0 else math.nan}


def mean_return(returns: np.ndarray) -> float:
    return float(returns.mean()) if len(returns) else math.nan


def summarize(run_dir: Path, result: Any, single_rate: float, workers: int) -> dict[str, Any]:
    metrics = runs.read_csv(run_dir / "metrics.csv")
    episodes = runs.read_csv(run_dir / "episodes.csv")
    returns = np.asarray(episodes.get("return", []))
    wall = metrics["wall_time"][-1]  # the stopping round (result.wall_time adds the checkpoint, Ray shutdown)
    window = window_rates(metrics, wall)
    ceiling = workers * single_rate
    return {
        "env_steps": result.env_steps, "episodes": result.episodes, "wall_s": wall,
        "updates": int(metrics["updates"][-1]),
        "env_steps_per_s_whole_run": result.env_steps / wall,
        "window_from_s": window["from_s"], "window_to_s": window["to_s"],
        "env_steps_per_s": window["env_steps_per_s"], "updates_per_s": window["updates_per_s"],
        "single_process_steps_per_s": single_rate, "ceiling_steps_per_s": ceiling,
        "ratio_to_ceiling": window["env_steps_per_s"] / ceiling,
        "returns_averaged": min(100, len(returns)),
        "first_100_return": mean_return(returns[:100]), "last_100_return": mean_return(returns[-100:]),
    }


def report(s: dict[str, Any]) -> str:
    n = s["returns_averaged"]
    rows = [
        (f"single-process ALE rate ({s['rate_seconds']:g} s)",
         f"{s['single_process_steps_per_s']:.0f} agent steps/s"),
        (f"ceiling: {s['workers']} x single-process rate", f"{s['ceiling_steps_per_s']:.0f} steps/s"),
        ("training", f"{s['env_steps']} env steps, {s['episodes']} episodes, {s['updates']} updates"),
        ("training wall time", f"{s['wall_s']:.1f} s (stopped by {s['stopped_by']}; "
                               f"{s['script_train_s']:.1f} s with Ray start and shutdown)"),
        (f"env steps/s, {s['window_from_s']:.0f}-{s['window_to_s']:.0f} s",
         f"{s['env_steps_per_s']:.0f} = {s['ratio_to_ceiling']:.3f} x ceiling "
         f"(whole run {s['env_steps_per_s_whole_run']:.0f})"),
        ("learner updates/s, same window",
         f"{s['updates_per_s']:.1f} ({s['steps_per_update']} env steps each)"),
        (f"mean return, first {n} episodes", f"{s['first_100_return']:.2f}"),
        (f"mean return, last {n} episodes", f"{s['last_100_return']:.2f}"),
        ("run folder", s["run_dir"]),
    ]
    head = (f"A2C {ENV}: {s['workers']} workers x {s['envs_per_worker']} envs, learner on {s['device']} "
            f"({s['device_name']}), os.cpu_count() {s['cpu_count']}, torch {s['torch']}")
    return "\n".join(["=" * 78, head, *(f"{label:<38} {value}" for label, value in rows), "=" * 78])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=16, help="Ray workers (one per core)")
    parser.add_argument("--envs-per-worker", type=int, default=4, help="Pong envs stepped by each worker")
    parser.add_argument("--minutes", type=float, default=6.0, help="wall-time limit of the training run")
    parser.add_argument("--device", default="cuda", help="learner device: cuda or cpu")
    parser.add_argument("--rate-seconds", type=float, default=10.0, help="seconds of the single-process rate")
    parser.add_argument("--out", type=Path, default=Path("runs/bench_a2c_pong"), help="output folder")
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda was asked for but torch sees no GPU; use --device cpu")
    device_name = torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else "CPU"
    print(f"device: {device_name}; os.cpu_count(): {os.cpu_count()}", flush=True)

    single_rate = single_process_rate(args.rate_seconds)
    print(f"single-process ALE rate: {single_rate:.0f} agent steps/s", flush=True)

    # A step budget 1.25 × what workers × the single-process rate could reach, so the time limit stops the
    # run; metrics.csv gets a row every steps / 200, i.e. 160 × (ratio to ceiling) rows in the whole run.
    seconds = args.minutes * 60
    steps = int(math.ceil(1.25 * args.workers * single_rate * seconds / 10_000)) * 10_000
    args.out.mkdir(parents=True, exist_ok=True)
    run_dir = runs.new_run_dir("a2c", ENV, 0, root=args.out)
    start = time.perf_counter()
    result = train({"algo": "a2c", "env": ENV, "backend": "ray", "workers": args.workers,
                    "envs_per_worker": args.envs_per_worker, "device": args.device, "minutes": args.minutes,
                    "steps": steps, "checkpoint_every": steps, "eval_episodes": 0, "run_dir": str(run_dir)},
                   progress=True)
    train_s = time.perf_counter() - start
    fragment_length = runs.read_config(run_dir)["run"]["fragment_length"]

    summary = {"workers": args.workers, "envs_per_worker": args.envs_per_worker, "device": args.device,
               "device_name": device_name, "cpu_count": os.cpu_count(), "torch": torch.__version__,
               "rate_seconds": args.rate_seconds, "minutes": args.minutes, "steps_budget": steps,
               "stopped_by": "steps" if result.env_steps >= steps else "minutes", "script_train_s": train_s,
               "steps_per_update": args.workers * args.envs_per_worker * fragment_length,
               **summarize(run_dir, result, single_rate, args.workers), "run_dir": str(run_dir)}
    curve = plot_runs([run_dir], args.out / "a2c_pong_curve.png",
                      title=f"A2C {ENV}, {args.workers} workers x {args.envs_per_worker} envs, "
                            f"{args.minutes:g} min, {device_name}")
    summary_path = args.out / "a2c_pong_summary.json"
    summary_path.write_text(json.dumps(summary, indent=2) + "\n")
    if os.environ.get("OUT"):
        for path in (curve, summary_path, run_dir / "metrics.csv", run_dir / "episodes.csv"):
            shutil.copy(path, Path(os.environ["OUT"]) / path.name)
    print(report(summary))
    print(f"wrote {curve} and {summary_path}")


if __name__ == "__main__":
    cli(main)
