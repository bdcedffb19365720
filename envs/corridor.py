"""A combination-lock corridor: a probe for one difficulty at a time (reward scale, observation scale).

Cells 0 … ``length − 1`` from 0, ``step_reward`` a step; the last cell ends it. Action ``cell % 2`` moves right,
the other left (a wall at 0), so no constant action walks it; greedy play takes ``length − 1`` steps. The
observation is ``offset + scale · one_hot(cell)``: ``agentlab/OffsetCorridor-v0``'s cells differ by 0.1 % of the
input's size.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np


class Corridor(gymnasium.Env):
    def __init__(self, length: int = 6, step_reward: float = -1.0, offset: float = 0.0, scale: float = 1.0):
        self.length, self.step_reward, self.offset, self.scale = length, step_reward, offset, scale
        low, high = min(offset, offset + scale), max(offset, offset + scale)
        self.observation_space = gymnasium.spaces.Box(low, high, (length,), np.float32)
        self.action_space = gymnasium.spaces.Discrete(2)
        self.cell = 0

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.cell = 0
        return self.obs(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.cell = max(0, self.cell + (1 if action == self.cell % 2 else -1))
        return self.obs(), self.step_reward, self.cell == self.length - 1, False, {}

    def obs(self) -> np.ndarray:
        return (self.offset + self.scale * np.eye(self.length)[self.cell]).astype(np.float32)
