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
