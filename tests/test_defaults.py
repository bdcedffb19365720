"""The deep agents' defaults learn on an env that has no preset row (Acrobot-v1: −500 for a random policy).

Acrobot-v1 is in no issue's list and in no row of ``agentlab.presets``; the runs go through the real driver
(local backend, seeded) and stop at their first greedy evaluation past the threshold.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from agentlab.presets import PRESETS, preset
from agentlab.train import train

torch.set_num_threads(1)

ENV = "Acrobot-v1"


def first_pass(algo: str, run_dir: Path, steps: int, threshold: float) -> int | None:
    result = train({"algo": algo, "env": ENV, "steps": steps, "seed": 0, "backend": "local",
                    "eval_every": 20_000, "eval_episodes": 10, "solve_return": threshold,
                    "checkpoint_every": steps, "run_dir": str(run_dir)}, progress=False)
    return result.solved_at


def test_acrobot_has_no_tuned_row() -> None:
    assert all(row.envs == ("*",) for row in PRESETS if row.matches("a2c", ENV) or row.matches("dqn", ENV))
    assert preset("dqn", ENV) == {}


@pytest.mark.parametrize("algo", ["a2c", "a3c"])
def test_actor_critic_defaults_learn_acrobot(algo: str, tmp_path: Path) -> None:
    solved_at = first_pass(algo, tmp_path / algo, steps=100_000, threshold=-150)
    assert solved_at is not None, f"{algo}'s defaults never reached a greedy mean of −150 on {ENV} in 100k steps"


@pytest.mark.slow
def test_dqn_defaults_learn_acrobot(tmp_path: Path) -> None:
    solved_at = first_pass("dqn", tmp_path / "dqn", steps=80_000, threshold=-200)
    assert solved_at is not None, f"DQN's defaults never reached a greedy mean of −200 on {ENV} in 80k steps"


@pytest.mark.slow
def test_rainbow_defaults_learn_acrobot(tmp_path: Path) -> None:
    """Acrobot's discounted returns lie in [−100, 0]: the default C51 support must reach them (it did not at ±10)."""
    solved_at = first_pass("rainbow", tmp_path / "rainbow", steps=40_000, threshold=-150)
    assert solved_at is not None, f"Rainbow's defaults never reached a greedy mean of −150 on {ENV} in 40k steps"
