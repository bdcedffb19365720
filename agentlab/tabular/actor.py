"""ε-greedy behaviour over a Q-table, inside a worker."""

from __future__ import annotations

from typing import Any

import numpy as np

from agentlab.core import Extras, Fragment, State


def greedy_action(q_row: np.ndarray, rng: np.random.Generator) -> int:
    """argmax with ties broken at random (a fresh table would otherwise always pick action 0)."""
    best = np.flatnonzero(q_row == q_row.max())
    return int(best[0] if best.size == 1 else best[rng.integers(best.size)])


class TabularActor:
    def __init__(self, num_actions: int, seed: int):
        self.num_actions = num_actions
        self.rng = np.random.default_rng(seed)
        self.q: np.ndarray | None = None
        self.epsilon = 1.0

    def set_weights(self, weights: dict[str, Any], version: int) -> None:
        self.q, self.epsilon = weights["q"], float(weights["epsilon"])

    def initial_state(self, num_envs: int) -> State:
        return {}  # a Q-table acts on the observation alone

    def act(self, obs: np.ndarray, state: State, episode_start: np.ndarray, explore: bool = True
            ) -> tuple[np.ndarray, State, Extras]:
        assert self.q is not None, "set_weights before act"
        actions = np.empty(len(obs), dtype=np.int64)
        for i, s in enumerate(obs):
            if explore and self.rng.random() < self.epsilon:
                actions[i] = self.rng.integers(self.num_actions)
            else:
                actions[i] = greedy_action(self.q[int(s)], self.rng)
        return actions, state, {}

    def process(self, fragment: Fragment) -> Fragment:
        return fragment
