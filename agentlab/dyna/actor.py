"""Dyna's behaviour policy: ε-greedy on the learner's Q-table (Sutton & Barto 2018, the box of section 8.2, step b).

Planning only changes the table the actor acts on, so the actor is the tabular agents' ``TabularActor``, seeded
the same way: with ``planning_steps=0`` a Dyna run picks exactly the actions a Q-learning run picks.
"""

from __future__ import annotations

import gymnasium as gym

from agentlab.dyna.config import DynaConfig
from agentlab.tabular import make_actor as make_tabular_actor
from agentlab.tabular.actor import TabularActor


def make_actor(config: DynaConfig, obs_space: gym.Space, action_space: gym.Space, worker_index: int,
               num_workers: int, seed: int) -> TabularActor:
    return make_tabular_actor(config, obs_space, action_space, worker_index, num_workers, seed)
