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

MAPS: dict[str, tuple[str, ...]] = {
    "cliff_walking": CLIFF_WALKING,
    "open_5x5": OPEN_5X5,
    "four_rooms": FOUR_ROOMS,
}
"""Every named map, by the name ``GridWorld(map=...)`` accepts."""
