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
}
"""Gymnasium id -> (map name, max_episode_steps)."""

IMAGE_GRIDWORLDS: dict[str, str] = {
    "agentlab/GridWorldImage-v0": "agentlab/GridWorld-v0",
    "agentlab/FourRoomsImage-v0": "agentlab/FourRooms-v0",
}
"""The same worlds seen as RGB images (8 px a cell), for CNN encoders: image id -> index id."""


def register_gridworlds() -> None:
    """Register every ``GRIDWORLDS`` id once; calling again (a second import, a Ray worker) does nothing."""
    for env_id, (map_name, max_steps) in GRIDWORLDS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(
                env_id,
                entry_point="envs.gridworld:GridWorld",
                max_episode_steps=max_steps,
                kwargs={"map": map_name},
            )
    for env_id, index_id in IMAGE_GRIDWORLDS.items():
        if env_id not in gymnasium.registry:
            map_name, max_steps = GRIDWORLDS[index_id]
            gymnasium.register(env_id, entry_point="envs.gridworld:GridWorld", max_episode_steps=max_steps,
                               kwargs={"map": map_name, "obs_type": "image"})


register_gridworlds()

__all__ = ["GridWorld", "register_gridworlds"]

from envs.make import make, make_eval  # noqa: E402, F401  (re-exported: envs.make(id), envs.make_eval(id))
