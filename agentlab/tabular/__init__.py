"""Tabular TD control: Q-learning, SARSA, Expected SARSA, Double Q-learning."""

from __future__ import annotations

from functools import partial

import gymnasium as gym

from agentlab.algorithms import Algorithm
from agentlab.config import ConfigError
from agentlab.tabular.actor import StateIndex, TabularActor
from agentlab.tabular.config import TabularConfig
from agentlab.tabular.learner import TabularLearner


def _states(obs_space: gym.Space, action_space: gym.Space) -> StateIndex:
    """The Q-table's rows for ``obs_space``, or a ConfigError when a table cannot hold it."""
    try:
        if not isinstance(action_space, gym.spaces.Discrete):
            raise ValueError(f"Discrete actions, got {action_space}")
        return StateIndex(obs_space)
    except ValueError as e:
        instead = "--algo dqn" if isinstance(action_space, gym.spaces.Discrete) else "a discrete-action env"
        raise ConfigError(f"tabular algorithms need Discrete observations (or a small board) and actions, got "
                          f"{obs_space} and {action_space} ({e}); use a gridworld (agentlab/CliffWalking-v0) or "
                          f"{instead}") from None


def make_actor(config: TabularConfig, obs_space: gym.Space, action_space: gym.Space, worker_index: int,
               num_workers: int, seed: int) -> TabularActor:
    return TabularActor(_states(obs_space, action_space), seed=seed * 7919 + worker_index)


def make_learner(rule: str, config: TabularConfig, obs_space: gym.Space, action_space: gym.Space, seed: int,
                 device: str = "cpu") -> TabularLearner:
    return TabularLearner(rule, config, _states(obs_space, action_space), int(action_space.n), seed)


def _algorithm(rule: str) -> Algorithm:
    return Algorithm(rule, TabularConfig, make_actor, partial(make_learner, rule), "async", action_values=True)


Q_LEARNING = _algorithm("q_learning")
SARSA = _algorithm("sarsa")
EXPECTED_SARSA = _algorithm("expected_sarsa")
DOUBLE_Q = _algorithm("double_q")
