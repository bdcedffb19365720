"""CartPole with velocities hidden: a control task that needs memory (the DRQN paper's test, Hausknecht & Stone
2015, flickering aside; a standard POMDP benchmark since Meng et al. 2021).

``agentlab/MaskedCartPole-v1`` has CartPole-v1's dynamics, rewards, termination and 500-step limit, but
observes only the cart's position and the pole's angle: their rates of change must be inferred from
successive observations.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.envs.classic_control.cartpole import CartPoleEnv

OBSERVED = [0, 2]
"""Of CartPole's (x, ẋ, θ, θ̇): the cart position and the pole angle."""


class MaskedCartPole(CartPoleEnv):
    def __init__(self, render_mode: str | None = None) -> None:
        super().__init__(render_mode=render_mode)
        full = self.observation_space
        self.observation_space = spaces.Box(full.low[OBSERVED], full.high[OBSERVED], dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = super().reset(seed=seed, options=options)
        return obs[OBSERVED], info

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = super().step(action)
        return obs[OBSERVED], reward, terminated, truncated, info
