"""The driver killed with SIGKILL at random moments, then ``--resume``d: does the run end as if never stopped?

For each algorithm, one uninterrupted run and one run whose driver process is SIGKILLed ``--kills`` times at
uniformly random moments (each time resumed with ``python -m agentlab.run --resume RUN_DIR``), same config
and seed. Checked: both finish; env_steps never decrease in any CSV of the killed run; with the local
backend the final learner state and every CSV row (but wall time) equal the uninterrupted run's
(bit-identical); with Ray (not step-reproducible) the killed run's final greedy return is reported beside.

    python -m benchmarks.crash_resume --kills 3 --seed 0
    python -m benchmarks.crash_resume --algos dqn --backend ray --kills 2
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agentlab import runs
from benchmarks import cli

CASES: dict[str, list[str]] = {
    "q_learning": ["--algo", "q_learning", "--env", "agentlab/CliffWalking-v0", "--steps", "60000"],
    "dqn": ["--algo", "dqn", "--env", "CartPole-v1", "--steps", "30000", "--set", "checkpoint_every=2000"],
    "rainbow": ["--algo", "rainbow", "--env", "CartPole-v1", "--steps", "20000", "--set", "checkpoint_every=2000"],
    "a2c": ["--algo", "a2c", "--env", "CartPole-v1", "--steps", "100000", "--set", "checkpoint_every=5000"],
}
"""Each case's command-line flags (presets otherwise); a checkpoint every few seconds of training."""


def command(case: str, backend: str, run_dir: Path, seed: int) -> list[str]:
    return [sys.executable, "-m", "agentlab.run", *CASES[case], "--backend", backend, "--seed", str(seed),
            "--set", "eval_episodes=20", "--run-dir", str(run_dir), "--quiet"]


def run_to_end(cmd: list[str], kills: int, expected_s: float, rng: random.Random) -> tuple[float, int]:
    """Run ``cmd``; SIGKILL it ``kills`` times at random moments and resume; (wall seconds, resumes)."""
    start, resumes = time.perf_counter(), 0
    run_dir = Path(cmd[cmd.index("--run-dir") + 1])
    current = cmd
    while True:
        proc = subprocess.Popen(current, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)  # its own group: the kill reaches a Ray it started
        if resumes < kills:
            deadline = time.perf_counter() + rng.uniform(0.1, 0.3) * expected_s
            while proc.poll() is None and (time.perf_counter() < deadline or not runs.checkpoints(run_dir)):
                time.sleep(0.05)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                resumes += 1
                current = [sys.executable, "-m", "agentlab.run", "--resume", str(run_dir), "--quiet"]
                continue
        if proc.wait() != 0:
            raise RuntimeError(f"{' '.join(current)} exited {proc.returncode}")
        return time.perf_counter() - start, resumes


def csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return [{k: v for k, v in r.items() if k not in ("wall_time", "steps_per_s")} for r in csv.DictReader(f)]


def never_decrease(run_dir: Path) -> bool:
    for name in runs.LOGS:
        if (run_dir / name).is_file():
            steps = [float(r["env_steps"]) for r in csv_rows(run_dir / name)]
            if any(b < a for a, b in zip(steps, steps[1:], strict=False)):
                return False
    return True


def flat(state: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in state.items():
        out.update(flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return out


def same_learner(a: Path, b: Path) -> bool:
    sa = flat(runs.load_checkpoint(runs.latest_checkpoint(a))["learner"])
    sb = flat(runs.load_checkpoint(runs.latest_checkpoint(b))["learner"])
    if sa.keys() != sb.keys():
        return False
    for key, x in sa.items():
        y = sb[key]
        equal = torch.equal(x, y) if isinstance(x, torch.Tensor) else (
            np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y)
        if not equal:
            return False
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--algos", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--backend", default="local", choices=["local", "ray"])
    parser.add_argument("--kills", type=int, default=3, help="SIGKILLs of the driver per killed run")
    parser.add_argument("--seed", type=int, default=0, help="the runs' seed and the kill times'")
    parser.add_argument("--out", type=Path, default=Path("runs/crash_resume"))
    args = parser.parse_args(argv)
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    rng = random.Random(args.seed)
    shutil.rmtree(args.out, ignore_errors=True)
    print("| algo | backend | uninterrupted s | killed+resumed s | kills | CSV env_steps monotonic | "
          "identical learner | identical CSVs | eval straight | eval killed |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for case in args.algos:
        straight, killed = args.out / f"{case}_straight", args.out / f"{case}_killed"
        t0 = time.perf_counter()
        subprocess.run(command(case, args.backend, straight, args.seed), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        straight_s = time.perf_counter() - t0
        killed_s, kills = run_to_end(command(case, args.backend, killed, args.seed), args.kills, straight_s, rng)
        identical = [same_learner(straight, killed),
                     all(csv_rows(straight / n) == csv_rows(killed / n) for n in runs.LOGS if (straight / n).exists())]
        evals = [json_eval(straight), json_eval(killed)]
        print(f"| {case} | {args.backend} | {straight_s:.0f} | {killed_s:.0f} | {kills} | {never_decrease(killed)} | "
              f"{identical[0]} | {identical[1]} | {evals[0]} | {evals[1]} |", flush=True)


def json_eval(run_dir: Path) -> str:
    path = run_dir / "eval.json"
    return f"{json.loads(path.read_text())['mean_return']:.1f}" if path.is_file() else "-"


if __name__ == "__main__":
    cli(main)
