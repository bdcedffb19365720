"""Named ASCII maps for ``envs.gridworld.GridWorld``.

Letters: ``S`` start, ``G`` goal (terminal), ``#`` wall, ``C`` cliff (costs ``cliff_reward`` and
sends the agent back to ``S``), ``.`` free. Row 0 is the top of the map.
"""

from __future__ import annotations

CLIFF_WALKING: tuple[str, ...] = (
    "............",
    "............",
    "............",
    "SCCCCCCCCCCG",
)
"""Sutton & Barto (2018), Example 6.6: 4x12, start bottom-left, goal bottom-right, cliff between."""

OPEN_5X5: tuple[str, ...] = (
    "S....",
    ".....",
    ".....",
    ".....",
    "....G",
)
"""A small open grid: the shortest path from corner to corner is 8 steps."""

FOUR_ROOMS: tuple[str, ...] = (
    "#############",
    "#S....#.....#",
    "#.....#.....#",
    "#...........#",
    "#.....#.....#",
    "#.....#.....#",
    "##.####.....#",
    "#.....###.###",
    "#.....#.....#",
    "#.....#.....#",
    "#...........#",
    "#.....#....G#",
    "#############",
)
"""Sutton, Precup & Singh (1999), Fig. 2: an 11x11 interior split into four rooms joined by four
one-cell doorways (104 free cells). The paper's goals vary by task; here the agent starts in the
top-left corner and the goal is the bottom-right corner (a 20-step shortest path)."""

DYNA_MAZE: tuple[str, ...] = (
    ".......#G",
    "..#....#.",
    "S.#....#.",
    "..#......",
    ".....#...",
    ".........",
)
"""Sutton & Barto (2018), Example 8.1 / Figure 8.2: the 6x9 Dyna maze (47 free cells); the shortest path
from S to G is 14 steps."""

BLOCKING_MAZE: tuple[str, ...] = (
    "........G",
    ".........",
    ".........",
    "########.",
    ".........",
    "...S.....",
)
"""Sutton & Barto (2018), Example 8.2 / Figure 8.4, the first layout: a barrier with a gap at its right
end; the shortest path is 10 steps."""

BLOCKING_MAZE_CHANGED: tuple[str, ...] = (
    "........G",
    ".........",
    ".........",
    ".########",
    ".........",
    "...S.....",
)
"""Figure 8.4 after the change: the right gap is blocked and one opens at the left end (16 steps)."""

SHORTCUT_MAZE: tuple[str, ...] = BLOCKING_MAZE_CHANGED
"""Sutton & Barto (2018), Example 8.3 / Figure 8.5, the first layout: the long way round on the left
(16 steps); the same cells as the blocking maze after its change."""

SHORTCUT_MAZE_CHANGED: tuple[str, ...] = (
    "........G",
    ".........",
    ".........",
    ".#######.",
    ".........",
    "...S.....",
)
"""Figure 8.5 after the change: a shortcut opens at the right end (10 steps); the left path stays."""

MAPS: dict[str, tuple[str, ...]] = {
    "cliff_walking": CLIFF_WALKING,
    "open_5x5": OPEN_5X5,
    "four_rooms": FOUR_ROOMS,
    "dyna_maze": DYNA_MAZE,
    "blocking_maze": BLOCKING_MAZE,
    "blocking_maze_changed": BLOCKING_MAZE_CHANGED,
    "shortcut_maze": SHORTCUT_MAZE,
    "shortcut_maze_changed": SHORTCUT_MAZE_CHANGED,
}
"""Every named map, by the name ``GridWorld(map=...)`` accepts."""
