"""Environments agentlab trains on, registered with gymnasium under the ``agentlab/`` namespace.

Importing ``envs`` registers the gridworlds, so ``gymnasium.make("agentlab/CliffWalking-v0")``
works in any process (Ray workers included) that has imported it.
"""

from __future__ import annotations

import gymnasium

from envs.gridworld import GridWorld

GRIDWORLDS: dict[str, tuple[str, int]] = {
    "agentlab/CliffWalking-v0": ("cliff_walking", 1000),
    "agentlab/GridWorld-v0": ("open_5x5", 100),
    "agentlab/FourRooms-v0": ("four_rooms", 500),
    "agentlab/DynaMaze-v0": ("dyna_maze", 100_000),
    "agentlab/BlockingMaze-v0": ("blocking_maze", 100_000),
    "agentlab/ShortcutMaze-v0": ("shortcut_maze", 100_000),
}
"""Gymnasium id -> (map name, max_episode_steps)."""

_BOOK_MAZE = {"step_reward": 0.0, "goal_reward": 1.0}
GRIDWORLD_KWARGS: dict[str, dict] = {
    "agentlab/DynaMaze-v0": _BOOK_MAZE,
    "agentlab/BlockingMaze-v0": {**_BOOK_MAZE, "changes": ((1000, "blocking_maze_changed"),)},
    "agentlab/ShortcutMaze-v0": {**_BOOK_MAZE, "changes": ((3000, "shortcut_maze_changed"),)},
}
"""Other ``GridWorld`` arguments of an id. Sutton & Barto's chapter 8 mazes: reward 0 a step and +1 at the goal;
the blocking maze changes after 1000 steps, the shortcut maze after 3000 (Figures 8.4, 8.5). Their episodes have
no limit in the book; 100,000 steps only bounds a greedy evaluation that loops."""

IMAGE_GRIDWORLDS: dict[str, str] = {
    "agentlab/GridWorldImage-v0": "agentlab/GridWorld-v0",
    "agentlab/FourRoomsImage-v0": "agentlab/FourRooms-v0",
}
"""The same worlds seen as RGB images (8 px a cell), for CNN encoders: image id -> index id."""


MEMORY_TASKS: dict[str, tuple[str, int, dict]] = {
    "agentlab/MaskedCartPole-v1": ("envs.masked_cartpole:MaskedCartPole", 500, {}),
    "agentlab/TMaze-v0": ("envs.tmaze:TMaze", 100, {"length": 10}),
    "agentlab/TMazeLong-v0": ("envs.tmaze:TMaze", 300, {"length": 30}),
}
"""Partially observable tasks that need memory: id -> (entry point, max_episode_steps, kwargs)."""

PROBE_TASKS: dict[str, tuple[str, int, dict]] = {
    "agentlab/OffsetCorridor-v0": ("envs.corridor:Corridor", 50, {"offset": 10_000.0, "scale": 10.0}),
}
"""Small tasks that isolate one difficulty (here: observations far from unit scale), same layout as above."""


def register_gridworlds() -> None:
    """Register every ``GRIDWORLDS``, ``MEMORY_TASKS`` and ``PROBE_TASKS`` id once; again (a second import, a Ray
    worker): nothing."""
    for env_id, (map_name, max_steps) in GRIDWORLDS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(
                env_id,
                entry_point="envs.gridworld:GridWorld",
                max_episode_steps=max_steps,
                kwargs={"map": map_name, **GRIDWORLD_KWARGS.get(env_id, {})},
            )
    for env_id, index_id in IMAGE_GRIDWORLDS.items():
        if env_id not in gymnasium.registry:
            map_name, max_steps = GRIDWORLDS[index_id]
            gymnasium.register(env_id, entry_point="envs.gridworld:GridWorld", max_episode_steps=max_steps,
                               kwargs={"map": map_name, **GRIDWORLD_KWARGS.get(index_id, {}), "obs_type": "image"})
    for env_id, (entry_point, max_steps, kwargs) in {**MEMORY_TASKS, **PROBE_TASKS}.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(env_id, entry_point=entry_point, max_episode_steps=max_steps, kwargs=kwargs)


register_gridworlds()

__all__ = ["GridWorld", "register_gridworlds"]

from envs.make import make, make_eval  # noqa: E402, F401  (re-exported: envs.make(id), envs.make_eval(id))
