"""Dyna-Q and Dyna-Q+: tabular Q-learning plus planning from a learned model (Sutton & Barto 2018, chapter 8).

``--algo dyna_q`` with ``kappa=0`` is Dyna-Q, with ``kappa>0`` Dyna-Q+; ``planning_steps=0`` is Q-learning.
"""

from __future__ import annotations

import gymnasium as gym

from agentlab.algorithms import Algorithm
from agentlab.config import ConfigError
from agentlab.dyna.actor import make_actor
from agentlab.dyna.config import DynaConfig
from agentlab.dyna.learner import DynaLearner


def make_learner(config: DynaConfig, obs_space: gym.Space, action_space: gym.Space, seed: int,
                 device: str = "cpu") -> DynaLearner:
    if not isinstance(obs_space, gym.spaces.Discrete) or not isinstance(action_space, gym.spaces.Discrete):
        raise ConfigError(f"dyna_q needs Discrete observations and actions (its model is a table of them), got "
                          f"{obs_space} and {action_space}; use a gridworld (agentlab/DynaMaze-v0)")
    return DynaLearner(config, int(obs_space.n), int(action_space.n), seed)


DYNA_Q = Algorithm("dyna_q", DynaConfig, make_actor, make_learner, "async", action_values=True)
