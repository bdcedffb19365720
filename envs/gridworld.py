"""A gridworld built from an ASCII map: tabular control with an index state, or pixels for CNNs.

Dynamics follow Sutton & Barto (2018), Example 6.6 (Cliff Walking): every step costs
``step_reward``; entering a cliff cell costs ``cliff_reward`` instead and puts the agent back on the
start cell without ending the episode; entering a goal ends it. Actions are numbered as in
gymnasium's ``CliffWalking-v1`` (0 up, 1 right, 2 down, 3 left). A map can change after a number of
steps (``changes``), as the blocking and shortcut mazes of Sutton & Barto's chapter 8 do.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

from envs.maps import MAPS

MOVES: tuple[tuple[int, int], ...] = ((-1, 0), (0, 1), (1, 0), (0, -1))
"""(row, col) offset of each action: up, right, down, left."""

COLOURS: dict[str, tuple[int, int, int]] = {
    ".": (240, 240, 240),
    "S": (200, 200, 120),
    "G": (40, 180, 60),
    "#": (60, 60, 60),
    "C": (200, 40, 40),
}
"""RGB of each cell letter in image observations."""

AGENT_COLOUR: tuple[int, int, int] = (30, 90, 230)
"""RGB of the cell the agent stands on (painted over the cell's own colour)."""


class GridWorld(gymnasium.Env):
    """An agent walking the cells of an ASCII map, four moves at a time.

    Rewards: a move into a free, start or wall-blocked cell gives ``step_reward``; a move into a goal
    gives ``step_reward + goal_reward`` and terminates (with the defaults the last step of Cliff
    Walking costs -1, as in the book); a move into a cliff gives ``cliff_reward`` alone (-100 in the
    book) and returns the agent to start. Moves into walls or off the grid leave the agent in place.
    With probability ``slip`` the chosen action is replaced by one of the other three, uniformly.
    ``info["move"]`` is the move actually made. The env never truncates: time limits come from
    ``max_episode_steps`` at registration. ``state`` is the agent's current index.

    The world can change while the agent learns (Sutton & Barto 2018, Examples 8.2 and 8.3): ``changes``
    is a list of ``(after_steps, map)``; once the env has taken ``after_steps`` steps in total, counted
    across episodes since it was built (``steps_taken``; a reset does not clear it), ``map`` replaces the
    layout, effective from the next step. Every map must have the first one's shape, so observations keep
    their meaning; the start cell is the current map's. An agent standing where a wall appears stays
    there and can step out. The count belongs to each env object: a fresh env (an evaluation env, the
    driver's probe) starts from the first layout; a worker's env saved in a checkpoint keeps its count.

    Observations: ``obs_type="index"`` gives ``row * ncol + col`` in ``Discrete(nrow * ncol)`` (wall
    cells included, so indices match the map); ``"image"`` gives a ``(nrow * cell_px, ncol * cell_px,
    3)`` uint8 RGB picture of the map with the agent's cell painted ``AGENT_COLOUR``.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(
        self,
        map: str | Sequence[str] = "open_5x5",
        slip: float = 0.0,
        step_reward: float = -1.0,
        goal_reward: float = 0.0,
        cliff_reward: float = -100.0,
        obs_type: str = "index",
        cell_px: int = 8,
        render_mode: str | None = None,
        changes: Sequence[tuple[int, str | Sequence[str]]] = (),
    ) -> None:
        first = _parse(_rows(map))
        self.nrow, self.ncol = first.shape
        changes = sorted(((int(after), _parse(_rows(rows))) for after, rows in changes), key=lambda c: c[0])
        for after, desc in changes:
            if after < 0 or desc.shape != first.shape:
                raise ValueError(f"a change needs after_steps >= 0 and a {self.nrow}x{self.ncol} map, got "
                                 f"after_steps={after} and a {desc.shape[0]}x{desc.shape[1]} map")
        self.change_steps = [after for after, _ in changes]  # in order
        self.layouts = [first] + [desc for _, desc in changes]  # layout k rules after change_steps[k - 1] steps
        self.steps_taken = 0  # steps since the env was built, across episodes
        if not 0.0 <= slip <= 1.0:
            raise ValueError(f"slip must be in [0, 1], got {slip}")
        if obs_type not in ("index", "image"):
            raise ValueError(f"obs_type must be 'index' or 'image', got {obs_type!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}")
        self.slip = slip
        self.step_reward = step_reward
        self.goal_reward = goal_reward
        self.cliff_reward = cliff_reward
        self.obs_type = obs_type
        self.cell_px = cell_px
        self.render_mode = render_mode
        self.layout = -1
        self._apply_changes()

        self.action_space = spaces.Discrete(len(MOVES))
        if obs_type == "index":
            self.observation_space = spaces.Discrete(self.nrow * self.ncol)
        else:
            shape = (self.nrow * cell_px, self.ncol * cell_px, 3)
            self.observation_space = spaces.Box(0, 255, shape, np.uint8)
        self.state = self.start_state

    def _apply_changes(self) -> None:
        """Switch to the layout that ``steps_taken`` calls for (a copy, so restoring a saved state in place
        never writes into ``layouts``)."""
        layout = int(np.searchsorted(self.change_steps, self.steps_taken, side="right"))
        if layout == self.layout:
            return
        self.layout = layout
        self.desc = self.layouts[layout].copy()  # [nrow, ncol]
        (start,) = np.argwhere(self.desc == "S")
        self.start_state = self.to_index(int(start[0]), int(start[1]))
        self._background = self._paint_background()  # [nrow * cell_px, ncol * cell_px, 3]

    def to_index(self, row: int, col: int) -> int:
        return row * self.ncol + col

    def to_pos(self, state: int) -> tuple[int, int]:
        return divmod(int(state), self.ncol)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[int | np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.state = self.start_state
        return self._obs(), {}

    def step(self, action: int) -> tuple[int | np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ValueError(f"invalid action {action!r}")
        move = int(action)
        if self.slip > 0.0 and self.np_random.random() < self.slip:
            move = (move + int(self.np_random.integers(1, len(MOVES)))) % len(MOVES)  # one of the others
        row, col = self.to_pos(self.state)
        d_row, d_col = MOVES[move]
        new_row, new_col = row + d_row, col + d_col
        if not (0 <= new_row < self.nrow and 0 <= new_col < self.ncol) or self.desc[new_row, new_col] == "#":
            new_row, new_col = row, col
        cell = self.desc[new_row, new_col]
        terminated = False
        if cell == "C":
            reward, self.state = self.cliff_reward, self.start_state
        else:
            reward, self.state = self.step_reward, self.to_index(new_row, new_col)
            if cell == "G":
                reward, terminated = reward + self.goal_reward, True
        self.steps_taken += 1
        if self.change_steps:
            self._apply_changes()
        return self._obs(), float(reward), terminated, False, {"move": move}  # the move actually made

    def render(self) -> str | np.ndarray | None:
        if self.render_mode == "ansi":
            return self._ascii({self.state: "@"})
        if self.render_mode == "rgb_array":
            return self._image()
        return None

    def render_path(self, states: Sequence[int]) -> str:
        """The map with each visited ``.`` cell marked ``*`` (``S``, ``G`` and ``C`` keep their letter)."""
        return self._ascii({int(s): "*" for s in states if self.desc[self.to_pos(s)] == "."})

    def _ascii(self, marks: dict[int, str]) -> str:
        cells = self.desc.copy()  # [nrow, ncol]
        for state, mark in marks.items():
            cells[self.to_pos(state)] = mark
        return "".join("".join(row) + "\n" for row in cells)

    def _obs(self) -> int | np.ndarray:
        return self.state if self.obs_type == "index" else self._image()

    def _image(self) -> np.ndarray:
        image = self._background.copy()  # [nrow * cell_px, ncol * cell_px, 3]
        row, col = self.to_pos(self.state)
        px = self.cell_px
        image[row * px : (row + 1) * px, col * px : (col + 1) * px] = AGENT_COLOUR
        return image

    def _paint_background(self) -> np.ndarray:
        cells = np.array([[COLOURS[ch] for ch in row] for row in self.desc], np.uint8)  # [nrow, ncol, 3]
        rows = np.repeat(cells, self.cell_px, axis=0)  # [nrow * px, ncol, 3]
        return np.repeat(rows, self.cell_px, axis=1)  # [nrow * px, ncol * px, 3]


def shortest_path_length(env: GridWorld) -> int:
    """Steps of the shortest path from the start to a goal: breadth-first search over the env's own
    (deterministic) step function, from a reset with seed 0, whatever its observations. ``ValueError`` if no
    goal can be reached."""
    env.reset(seed=0)
    dist = {env.start_state: 0}
    queue = deque([env.start_state])
    while queue:
        s = queue.popleft()
        for a in range(env.action_space.n):
            env.state = s
            _, _, term, _, _ = env.step(a)
            s2 = env.state
            if term:
                return dist[s] + 1
            if s2 not in dist:
                dist[s2] = dist[s] + 1
                queue.append(s2)
    raise ValueError("no goal can be reached from the start")


def _rows(map: str | Sequence[str]) -> tuple[str, ...]:
    """A map name of ``envs.maps.MAPS``, or the rows themselves."""
    if isinstance(map, str):
        if map not in MAPS:
            raise ValueError(f"unknown map {map!r}; use one of {', '.join(MAPS)} or a list of rows")
        return MAPS[map]
    return tuple(map)


def _parse(rows: Sequence[str]) -> np.ndarray:
    """Check an ASCII map and return it as a ``[nrow, ncol]`` array of one-letter strings."""
    if not rows or len({len(r) for r in rows}) != 1 or not rows[0]:
        raise ValueError("a map needs one or more rows, all of the same non-zero length")
    desc = np.array([list(r) for r in rows])  # [nrow, ncol]
    unknown = set(desc.flat) - set(COLOURS)
    if unknown:
        raise ValueError(f"unknown map letters {sorted(unknown)}; use {''.join(COLOURS)}")
    if np.count_nonzero(desc == "S") != 1:
        raise ValueError("a map needs exactly one start cell 'S'")
    return desc
