"""PPO (Schulman et al. 2017, "Proximal Policy Optimization Algorithms") on the synchronous schedule.

A2C's actor, actor-critic network, encoders and GAE; PPO's own parts are the clipped losses
(``losses``), the epochs × minibatches learner with annealing (``learner``) and its hyperparameters (``config``).
"""

from __future__ import annotations

import gymnasium as gym

from agentlab.algorithms import Algorithm
from agentlab.ppo.actor import make_actor
from agentlab.ppo.config import PPOConfig
from agentlab.ppo.learner import PPOLearner


def make_learner(config: PPOConfig, obs_space: gym.Space, action_space: gym.Space, seed: int,
                 device: str = "cpu") -> PPOLearner:
    return PPOLearner(config, obs_space, action_space, seed, device)


PPO = Algorithm("ppo", PPOConfig, make_actor, make_learner, "sync")

__all__ = ["PPO", "PPOConfig", "PPOLearner"]
