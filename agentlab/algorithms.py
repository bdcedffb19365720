"""The algorithm registry: what ``--algo NAME`` builds.

Each algorithm package exposes one ``Algorithm``; the registry names it by import path so that
``--algo q_learning`` never imports torch and a Ray worker can rebuild the same actor from the name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from agentlab.core import Actor, Learner


@dataclass(frozen=True)
class Algorithm:
    name: str
    config_cls: type
    """A dataclass of hyperparameters; every field has a one-line docstring (``--set`` keys)."""
    make_actor: Callable[..., Actor]
    """``(config, obs_space, action_space, worker_index, num_workers, seed) -> Actor``."""
    make_learner: Callable[..., Learner]
    """``(config, obs_space, action_space, seed, device) -> Learner``."""
    schedule: str = "async"
    """``async``: the learner consumes each sample as it arrives; ``sync``: one batch from every worker, whose
    payloads are fragments (``Fragment.concat`` joins them)."""
    action_values: bool = False
    """Whether its learner learns ``Q(s, a)`` for whatever action was taken (Q-learning, SARSA, DQN), so that a move
    its actor did not choose is data for it; a policy-gradient learner's is not (its actor's log-probabilities)."""


REGISTRY: dict[str, str] = {
    "q_learning": "agentlab.tabular:Q_LEARNING",
    "sarsa": "agentlab.tabular:SARSA",
    "expected_sarsa": "agentlab.tabular:EXPECTED_SARSA",
    "double_q": "agentlab.tabular:DOUBLE_Q",
    "dqn": "agentlab.dqn:DQN",
    "rainbow": "agentlab.dqn:RAINBOW",
    "a2c": "agentlab.a2c:A2C",
    "a3c": "agentlab.a2c:A3C",
    "ppo": "agentlab.ppo:PPO",
    "dyna_q": "agentlab.dyna:DYNA_Q",
    "dreamer": "agentlab.dreamer:DREAMER",
}


def get(name: str) -> Algorithm:
    module, attr = REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), attr)
