"""Bakker's T-maze (Bakker 2002, "Reinforcement Learning with Long Short-Term Memory", Sec. 4).

The agent starts at the foot of a corridor of ``length`` cells; only there does it see a cue, up or down,
which says which arm of the T at the corridor's end holds the reward. Along the corridor and at the
junction every cue looks the same, so an agent without memory picks the right arm half of the time.
Observations are Bakker's three bits: ``011`` or ``110`` at the start (the cue), ``101`` in the
corridor, ``010`` at the junction. Actions: 0 forward, 1 back, 2 up, 3 down. Up or down at the junction
ends the episode: +4 in the cued arm, −0.1 in the other. Every other step that does not move forward
costs −0.1: Bakker charges only standing still, which leaves a 30-cell corridor to a random walk of about
L² steps, an exploration test rather than a memory one. ``info["success"]`` says, at the end, whether
the cued arm was reached.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

FORWARD, BACK, UP, DOWN = range(4)
CUES = (np.array([0, 1, 1], np.float32), np.array([1, 1, 0], np.float32))
"""The start cell's observation when the reward is up (0) or down (1)."""
CORRIDOR = np.array([1, 0, 1], np.float32)
JUNCTION = np.array([0, 1, 0], np.float32)


class TMaze(gymnasium.Env):
    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, length: int = 10, goal_reward: float = 4.0, penalty: float = -0.1,
                 render_mode: str | None = None) -> None:
        if length < 1:
            raise ValueError(f"length must be at least 1, got {length}")
        self.length, self.goal_reward, self.penalty = length, goal_reward, penalty
        self.render_mode = render_mode
        self.observation_space = spaces.Box(0.0, 1.0, (3,), np.float32)
        self.action_space = spaces.Discrete(4)
        self.position, self.cue = 0, 0

    def observe(self) -> np.ndarray:
        if self.position == 0:
            return CUES[self.cue].copy()
        return (JUNCTION if self.position == self.length else CORRIDOR).copy()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.position, self.cue = 0, int(self.np_random.integers(2))
        return self.observe(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        action = int(action)
        if action in (UP, DOWN) and self.position == self.length:
            success = (action == UP) == (self.cue == 0)
            return self.observe(), self.goal_reward if success else self.penalty, True, False, {"success": success}
        moved = {FORWARD: 1, BACK: -1}.get(action, 0)
        forward = action == FORWARD and self.position < self.length
        if 0 <= self.position + moved <= self.length:
            self.position += moved
        return self.observe(), 0.0 if forward else self.penalty, False, False, {}

    def render(self) -> str:
        """The corridor as text: the cue (^ or v) at the start, A the agent, T the junction."""
        cells = ["^" if self.cue == 0 else "v", *["."] * (self.length - 1), "T"]
        cells[self.position] = "A"
        return "".join(cells)
