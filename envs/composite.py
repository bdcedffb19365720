"""Composite observations (``Tuple``, ``Dict``, ``MultiDiscrete``, ``MultiBinary``) seen as spaces every agent reads.

A tuple of ``Discrete`` spaces becomes one ``Discrete`` over their combinations (``DiscreteProduct``): Blackjack's
(player sum, dealer card, usable ace) is a Q-table row, and a deep agent one-hots it as any ``Discrete``. Any
other such space is flattened by gymnasium's ``FlattenObservation`` into a ``Box`` (``Discrete`` parts one-hot).
Dicts holding an ``action_mask`` are ``envs.masks``' business and come here already flat.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

COMPOSITE = (spaces.Tuple, spaces.Dict, spaces.MultiDiscrete, spaces.MultiBinary)


class DiscreteProduct(gymnasium.ObservationWrapper):
    """``Tuple(Discrete(n₁), …, Discrete(n_k))`` → ``Discrete(n₁ ⋯ n_k)``, row-major (``np.ravel_multi_index``)."""

    def __init__(self, env: gymnasium.Env):
        super().__init__(env)
        parts = env.observation_space.spaces
        self.starts, self.sizes = [int(p.start) for p in parts], [int(p.n) for p in parts]
        self.observation_space = spaces.Discrete(int(np.prod(self.sizes)))

    def observation(self, observation: Any) -> int:
        return int(np.ravel_multi_index([int(v) - s for v, s in zip(observation, self.starts, strict=True)],
                                        self.sizes))


def simplify(env: gymnasium.Env) -> gymnasium.Env:
    """``env`` with a composite observation space wrapped as above; any other env unchanged."""
    space = env.observation_space
    if isinstance(space, spaces.Tuple) and space.spaces and all(isinstance(p, spaces.Discrete) for p in space.spaces):
        return DiscreteProduct(env)
    if isinstance(space, COMPOSITE):
        return gymnasium.wrappers.FlattenObservation(env)
    return env
