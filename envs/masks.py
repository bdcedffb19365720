"""Legal-action masks, carried inside the observation so that every part of the loop keeps them.

PettingZoo's classic games (and some gymnasium envs) observe ``{"observation": ..., "action_mask": ...}``. agentlab
flattens such an observation into one float vector whose last ``num_actions`` entries are the mask (1 legal,
0 illegal), typed as a ``MaskedBox``. Because the mask is part of the observation, it travels through fragments,
replay and n-step targets unchanged: a learner finds the mask of ``s'`` in ``next_obs``. Encoders read the
features alone (``agentlab.encoders.ObsAdapter``); actors and learners read the mask with ``split_mask``.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np


class MaskedBox(gymnasium.spaces.Box):
    """A flat float32 Box: ``features`` observation entries, then a 0/1 mask over ``num_actions`` actions."""

    def __init__(self, low: np.ndarray, high: np.ndarray, num_actions: int, seed: int | None = None):
        mask = np.zeros(num_actions, np.float32)
        super().__init__(np.concatenate([low, mask]).astype(np.float32),
                         np.concatenate([high, mask + 1]).astype(np.float32), dtype=np.float32, seed=seed)
        self.num_actions = num_actions
        self.features = int(len(low))

    def sample(self, mask: Any = None, probability: Any = None) -> np.ndarray:
        obs = super().sample()
        obs[self.features:] = 1.0  # every action legal
        return obs

    def __repr__(self) -> str:
        return f"MaskedBox({self.features} features, {self.num_actions} actions)"


def is_masked(space: gymnasium.Space) -> bool:
    """A PettingZoo-style ``Dict(observation=..., action_mask=...)`` space."""
    return isinstance(space, gymnasium.spaces.Dict) and set(space.spaces) == {"observation", "action_mask"}


def masked_box(space: gymnasium.spaces.Dict, extra: int = 0) -> MaskedBox:
    """The ``MaskedBox`` of a ``Dict(observation, action_mask)`` space (or of a plain Box with no mask bits),
    with ``extra`` more 0/1 feature entries (an agent id) after the observation's."""
    inner = space["observation"] if is_masked(space) else space
    if not isinstance(inner, gymnasium.spaces.Box):
        raise ValueError(f"observation space {inner} is not a Box; agentlab's game adapter flattens Box observations")
    num_actions = int(np.prod(space["action_mask"].shape)) if is_masked(space) else 0
    low = np.concatenate([np.asarray(inner.low, np.float32).ravel(), np.zeros(extra, np.float32)])
    high = np.concatenate([np.asarray(inner.high, np.float32).ravel(), np.ones(extra, np.float32)])
    return MaskedBox(low, high, num_actions)


def flatten_masked(obs: Any, extra: np.ndarray | None = None) -> np.ndarray:
    """``{"observation", "action_mask"}`` (or a bare array) → the flat vector a ``masked_box`` describes."""
    parts = [np.asarray(obs["observation"] if isinstance(obs, dict) else obs, np.float32).ravel()]
    if extra is not None:
        parts.append(np.asarray(extra, np.float32))
    if isinstance(obs, dict):
        parts.append(np.asarray(obs["action_mask"], np.float32).ravel())
    return np.concatenate(parts)


def num_masked(space: gymnasium.Space) -> int:
    """How many trailing entries of an observation are the action mask (0: none)."""
    return space.num_actions if isinstance(space, MaskedBox) else 0


def split_mask(space: gymnasium.Space, obs: Any) -> tuple[Any, Any]:
    """``(features, legal)`` of an observation batch ``[..., D]`` (numpy or torch): ``legal`` is a bool
    ``[..., A]`` (None without a mask); a row with no legal action (a final observation) counts all as legal."""
    n = num_masked(space)
    if not n:
        return obs, None
    legal = obs[..., -n:] > 0.5
    none = ~legal.any(-1, keepdims=True) if isinstance(legal, np.ndarray) else ~legal.any(-1, keepdim=True)
    return obs[..., :-n], legal | none


class FlattenMask(gymnasium.ObservationWrapper):
    """A single-agent env observing ``Dict(observation, action_mask)``, seen as a ``MaskedBox``."""

    def __init__(self, env: gymnasium.Env):
        super().__init__(env)
        self.observation_space = masked_box(env.observation_space)

    def observation(self, observation: Any) -> np.ndarray:
        return flatten_masked(observation)
