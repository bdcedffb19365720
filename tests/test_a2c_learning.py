"""A2C and A3C learn CartPole through the real driver (local backend, seeded).

The fast tier stops at a modest greedy return; the slow tier asks for the solve threshold (475).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from agentlab.train import train

torch.set_num_threads(1)


def run(algo: str, run_dir: Path, steps: int, solve_return: float) -> tuple[int | None, float]:
    result = train({"algo": algo, "env": "CartPole-v1", "steps": steps, "seed": 0, "backend": "local",
                    "eval_every": 5000, "eval_episodes": 10, "solve_return": solve_return,
                    "checkpoint_every": steps, "run_dir": str(run_dir)}, progress=False)
    assert result.eval is not None
    return result.solved_at, result.eval["mean_return"]


@pytest.mark.parametrize("algo", ["a2c", "a3c"])
def test_cartpole_greedy_return_passes_150(algo: str, tmp_path: Path) -> None:
    solved_at, _ = run(algo, tmp_path / algo, steps=40_000, solve_return=150)
    assert solved_at is not None, f"{algo} never reached a greedy mean return of 150 in 40k steps"


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["a2c", "a3c"])
def test_cartpole_solved(algo: str, tmp_path: Path) -> None:
    solved_at, final = run(algo, tmp_path / algo, steps=300_000, solve_return=475)
    assert solved_at is not None, f"{algo} never reached a greedy mean return of 475 in 300k steps"
    assert final >= 400
