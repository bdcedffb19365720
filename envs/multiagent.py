"""PettingZoo environments as agentlab's workers step them: ids, spaces and batches of games.

An id names a multi-agent env by its module: ``pettingzoo.classic.tictactoe_v3`` (any module with an ``env()``
factory, PettingZoo's convention) or one of ours in ``MULTIAGENT_ENVS``. Every game is stepped through the
turn-based AEC API (Terry et al. 2021); a parallel env is the AEC game whose agents all move once per cycle
(``parallel_to_aec``), so one adapter serves both.

An agent's observation is flattened to one float vector (``envs.masks``): the game's observation, then (for a
``shared`` policy) a one-hot of the agent's index, then its legal-action mask when the game has one. Every
agent of a game must have the same Discrete action space and observation shape, so that one network can play
any seat.
"""

from __future__ import annotations

import importlib
from typing import Any

import gymnasium
import numpy as np

from envs.masks import MaskedBox, flatten_masked, masked_box

MULTIAGENT_ENVS: dict[str, str] = {"agentlab/CoopGrid-v0": "envs.coop"}
"""Our multi-agent ids -> the module whose ``env()`` builds the AEC game."""


def is_multiagent(env_id: str) -> bool:
    """A PettingZoo module path or one of ``MULTIAGENT_ENVS`` (gymnasium ids hold a '/' or a '-v', not dots)."""
    if env_id in MULTIAGENT_ENVS:
        return True
    if "." not in env_id or "/" in env_id or ":" in env_id:
        return False
    try:
        module = importlib.import_module(env_id)
    except ModuleNotFoundError as e:  # the id's module is there but needs one that is not (chess_v6 needs chess):
        return e.name is not None and not env_id.startswith(e.name)  # ours, so that make_aec names what to install
    except ImportError:
        return False
    return callable(getattr(module, "env", None)) or callable(getattr(module, "parallel_env", None))


def _module(env_id: str) -> Any:
    module_name = MULTIAGENT_ENVS.get(env_id, env_id)
    try:
        return importlib.import_module(module_name)
    except ImportError as e:
        raise ValueError(f"multi-agent env '{env_id}': importing '{module_name}' failed ({e}); install it") from None


def make_aec(env_id: str, render_mode: str | None = None) -> Any:
    """The AEC env of a multi-agent id: its module's ``env(render_mode=...)``, or its ``parallel_env`` as AEC."""
    module = _module(env_id)
    if callable(getattr(module, "env", None)):
        return _build(env_id, module.env, render_mode=render_mode)
    from pettingzoo.utils import parallel_to_aec

    return parallel_to_aec(_build(env_id, module.parallel_env, render_mode=render_mode))


def make_pettingzoo(env_id: str, **kwargs: Any) -> Any:
    """What ``envs.make`` gives for a multi-agent id: its module's ``parallel_env`` where it has one, else ``env``."""
    module = _module(env_id)
    return _build(env_id, getattr(module, "parallel_env", module.env), **kwargs)


def _build(env_id: str, factory: Any, **kwargs: Any) -> Any:
    """``factory(**kwargs)``; a game that imports what it needs only when built (Hanabi's OpenSpiel) and lacks it
    raises the one-line ``ValueError`` ``_module`` does."""
    try:
        return factory(**kwargs)
    except ImportError as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ValueError(f"multi-agent env '{env_id}' could not be built ({reason}); install what it names") from None


class GameSpaces:
    """The agents of a game and the one observation and action space every seat's policy uses."""

    def __init__(self, env: Any, agent_id: bool):
        self.agents: list[str] = list(env.possible_agents)
        spaces = [env.observation_space(a) for a in self.agents]
        actions = [env.action_space(a) for a in self.agents]
        if not all(isinstance(a, gymnasium.spaces.Discrete) and a.n == actions[0].n for a in actions):
            raise ValueError(f"every agent needs the same Discrete action space, got {actions}")
        boxes = [masked_box(s, len(self.agents) if agent_id else 0) for s in spaces]
        if any(b.shape != boxes[0].shape or b.num_actions != boxes[0].num_actions for b in boxes):
            raise ValueError(f"every agent needs observations of one shape, got {[b.shape for b in boxes]}")
        self.agent_id = agent_id
        self.observation_space: MaskedBox = boxes[0]
        self.action_space: gymnasium.spaces.Discrete = actions[0]

    def encode(self, obs: Any, agent: str) -> np.ndarray:
        """One agent's observation as the flat vector of ``observation_space``."""
        index = self.agents.index(agent)
        extra = np.eye(len(self.agents), dtype=np.float32)[index] if self.agent_id else None
        return flatten_masked(self.observation_space, obs, extra)


def game_over(env: Any) -> bool:
    """Every agent terminated or truncated (PettingZoo removes finished agents, so also: none left)."""
    return not env.agents or all(env.terminations[a] or env.truncations[a] for a in env.agents)
