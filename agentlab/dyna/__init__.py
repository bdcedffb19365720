"""Dyna-Q and Dyna-Q+: tabular Q-learning plus planning from a learned model (Sutton & Barto 2018, chapter 8).

``--algo dyna_q`` with ``kappa=0`` is Dyna-Q, with ``kappa>0`` Dyna-Q+; ``planning_steps=0`` is Q-learning.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from agentlab.algorithms import Algorithm
from agentlab.dyna.actor import make_actor
from agentlab.dyna.config import DynaConfig
from agentlab.dyna.learner import DynaLearner
from agentlab.tabular import _check_discrete
from agentlab.tabular import preset as tabular_preset

BOOK_MAZES: dict[str, dict[str, Any]] = {
    "agentlab/DynaMaze-v0": {"episodes": 50},
    "agentlab/BlockingMaze-v0": {"steps": 3000},
    "agentlab/ShortcutMaze-v0": {"steps": 6000},
}
"""Run length of each of the book's experiments: Figure 8.2's 50 episodes, Figures 8.4 and 8.5's time steps."""


def make_learner(config: DynaConfig, obs_space: gym.Space, action_space: gym.Space, seed: int,
                 device: str = "cpu") -> DynaLearner:
    _check_discrete(obs_space, action_space)
    return DynaLearner(config, int(obs_space.n), int(action_space.n), seed)


def preset(env_id: str) -> dict[str, Any]:
    """Online updates (the tabular preset) with one sample in flight, so that with Ray too the actor acts on the
    table that includes the last step's planning (as local runs do; with two in flight Dyna-Q+ on the shortcut
    maze found no goal in 1,500 steps, against 38 episodes). On the book's mazes, Example 8.1's α = 0.1, ε = 0.1,
    γ = 0.95."""
    values = {**tabular_preset(env_id), "in_flight": 1}
    if env_id in BOOK_MAZES:
        values.update(alpha=0.1, gamma=0.95, epsilon=0.1, epsilon_decay=1.0, **BOOK_MAZES[env_id])
    return values


DYNA_Q = Algorithm("dyna_q", DynaConfig, make_actor, make_learner, "async", preset)
