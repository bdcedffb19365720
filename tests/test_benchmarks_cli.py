"""The benchmark scripts' command line: a refused setting is one line and exit 2, as in ``agentlab.run``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_benchmark_into_a_used_run_folder_is_one_line_and_exit_2(tmp_path) -> None:
    used = tmp_path / "dqn_raw_s0"
    used.mkdir(parents=True)
    (used / "episodes.csv").write_text("kept\n")
    done = subprocess.run([sys.executable, "-m", "benchmarks.normalization", "--algos", "dqn", "--seeds", "1",
                           "--budget", "100", "--root", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "not empty" in lines[0] and "--resume" in lines[0]
    assert (used / "episodes.csv").read_text() == "kept\n"  # nothing lost


def test_the_classic_control_defaults_arm_is_what_an_env_without_a_preset_row_gets() -> None:
    from dataclasses import asdict

    from agentlab.train import resolve
    from benchmarks.classic_control import defaults_only

    steps = 200_000  # DQN's ε schedule is a tenth of the budget unless a row or --set names it
    undone = resolve({**defaults_only("dqn", "CartPole-v1", steps), "algo": "dqn", "env": "CartPole-v1",
                      "steps": steps})[1]
    no_row = resolve({"algo": "dqn", "env": "Acrobot-v1", "steps": steps})[1]  # no preset row names Acrobot
    assert asdict(undone) == asdict(no_row)
    assert undone.epsilon_decay_steps == steps // 10 and undone.lr_end == 1.0
