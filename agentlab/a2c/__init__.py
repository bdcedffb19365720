"""A2C and A3C (Mnih et al. 2016, "Asynchronous Methods for Deep Reinforcement Learning").

One config, network, loss, actor and learner; the two differ only in the launcher's schedule and in
who differentiates the loss. ``a2c`` (``sync``): every worker ships its rollout, the learner steps once
on all of them together. ``a3c`` (``async``): each worker's actor differentiates its own rollout with
its local weights and ships the gradient, which the learner applies as it arrives.
"""

from __future__ import annotations

from functools import partial

import gymnasium as gym

from agentlab.a2c.actor import A2CActor, Gradients
from agentlab.a2c.config import A2CConfig
from agentlab.a2c.learner import A2CLearner
from agentlab.algorithms import Algorithm


def make_actor(ship_gradients: bool, config: A2CConfig, obs_space: gym.Space, action_space: gym.Space,
               worker_index: int, num_workers: int, seed: int) -> A2CActor:
    return A2CActor(config, obs_space, action_space, worker_index, seed, ship_gradients)


def make_learner(config: A2CConfig, obs_space: gym.Space, action_space: gym.Space, seed: int,
                 device: str = "cpu") -> A2CLearner:
    return A2CLearner(config, obs_space, action_space, seed, device)


A2C = Algorithm("a2c", A2CConfig, partial(make_actor, False), make_learner, "sync")
A3C = Algorithm("a3c", A2CConfig, partial(make_actor, True), make_learner, "async")

__all__ = ["A2C", "A3C", "A2CActor", "A2CConfig", "A2CLearner", "Gradients"]
