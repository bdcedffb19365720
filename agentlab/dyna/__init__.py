"""Dyna-Q and Dyna-Q+: tabular Q-learning plus planning from a learned model (Sutton & Barto 2018, chapter 8).

``--algo dyna_q`` with ``kappa=0`` is Dyna-Q, with ``kappa>0`` Dyna-Q+; ``planning_steps=0`` is Q-learning.
"""

from __future__ import annotations

import gymnasium as gym

from agentlab.algorithms import Algorithm
from agentlab.dyna.actor import make_actor
from agentlab.dyna.config import DynaConfig
from agentlab.dyna.learner import DynaLearner
from agentlab.tabular import _check_discrete


def make_learner(config: DynaConfig, obs_space: gym.Space, action_space: gym.Space, seed: int,
                 device: str = "cpu") -> DynaLearner:
    _check_discrete(obs_space, action_space)
    return DynaLearner(config, int(obs_space.n), int(action_space.n), seed)


DYNA_Q = Algorithm("dyna_q", DynaConfig, make_actor, make_learner, "async")
