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


def pick_uniform(candidates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One column per row ``[N]``, uniformly among the row's True entries of ``candidates [N, A]`` (each row has
    one): the argmax of uniform draws kept where allowed."""
    return np.argmax(rng.random(candidates.shape) * candidates, axis=1)


class TabularActor:
    def __init__(self, states: StateIndex, seed: int):
        self.states = states
        self.rng = np.random.default_rng(seed)
        self.q: np.ndarray | None = None
        self.greedy_q: np.ndarray | None = None
        self.epsilon = 1.0

    def set_weights(self, weights: dict[str, Any], version: int) -> None:
        self.q, self.epsilon = weights["q"], float(weights["epsilon"])
        self.greedy_q = weights.get("greedy_q", self.q)  # the table greedy play acts on (``optimism_apart``)

    def initial_state(self, num_envs: int) -> State:
        return {}  # a Q-table acts on the observation alone

    def act(self, obs: np.ndarray, state: State, episode_start: np.ndarray, explore: bool = True
            ) -> tuple[np.ndarray, State, Extras]:
        """ε-greedy over the legal actions, every env at once; ties between greedy actions broken at random (a fresh
        table would otherwise always pick action 0). Greedy play acts on ``greedy_q``."""
        assert self.q is not None and self.greedy_q is not None, "set_weights before act"
        q = (self.q if explore else self.greedy_q)[self.states.rows(obs)]  # [N, A]
        legal = self.states.legal(obs)
        if legal is not None:
            legal = legal | ~legal.any(axis=1, keepdims=True)  # no legal action (a final board): any
            q = np.where(legal, q, -np.inf)  # illegal actions are never greedy
        candidates = q == q.max(axis=1, keepdims=True)  # [N, A]
        if explore:
            explores = self.rng.random(len(q)) < self.epsilon  # [N]
            candidates = np.where(explores[:, None], True if legal is None else legal, candidates)
        return pick_uniform(candidates, self.rng), state, {}

    def process(self, fragment: Fragment) -> Fragment:
        return fragment
