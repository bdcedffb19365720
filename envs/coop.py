"""A cooperative gridworld for several agents as a PettingZoo ``ParallelEnv``: agents must split the targets.

``num_agents`` agents all start on the same cell, ``(size // 2, 0)`` (the middle of the left column), of an open
``size`` x ``size`` grid (no walls). The same number of target cells lie on the right column, at rows spread evenly
from the top row to the bottom row (target 0 on row 0, the last target on row ``size - 1``). All agents act at once;
actions are 0 stay, 1 up, 2 down, 3 left, 4 right, and a move off the grid leaves the agent where it was. Agents never
block each other: several may share a cell.

The reward is shared: every step each agent gets ``STEP_REWARD`` (-0.1), plus ``SUCCESS_REWARD`` (+1.0) on the step
at whose end every target is occupied. As there are as many targets as agents, that means each target holds a
distinct agent, so agents that crowd onto the same target earn nothing. Since every agent starts on the same cell, the
start is symmetric: the agents must break that symmetry and split up, each heading for a different target. On the
success step all agents are terminated; otherwise, after ``max_cycles`` steps, all are truncated. Finished agents
leave ``agents``.

An episode that succeeds after ``L`` steps therefore returns, to every agent, ``SUCCESS_REWARD + STEP_REWARD * L``
(``1.0 - 0.1 * L``); one that does not returns ``STEP_REWARD * max_cycles``. ``CoopGrid.optimal_return`` gives the best
of these. With the defaults (5 x 5, two agents) both agents start on (2, 0) and the targets are (0, 4) and (4, 4):
one agent goes up 2 and right 4, the other down 2 and right 4, each 2 + 4 = 6 steps, so the optimum is
1.0 - 0.1 * 6 = 0.4.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from pettingzoo import ParallelEnv
from pettingzoo.utils import parallel_to_aec

MOVES: tuple[tuple[int, int], ...] = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))
"""(row, col) offset of each action: stay, up, down, left, right."""

STEP_REWARD = -0.1
"""Shared reward every agent gets on every step."""

SUCCESS_REWARD = 1.0
"""Added to every agent's reward on the step that ends with all targets occupied."""

def spread_rows(size: int, count: int) -> list[int]:
    """``count`` distinct rows of a ``size``-row grid, evenly spaced from row 0 to row ``size - 1``."""
    if count == 1:
        return [0]
    return [(2 * i * (size - 1) + count - 1) // (2 * (count - 1)) for i in range(count)]


class CoopGrid(ParallelEnv):
    """Agents starting together on the left column must split up to occupy all targets on the right column
    (see the module docstring).

    Observation of agent ``i`` (float32 in [0, 1], length ``3 * num_agents``): its own (row, col) divided by
    ``size - 1``, then the other agents' (row, col), same scaling, in agent order, then a one-hot of ``i``. At the
    start every agent stands on the same cell, so all agents see the same positions and only the one-hot of their
    index tells them apart.
    """

    metadata = {"name": "coop_grid_v0", "render_modes": ["ansi"], "is_parallelizable": True}

    def __init__(self, size: int = 5, num_agents: int = 2, max_cycles: int = 30, render_mode: str | None = None):
        if size < 2:
            raise ValueError(f"size must be at least 2, got {size}")
        if not 1 <= num_agents <= size:
            raise ValueError(f"num_agents must be between 1 and size={size}, got {num_agents}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.size = size
        self.max_cycles = max_cycles
        self.render_mode = render_mode
        self.possible_agents = [f"agent_{i}" for i in range(num_agents)]
        self.agents: list[str] = []
        self.starts = np.array([(size // 2, 0)] * num_agents, dtype=np.int64)
        self.targets = np.array([(r, size - 1) for r in spread_rows(size, num_agents)], dtype=np.int64)
        self.positions = self.starts.copy()
        self.timestep = 0
        self.np_random, _ = seeding.np_random()
        self._observation_spaces = {
            agent: spaces.Box(0.0, 1.0, shape=(3 * num_agents,), dtype=np.float32) for agent in self.possible_agents
        }
        self._action_spaces = {agent: spaces.Discrete(len(MOVES)) for agent in self.possible_agents}

    def observation_space(self, agent: str) -> spaces.Box:
        """The Box of an agent's observation (its own object, the same one on every call)."""
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Discrete:
        """Discrete(5): stay, up, down, left, right (its own object, the same one on every call)."""
        return self._action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Put every agent back on the common start cell; a seed also seeds ``np_random`` and agent ``i``'s action space
        with ``seed + i``. The dynamics themselves are deterministic."""
        if seed is not None:
            self.np_random, _ = seeding.np_random(seed)
            for i, agent in enumerate(self.possible_agents):
                self.action_space(agent).seed(seed + i)
        self.agents = self.possible_agents[:]
        self.positions = self.starts.copy()
        self.timestep = 0
        return self._observations(), {agent: {} for agent in self.agents}

    def step(self, actions: dict[str, int]) -> tuple[dict, dict, dict, dict, dict]:
        """Move every live agent at once; return observations, rewards, terminations, truncations and infos."""
        for agent in self.agents:
            action = int(actions[agent])
            if not 0 <= action < len(MOVES):
                raise ValueError(f"{agent}: action must be in 0..{len(MOVES) - 1}, got {action}")
            i = self.possible_agents.index(agent)
            self.positions[i] = np.clip(self.positions[i] + MOVES[action], 0, self.size - 1)
        self.timestep += 1
        success = self._all_targets_occupied()
        truncated = not success and self.timestep >= self.max_cycles
        reward = STEP_REWARD + (SUCCESS_REWARD if success else 0.0)
        observations = self._observations()
        rewards = {agent: reward for agent in self.agents}
        terminations = {agent: success for agent in self.agents}
        truncations = {agent: truncated for agent in self.agents}
        infos = {agent: {} for agent in self.agents}
        if success or truncated:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def optimal_return(self) -> float:
        """Best return per agent: ``SUCCESS_REWARD + STEP_REWARD * L`` for the shortest joint plan of ``L`` steps,
        or ``STEP_REWARD * max_cycles`` if that plan needs more than ``max_cycles`` steps.

        ``L`` is the bottleneck assignment: the minimum, over one-to-one assignments of agents to targets, of the
        largest Manhattan distance from the common start to an agent's target. Agents move independently and the grid is
        open, so every agent reaches its target within ``L`` steps (then stays); fewer steps cannot do, since the
        agents on the targets at the end of the success step form such an assignment.
        """
        distances = np.abs(self.starts[:, None, :] - self.targets[None, :, :]).sum(axis=2)
        plan_length = next(int(d) for d in np.unique(distances) if _has_perfect_matching(distances <= d))
        if plan_length > self.max_cycles:
            return STEP_REWARD * self.max_cycles
        return SUCCESS_REWARD + STEP_REWARD * plan_length

    def render(self) -> str | None:
        """The grid as text: ``.`` empty, ``T`` an unoccupied target, an agent's index (mod 10), ``*`` a shared cell."""
        if self.render_mode is None:
            gymnasium.logger.warn("CoopGrid.render() called without a render_mode; pass render_mode='ansi'.")
            return None
        grid = [["." for _ in range(self.size)] for _ in range(self.size)]
        for r, c in self.targets:
            grid[r][c] = "T"
        seen: set[tuple[int, int]] = set()
        for i, (r, c) in enumerate(self.positions.tolist()):
            grid[r][c] = "*" if (r, c) in seen else str(i % 10)
            seen.add((r, c))
        return "\n".join("".join(row) for row in grid) + "\n"

    def close(self) -> None:
        """Nothing to release."""

    def _all_targets_occupied(self) -> bool:
        """Whether every target cell holds an agent (then each holds a distinct one)."""
        occupied = {tuple(p) for p in self.positions.tolist()}
        return all(tuple(t) in occupied for t in self.targets.tolist())

    def _observations(self) -> dict[str, np.ndarray]:
        """Each live agent's observation, laid out as the class docstring says."""
        scaled = self.positions / (self.size - 1)
        n = len(self.possible_agents)
        observations = {}
        for agent in self.agents:
            i = self.possible_agents.index(agent)
            others = np.delete(scaled, i, axis=0)
            one_hot = np.eye(n)[i]
            observations[agent] = np.concatenate([scaled[i], others.ravel(), one_hot]).astype(np.float32)
        return observations


def _has_perfect_matching(allowed: np.ndarray) -> bool:
    """Whether every row of the square boolean matrix can be matched to a distinct column it allows (Kuhn)."""
    match_of_column = [-1] * allowed.shape[1]

    def augment(row: int, seen: list[bool]) -> bool:
        for col in np.flatnonzero(allowed[row]):
            if not seen[col]:
                seen[col] = True
                if match_of_column[col] < 0 or augment(match_of_column[col], seen):
                    match_of_column[col] = row
                    return True
        return False

    return all(augment(row, [False] * allowed.shape[1]) for row in range(allowed.shape[0]))


def parallel_env(**kwargs: Any) -> CoopGrid:
    """The parallel environment (PettingZoo module convention)."""
    return CoopGrid(**kwargs)


def env(**kwargs: Any):
    """The environment in AEC form, through ``pettingzoo.utils.parallel_to_aec``."""
    return parallel_to_aec(CoopGrid(**kwargs))
