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
    """A flat float32 Box: ``features`` observation entries, then a 0/1 mask over ``num_actions`` actions.

    ``source`` is the space it flattens (``Dict(observation, action_mask)``, or an observation space alone);
    ``board`` the features' own ``[H, W, C]`` shape when they are one board of planes (a grid encoder can use it)."""

    def __init__(self, low: np.ndarray, high: np.ndarray, num_actions: int, source: gymnasium.Space,
                 seed: int | None = None):
        mask = np.zeros(num_actions, np.float32)
        super().__init__(np.concatenate([low, mask]).astype(np.float32),
                         np.concatenate([high, mask + 1]).astype(np.float32), dtype=np.float32, seed=seed)
        self.num_actions = num_actions
        self.features = int(len(low))
        self.source = source
        inner = observation_part(source)
        board = isinstance(inner, gymnasium.spaces.Box) and len(inner.shape) == 3 and \
            np.prod(inner.shape) == self.features
        self.board: tuple[int, ...] | None = tuple(inner.shape) if board else None

    def sample(self, mask: Any = None, probability: Any = None) -> np.ndarray:
        obs = super().sample()
        obs[self.features:] = 1.0  # every action legal
        return obs

    def __repr__(self) -> str:
        return f"MaskedBox({self.features} features, {self.num_actions} actions)"


def is_masked(space: gymnasium.Space) -> bool:
    """A PettingZoo-style ``Dict(observation=..., action_mask=...)`` space."""
    return isinstance(space, gymnasium.spaces.Dict) and set(space.spaces) == {"observation", "action_mask"}


def observation_part(space: gymnasium.Space) -> gymnasium.Space:
    """The observation of a ``Dict(observation, action_mask)`` space; any other space is all observation."""
    return space["observation"] if is_masked(space) else space


def masked_box(space: gymnasium.Space, extra: int = 0) -> MaskedBox:
    """The ``MaskedBox`` of a ``Dict(observation, action_mask)`` space, or of an observation space with no mask
    (0 mask entries), with ``extra`` more 0/1 feature entries (an agent id) after the observation's. The
    observation is flattened as gymnasium flattens it: a Box ravelled, a Discrete one-hot, a Dict or Tuple joined."""
    inner = observation_part(space)
    try:
        flat = gymnasium.spaces.flatten_space(inner)
    except NotImplementedError:
        raise ValueError(f"observation space {inner} cannot be flattened into a vector") from None
    num_actions = int(np.prod(space["action_mask"].shape)) if is_masked(space) else 0
    low = np.concatenate([np.asarray(flat.low, np.float32).ravel(), np.zeros(extra, np.float32)])
    high = np.concatenate([np.asarray(flat.high, np.float32).ravel(), np.ones(extra, np.float32)])
    return MaskedBox(low, high, num_actions, space)


def flatten_masked(space: MaskedBox, obs: Any, extra: np.ndarray | None = None) -> np.ndarray:
    """An observation of ``space.source`` (with ``extra`` entries, an agent id) as the flat vector of ``space``."""
    masked = is_masked(space.source)
    parts = [np.asarray(gymnasium.spaces.flatten(observation_part(space.source), obs["observation"] if masked else obs),
                        np.float32).ravel()]
    if extra is not None:
        parts.append(np.asarray(extra, np.float32))
    if masked:
        parts.append(np.asarray(obs["action_mask"], np.float32).ravel())
    return np.concatenate(parts)


def binary_features(space: MaskedBox) -> bool:
    """Every feature is an integer 0 or 1 (a board of pieces, a one-hot), not merely a float in [0, 1]."""
    flat = gymnasium.spaces.flatten_space(observation_part(space.source))
    return bool(np.issubdtype(flat.dtype, np.integer) or flat.dtype == bool) and bool(
        np.all(flat.low == 0) and np.all(flat.high == 1))


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
        return flatten_masked(self.observation_space, observation)
