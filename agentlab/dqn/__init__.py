"""The DQN family: ``--algo dqn`` (Mnih et al. 2015) and ``--algo rainbow`` (Hessel et al. 2018).

Both are one ``DQNConfig``, actor and learner; Rainbow's preset turns on double Q, prioritized replay,
dueling and noisy heads, n-step returns and the C51 distributional loss.
"""

from __future__ import annotations

import gymnasium as gym

from agentlab.algorithms import Algorithm
from agentlab.config import ConfigError
from agentlab.dqn.actor import DQNActor
from agentlab.dqn.config import DQNConfig
from agentlab.dqn.learner import DQNLearner


def _check_spaces(action_space: gym.Space) -> None:
    if not isinstance(action_space, gym.spaces.Discrete):
        raise ConfigError(f"the DQN family needs Discrete actions, got {action_space}; "
                          f"pick a discrete-action env")


def make_actor(config: DQNConfig, obs_space: gym.Space, action_space: gym.Space, worker_index: int,
               num_workers: int, seed: int) -> DQNActor:
    _check_spaces(action_space)
    return DQNActor(config, obs_space, action_space, worker_index, num_workers, seed * 7919 + worker_index)


def make_learner(config: DQNConfig, obs_space: gym.Space, action_space: gym.Space, seed: int,
                 device: str = "cpu") -> DQNLearner:
    _check_spaces(action_space)
    return DQNLearner(config, obs_space, action_space, seed, device)


DQN = Algorithm("dqn", DQNConfig, make_actor, make_learner, "async", action_values=True)
RAINBOW = Algorithm("rainbow", DQNConfig, make_actor, make_learner, "async", action_values=True)
