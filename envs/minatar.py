"""MinAtar's five games as gymnasium envs under our own ``MinAtar/<Game>-v0|v1`` ids.

Young & Tian (2019), "MinAtar: An Atari-Inspired Testbed for Thorough and Reproducible Reinforcement
Learning Experiments": 10×10 grids, one binary channel per kind of object, sticky actions with
probability 0.1 and difficulty ramping on by default. ``-v0`` ids act with all six actions, ``-v1``
with the game's minimal action set (the ``minatar`` package's own naming).

The ``minatar`` package (1.0.15) falls short of gymnasium 1.x in three ways, which ``MinAtarEnv``
handles: its ids are registered only through an entry-point plugin gymnasium no longer loads
(``register_minatar`` registers ours, from ``envs.make`` in any process, Ray workers included); it
returns ``bool`` observations (ours are float32 in [0, 1], channels last, ``[10, 10, C]``); and its
``reset`` ignores gymnasium's seeding (ours seeds the game from ``self.np_random``, so
``reset(seed=s)`` replays the same episode, and unseeded resets continue that stream). Sticky actions
also no longer leak from one episode into the next.
"""

from __future__ import annotations

import copy
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

GAMES: dict[str, str] = {
    "Asterix": "asterix",
    "Breakout": "breakout",
    "Freeway": "freeway",
    "Seaquest": "seaquest",
    "SpaceInvaders": "space_invaders",
}
"""Id name → ``minatar.environments`` module name."""

ENTRY_POINT = "envs.minatar:MinAtarEnv"
RENDER_SCALE = 16
"""Pixels per grid cell in ``rgb_array`` frames."""


def register_minatar() -> None:
    """Register ``MinAtar/<Game>-v0`` (six actions) and ``-v1`` (minimal set) for every game; a no-op once done.

    An id already registered by ``minatar.gym.register_envs()`` (bool observations, no seeding) is
    replaced by ours. Registering does not import ``minatar``: the entry point is a string.
    """
    for name, game in GAMES.items():
        for version, minimal in (("v0", False), ("v1", True)):
            env_id = f"MinAtar/{name}-{version}"
            spec = gymnasium.registry.get(env_id)
            if spec is not None and spec.entry_point == ENTRY_POINT:
                continue
            if spec is not None:
                del gymnasium.registry[env_id]
            gymnasium.register(env_id, entry_point=ENTRY_POINT, kwargs={"game": game, "minimal_action_set": minimal})


class MinAtarEnv(gymnasium.Env):
    """One MinAtar game: observations ``[10, 10, C]`` float32 in {0, 1}, rewards as the game gives them."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 15}

    def __init__(self, game: str, minimal_action_set: bool = True, sticky_action_prob: float = 0.1,
                 difficulty_ramping: bool = True, render_mode: str | None = None) -> None:
        from minatar import Environment  # the package only where a MinAtar env is built

        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r} is not supported; use 'rgb_array' or None")
        self.game = Environment(env_name=game, sticky_action_prob=sticky_action_prob,
                                difficulty_ramping=difficulty_ramping)
        self.render_mode = render_mode
        self.action_set = list(self.game.minimal_action_set()) if minimal_action_set else list(range(6))
        self.action_space = spaces.Discrete(len(self.action_set))
        self.observation_space = spaces.Box(0.0, 1.0, shape=tuple(self.game.state_shape()), dtype=np.float32)

    def _obs(self) -> np.ndarray:
        return self.game.state().astype(np.float32)  # [10, 10, C] bool -> float32

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        # The game draws from its own RandomState (spawns, sticky actions): seed it from our stream.
        self.game.seed(int(self.np_random.integers(2**31 - 1)))
        self.game.last_action = 0  # a sticky action repeats this episode's previous action, not the last episode's
        self.game.reset()
        return self._obs(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        reward, terminated = self.game.act(self.action_set[int(action)])
        return self._obs(), float(reward), bool(terminated), False, {}

    def get_state(self) -> dict[str, Any]:
        """The game mid-episode as plain data (``envs.state``: a resumed run continues the same episodes)."""
        game = {key: copy.deepcopy(value) for key, value in vars(self.game.env).items() if key != "random"}
        return {"game": game, "random": self.game.random.get_state(), "last_action": self.game.last_action,
                "np_random": self.np_random.bit_generator.state}

    def set_state(self, state: dict[str, Any]) -> None:
        vars(self.game.env).update(copy.deepcopy(state["game"]))
        self.game.random.set_state(state["random"])
        self.game.env.random = self.game.random  # the game and its sticky actions share one RandomState
        self.game.last_action = state["last_action"]
        self.np_random.bit_generator.state = state["np_random"]

    def render(self) -> np.ndarray | None:
        """``rgb_array``: each cell coloured by its highest set channel (black when empty), upscaled."""
        if self.render_mode != "rgb_array":
            return None
        state = self.game.state()  # [10, 10, C] bool
        channels = state.shape[-1]
        palette = np.concatenate([np.zeros((1, 3)), _hues(channels)]) * 255  # [C + 1, 3]
        index = np.where(state.any(-1), state.shape[-1] - np.argmax(state[..., ::-1], axis=-1), 0)  # [10, 10]
        frame = palette[index].astype(np.uint8)  # [10, 10, 3]
        return frame.repeat(RENDER_SCALE, axis=0).repeat(RENDER_SCALE, axis=1)


def _hues(n: int) -> np.ndarray:
    """``n`` distinct bright colours ``[n, 3]`` in [0, 1], evenly spaced around the hue circle."""
    hue = np.arange(n) / max(n, 1)
    return np.stack([0.5 + 0.5 * np.cos(2 * np.pi * (hue + k / 3)) for k in range(3)], axis=-1)
