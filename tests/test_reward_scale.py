"""The deep agents' defaults learn where returns are far from [−10, 10]: a combination-lock corridor costing 20 a step
(``envs.corridor``, 6 cells, one-hot observations).

Greedy play reaches the end in 5 steps (return −100); a policy that cannot rank the two actions walks into the wall
and is truncated at −1,000. Every discounted value here is below −90, so Rainbow's C51 head on a support of
[−10, 10] clips them all to the bottom atom and cannot rank them; its default support reaches such returns (atoms
even in Pohlen et al.'s h).
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pytest
import torch

from agentlab.train import train

torch.set_num_threads(1)

ENV = "tests/ScaledCorridor-v0"
gym.register(ENV, entry_point="envs.corridor:Corridor", max_episode_steps=50, kwargs={"step_reward": -20.0})


@pytest.mark.parametrize("algo", ["dqn", "rainbow", "a2c", "ppo"])
def test_defaults_learn_a_large_reward_scale(algo: str, tmp_path: Path) -> None:
    result = train({"algo": algo, "env": ENV, "steps": 20_000, "seed": 0, "backend": "local", "eval_every": 1_000,
                    "eval_episodes": 3, "solve_return": -100.0, "checkpoint_every": 10_000,
                    "run_dir": str(tmp_path / algo)}, progress=False)
    assert result.solved_at is not None, f"{algo}'s defaults never walked the corridor (greedy −100) in 20k steps"


def test_a_narrow_support_cannot_rank_these_values(tmp_path: Path) -> None:
    """The control: the same run with the old default support, [−10, 10] evenly spaced."""
    result = train({"algo": "rainbow", "env": ENV, "steps": 6_000, "seed": 0, "backend": "local",
                    "eval_every": 1_000, "eval_episodes": 3, "solve_return": -100.0, "checkpoint_every": 6_000,
                    "v_min": -10.0, "v_max": 10.0, "support_spacing": "linear", "run_dir": str(tmp_path / "narrow")},
                   progress=False)
    assert result.solved_at is None
