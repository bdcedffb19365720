"""Composite observation spaces (``envs.composite``): tuples of Discrete become one Discrete, the rest a flat Box,
so the tabular and the deep agents train on envs such as Blackjack without a wrapper of the user's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import envs
from agentlab.train import train
from envs.composite import DiscreteProduct

torch.set_num_threads(1)


class DictObservations(gym.Env):
    """A 3-cell walk to the right observed as ``{"position": Box(1), "last_action": Discrete(2)}``."""

    observation_space = gym.spaces.Dict({"position": gym.spaces.Box(0.0, 2.0, (1,), np.float32),
                                         "last_action": gym.spaces.Discrete(2)})
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        self.cell = 0
        return {"position": np.array([0.0], np.float32), "last_action": 0}, {}

    def step(self, action: int) -> tuple[dict, float, bool, bool, dict]:
        self.cell = max(0, self.cell + (1 if action == 1 else -1))
        obs = {"position": np.array([self.cell], np.float32), "last_action": int(action)}
        return obs, -1.0, self.cell == 2, False, {}


gym.register("tests/DictObservations-v0", entry_point=DictObservations, max_episode_steps=20)


def test_blackjack_tuples_are_distinct_rows_of_one_discrete() -> None:
    env = envs.make("Blackjack-v1", seed=0)
    assert isinstance(env.observation_space, gym.spaces.Discrete) and env.observation_space.n == 32 * 11 * 2
    raw = env.unwrapped
    seen: dict[int, tuple] = {}
    for k in range(300):
        obs, _ = env.reset(seed=k)
        player, dealer, ace = raw._get_obs()
        assert env.observation_space.contains(obs)
        assert seen.setdefault(obs, (player, dealer, ace)) == (player, dealer, ace)  # one row, one tuple
        assert obs == (player * 11 + dealer) * 2 + ace
    assert len(seen) > 100
    layers = []
    while isinstance(env, gym.Wrapper):
        layers.append(type(env))
        env = env.env
    assert DiscreteProduct in layers


def test_q_learning_plays_blackjack_better_than_sticking(tmp_path: Path) -> None:
    """Always sticking scores −0.18 a hand, random play −0.40 (20,000 hands each); the greedy table must beat both."""
    result = train({"algo": "q_learning", "env": "Blackjack-v1", "steps": 20_000, "seed": 0, "backend": "local",
                    "eval_episodes": 2_000, "run_dir": str(tmp_path / "bj")}, progress=False)
    assert result.eval["mean_return"] >= -0.13


def test_a_dict_observation_is_flattened_for_the_deep_agents(tmp_path: Path) -> None:
    env = envs.make("tests/DictObservations-v0")
    assert env.observation_space.shape == (3,)  # the Box, then the Discrete one-hot (gymnasium orders keys)
    result = train({"algo": "dqn", "env": "tests/DictObservations-v0", "steps": 3_000, "seed": 0, "backend": "local",
                    "learning_starts": 200, "eval_every": 500, "eval_episodes": 3, "solve_return": -2.0,
                    "run_dir": str(tmp_path / "dict")}, progress=False)
    assert result.solved_at is not None
