"""Tabular TD control: Q-learning, SARSA, Expected SARSA, Double Q-learning."""

from __future__ import annotations

from functools import partial

import gymnasium as gym

from agentlab.algorithms import Algorithm
from agentlab.config import ConfigError
from agentlab.tabular.actor import TabularActor
from agentlab.tabular.config import TabularConfig
from agentlab.tabular.learner import TabularLearner


def _check_discrete(obs_space: gym.Space, action_space: gym.Space) -> None:
    if not isinstance(obs_space, gym.spaces.Discrete) or not isinstance(action_space, gym.spaces.Discrete):
        raise ConfigError(f"tabular algorithms need Discrete observations and actions, got {obs_space} and "
                          f"{action_space}; use a gridworld (agentlab/CliffWalking-v0) or --algo dqn")


def make_actor(config: TabularConfig, obs_space: gym.Space, action_space: gym.Space, worker_index: int,
               num_workers: int, seed: int) -> TabularActor:
    _check_discrete(obs_space, action_space)
    return TabularActor(int(action_space.n), seed=seed * 7919 + worker_index)


def make_learner(rule: str, config: TabularConfig, obs_space: gym.Space, action_space: gym.Space, seed: int,
                 device: str = "cpu") -> TabularLearner:
    _check_discrete(obs_space, action_space)
    return TabularLearner(rule, config, int(obs_space.n), int(action_space.n), seed)


def _algorithm(rule: str) -> Algorithm:
    return Algorithm(rule, TabularConfig, make_actor, partial(make_learner, rule), "async")


Q_LEARNING = _algorithm("q_learning")
SARSA = _algorithm("sarsa")
EXPECTED_SARSA = _algorithm("expected_sarsa")
DOUBLE_Q = _algorithm("double_q")
