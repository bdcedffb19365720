"""ε-greedy behaviour over a Q-table, inside a worker."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from agentlab.core import Extras, Fragment, State
from envs.masks import MaskedBox, binary_features, split_mask

MAX_BITS = 24
"""The most binary features a Q-table indexes (2^24 rows): a tic-tac-toe board is 18."""


class StateIndex:
    """Rows of the Q-table: a Discrete observation is its own row; a ``MaskedBox`` of 0/1 features (a board game)
    is the binary number its features spell, and its legal-action mask restricts the actions."""

    def __init__(self, obs_space: gym.Space):
        self.space = obs_space
        if isinstance(obs_space, gym.spaces.Discrete):
            self.num_states, self.bits = int(obs_space.n), None
            return
        binary = isinstance(obs_space, MaskedBox) and obs_space.features <= MAX_BITS and binary_features(obs_space)
        if not binary:
            raise ValueError(f"a Q-table needs Discrete observations or at most {MAX_BITS} integer 0/1 features, "
                             f"got {obs_space}")
        self.num_states, self.bits = 2 ** obs_space.features, 2 ** np.arange(obs_space.features)

    def rows(self, obs: np.ndarray) -> np.ndarray:
        """Q-table rows ``[N]`` of observations ``[N, ...]``."""
        if self.bits is None:
            return np.asarray(obs).astype(np.int64).reshape(len(obs))
        features = split_mask(self.space, obs)[0]
        return (features > 0.5).astype(np.int64) @ self.bits

    def legal(self, obs: np.ndarray) -> np.ndarray | None:
        """``[N, A]`` legal actions, or None when the env has no mask."""
        return split_mask(self.space, obs)[1]


def greedy_action(q_row: np.ndarray, rng: np.random.Generator) -> int:
    """argmax with ties broken at random (a fresh table would otherwise always pick action 0)."""
    best = np.flatnonzero(q_row == q_row.max())
    return int(best[0] if best.size == 1 else best[rng.integers(best.size)])


class TabularActor:
    def __init__(self, states: StateIndex, num_actions: int, seed: int):
        self.states = states
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
        legal = self.states.legal(obs)
        for i, s in enumerate(self.states.rows(obs)):
            q_row = self.q[s]
            if legal is not None:
                q_row = np.where(legal[i], q_row, -np.inf)  # illegal actions are never greedy
            if explore and self.rng.random() < self.epsilon:
                actions[i] = (self.rng.integers(self.num_actions) if legal is None
                              else self.rng.choice(np.flatnonzero(legal[i])))
            else:
                actions[i] = greedy_action(q_row, self.rng)
        return actions, state, {}

    def process(self, fragment: Fragment) -> Fragment:
        return fragment
