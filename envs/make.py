"""One factory for every env id: ``make`` for training, ``make_eval`` for evaluation.

Ray workers call it without having run the user's script, so it registers what it needs itself:
the ``agentlab/`` gridworlds and ``MinAtar/`` ids (``envs.minatar``) always, ale-py's ids only
when an id is not otherwise registered (a CartPole worker never loads the emulator). ALE ids get
the DQN pipeline of ``envs.atari``: training clips rewards and ends episodes at a lost life;
evaluation plays whole games for the raw score. Other ids come from ``gymnasium.make``, the same for both, with
composite observations made flat (``envs.composite``: Blackjack's tuple becomes one ``Discrete``), except that an
evaluation env registered without a time limit gets ``EVAL_STEP_LIMIT``: a greedy policy that loops (on gymnasium's
``CliffWalking-v1``, a walk into the wall) must still end its episode.
A third-party env is named as gymnasium names it, ``module:EnvId`` included: the module is imported (it
registers its ids), in every worker too, before the id is looked up.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import replace
from typing import Any

import gymnasium
import numpy as np
from gymnasium.envs.registration import EnvSpec

from envs.composite import simplify
from envs.masks import FlattenMask, is_masked
from envs.minatar import register_minatar

ALE_ENTRY_POINT = "ale_py.env:AtariEnv"
EVAL_STEP_LIMIT = 100_000
"""Steps after which an evaluation episode of an env registered without a time limit is truncated."""

register_minatar()  # ten registry entries, minatar not imported: gymnasium.make("MinAtar/...") after `import envs`


class SeedFirstReset(gymnasium.Wrapper):
    """Seed the first ``reset()`` that is not given a seed, so ``make(id, seed)`` alone is reproducible."""

    def __init__(self, env: gymnasium.Env, seed: int):
        super().__init__(env)
        self.pending_seed: int | None = seed

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        seed = self.pending_seed if seed is None else seed
        self.pending_seed = None
        return self.env.reset(seed=seed, options=options)


def make(env_id: str, seed: int | None = None, **kwargs: Any) -> gymnasium.Env:
    """A training env. ``seed`` seeds the first reset and the action space; ``kwargs`` go to
    ``gymnasium.make``, except ``envs.atari.AtariConfig`` fields for ALE ids."""
    return _make(env_id, seed, train=True, kwargs=kwargs)


def make_eval(env_id: str, seed: int | None = None, **kwargs: Any) -> gymnasium.Env:
    """An evaluation env: for ALE ids whole games and raw scores, otherwise the same as ``make``."""
    return _make(env_id, seed, train=False, kwargs=kwargs)


def _make(env_id: str, seed: int | None, train: bool, kwargs: dict[str, Any]) -> gymnasium.Env:
    from envs.multiagent import MULTIAGENT_ENVS, make_pettingzoo

    if env_id in MULTIAGENT_ENVS:  # ours: the PettingZoo env itself (the driver steps any multi-agent id as AEC)
        return make_pettingzoo(env_id, **kwargs)
    spec = resolve(env_id)
    if spec.entry_point == ALE_ENTRY_POINT:
        from envs.atari import CONFIG_KEYS, EVAL, TRAIN, make_atari  # cv2 and the emulator: Atari ids only

        overrides = {k: v for k, v in kwargs.items() if k in CONFIG_KEYS}
        ale_kwargs = {k: v for k, v in kwargs.items() if k not in CONFIG_KEYS}
        env = make_atari(spec.id, replace(TRAIN if train else EVAL, **overrides), **ale_kwargs)
    else:
        if not train and spec.max_episode_steps is None:
            kwargs = {"max_episode_steps": EVAL_STEP_LIMIT, **kwargs}
        env = gymnasium.make(spec.id, **kwargs)
    if is_masked(env.observation_space):  # {"observation", "action_mask"}: one vector, the mask at its end
        env = FlattenMask(env)
    env = simplify(env)  # Tuple, Dict, MultiDiscrete, MultiBinary: a Discrete (tuples of them) or a flat Box
    if seed is not None:
        env = SeedFirstReset(env, seed)
        env.action_space.seed(seed)
    return env


def resolve(env_id: str) -> EnvSpec:
    """The registered spec of ``env_id``, registering agentlab's, MinAtar's and (if needed) ale-py's ids first."""
    from envs import register_gridworlds

    register_gridworlds()
    register_minatar()  # again: ours replace ids that minatar.gym.register_envs() may have registered since
    if ":" in env_id:  # module:EnvId, as gymnasium.make takes it: importing the module registers the id
        module, _, env_id = env_id.partition(":")
        try:
            importlib.import_module(module)
        except Exception as e:  # ImportError, or the module's own failure while registering
            raise ValueError(f"env id '{module}:{env_id}': importing module '{module}' failed "
                             f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); install it or "
                             "put it on PYTHONPATH") from None
    if env_id not in gymnasium.registry:
        _register_ale(env_id)
    if env_id not in gymnasium.registry:
        raise ValueError(unknown_id_message(env_id))
    return gymnasium.spec(env_id)


def _register_ale(env_id: str) -> None:
    try:
        import ale_py
    except ImportError:
        if env_id.startswith("ALE/"):
            raise gymnasium.error.DependencyNotInstalled(
                f"{env_id!r} needs the Arcade Learning Environment: pip install 'ale-py>=0.9'"
            ) from None
        return
    gymnasium.register_envs(ale_py)


def unknown_id_message(env_id: str) -> str:
    """One line: the id and its closest registered ids, compared without case."""
    by_lower = {name.lower(): name for name in gymnasium.registry}
    close = difflib.get_close_matches(env_id.lower(), by_lower, n=3, cutoff=0.6)
    hint = f"; did you mean: {', '.join(by_lower[c] for c in close)}?" if close else ""
    if "." in env_id and "/" not in env_id:  # a module path that did not import: a PettingZoo env, misspelt?
        hint += "; a PettingZoo env is named by its importable module (e.g. pettingzoo.classic.tictactoe_v3)"
    return f"unknown env id {env_id!r}{hint} (see gymnasium.registry)"
