"""An environment's state mid-episode, saved and restored, so a resumed run continues the same episodes.

``get_state(env)`` returns plain data (numbers, strings, numpy arrays and scalars, lists, tuples and
dicts of them), or ``None`` when the env holds something that cannot be captured that way (a Box2D
world, a physics engine handle): the caller then starts fresh episodes. ``set_state(env, state)`` puts
it back into an env built the same way.

What is captured, layer by layer down a wrapper chain (``.env``) and across a vector env's ``.envs``:
a layer that defines ``get_state()`` / ``set_state(state)`` itself is asked; any other layer's attributes
are taken whole when they are all plain data, numpy random generators or an ALE emulator (saved by its
own state cloning, random state included): gymnasium's classic control and toy text, our gridworlds,
Atari with our preprocessing, ``TimeLimit``'s step count. Spaces, specs, functions, enums (an action
set), the wrapped env and constructor kwargs are configuration, not state, and are skipped.
"""

from __future__ import annotations

import sys
from collections import deque
from enum import Enum
from typing import Any

import gymnasium
import numpy as np
from gymnasium.envs.registration import EnvSpec

_SKIPPED_NAMES = frozenset({"env", "envs", "_saved_kwargs", "_ezpickle_args", "_ezpickle_kwargs", "spec", "metadata",
                            "render_mode"})
_SKIPPED_TYPES = (gymnasium.Space, EnvSpec, gymnasium.Env, gymnasium.vector.VectorEnv)
_PLAIN = (type(None), bool, int, float, complex, str, bytes, np.ndarray, np.generic)


class Unsaveable(Exception):
    """An attribute of this type cannot be captured as plain data."""


def _is_ale(value: Any) -> bool:
    ale_py = sys.modules.get("ale_py")  # only an env that imported it can hold one
    return ale_py is not None and isinstance(value, ale_py.ALEInterface)


def _is_config(value: Any) -> bool:
    """Enums, and lists of them (an action set), are configuration, fixed when the env is built."""
    if isinstance(value, list | tuple) and value:
        return all(isinstance(v, Enum) for v in value)
    return isinstance(value, Enum)


def _plain(value: Any) -> Any:
    """A copy of ``value`` as plain data, or ``Unsaveable``."""
    if _is_ale(value):  # the emulator through its own state cloning, random state included (sticky actions)
        return {"__ale__": np.frombuffer(value.cloneState(include_rng=True).__getstate__(), np.uint8).copy()}
    if isinstance(value, np.random.Generator):
        return {"__generator__": type(value.bit_generator).__name__, "state": value.bit_generator.state}
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise Unsaveable("object array")
        return value.copy()
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, list | tuple | deque):
        items = [_plain(v) for v in value]
        return {"__deque__": items, "maxlen": value.maxlen} if isinstance(value, deque) else type(value)(items)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    raise Unsaveable(type(value).__name__)


def _restore(current: Any, saved: Any) -> Any:
    """The live value for ``saved``; generators and arrays of the same layout are updated in place."""
    if isinstance(saved, dict) and "__generator__" in saved:
        generator = current if isinstance(current, np.random.Generator) else np.random.Generator(
            getattr(np.random, saved["__generator__"])())
        generator.bit_generator.state = saved["state"]
        return generator
    if isinstance(saved, dict) and "__ale__" in saved:
        import ale_py

        state = ale_py.ALEState.__new__(ale_py.ALEState)
        state.__setstate__(saved["__ale__"].tobytes())
        current.restoreState(state)
        return current
    if isinstance(saved, dict) and "__deque__" in saved:
        return deque(saved["__deque__"], maxlen=saved["maxlen"])
    if isinstance(saved, np.ndarray):
        if isinstance(current, np.ndarray) and current.shape == saved.shape and current.dtype == saved.dtype:
            current[...] = saved
            return current
        return saved.copy()
    return saved


def _layer_state(layer: Any) -> dict[str, Any]:
    if callable(getattr(type(layer), "get_state", None)):
        return {"own": layer.get_state()}
    attrs = {}
    for name, value in vars(layer).items():
        if name in _SKIPPED_NAMES or isinstance(value, _SKIPPED_TYPES) or callable(value) or _is_config(value):
            continue
        attrs[name] = _plain(value)
    return {"attrs": attrs}


def _layers(env: Any) -> list[Any]:
    """``env`` and every env below it, outermost first (a vector env's sub-envs after it)."""
    out, stack = [], [env]
    while stack:
        layer = stack.pop(0)
        out.append(layer)
        if isinstance(getattr(layer, "envs", None), list):
            stack.extend(layer.envs)
        elif hasattr(layer, "env") and layer.env is not layer:
            stack.insert(0, layer.env)
    return out


def get_state(env: Any) -> list[dict[str, Any]] | None:
    """Every layer's state, or ``None`` if some layer cannot be captured."""
    try:
        return [_layer_state(layer) for layer in _layers(env)]
    except Unsaveable:
        return None


def set_state(env: Any, state: list[dict[str, Any]]) -> None:
    """Restore ``get_state``'s result into an env made by the same constructor."""
    layers = _layers(env)
    if len(layers) != len(state):
        raise ValueError(f"saved state has {len(state)} env layers, this env has {len(layers)}")
    for layer, saved in zip(layers, state, strict=True):
        if "own" in saved:
            layer.set_state(saved["own"])
            continue
        for name, value in saved["attrs"].items():
            setattr(layer, name, _restore(getattr(layer, name, None), value))
