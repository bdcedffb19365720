"""``--algo dreamer``: DreamerV3 (Hafner et al. 2023, "Mastering Diverse Domains through World Models").

A world model (an RSSM with categorical latents) learns from replayed sequences; an actor and a critic learn
only from trajectories imagined in it. The actor acts through the model's filter, carrying ``(h, z, a)`` as
its recurrent state. Discrete actions; vector or image observations.
"""

from __future__ import annotations

import gymnasium as gym

from agentlab.algorithms import Algorithm
from agentlab.dreamer.actor import DreamerActor
from agentlab.dreamer.config import DreamerConfig
from agentlab.dreamer.learner import DreamerLearner


def make_actor(config: DreamerConfig, obs_space: gym.Space, action_space: gym.Space, worker_index: int,
               num_workers: int, seed: int) -> DreamerActor:
    return DreamerActor(config, obs_space, action_space, seed * 7919 + worker_index)


def make_learner(config: DreamerConfig, obs_space: gym.Space, action_space: gym.Space, seed: int,
                 device: str = "cpu") -> DreamerLearner:
    return DreamerLearner(config, obs_space, action_space, seed, device)


DREAMER = Algorithm("dreamer", DreamerConfig, make_actor, make_learner, "async")

__all__ = ["DREAMER", "DreamerActor", "DreamerConfig", "DreamerLearner"]
