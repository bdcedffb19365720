"""Run configuration: the run-level dataclass, and resolving presets, YAML files and ``--set`` overrides.

Every key a user can set is a dataclass field with a one-line docstring; anything else is an error
that lists the valid keys. Bad input raises ``ConfigError``, which the CLIs print as one line (exit 2).
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import inspect
import textwrap
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """Bad user input: printed as one line naming the problem and the fix, exit code 2."""


def check_choice(key: str, value: str, choices: tuple[str, ...] | list[str]) -> None:
    """A ConfigError naming the choices unless ``value`` is one of them (for string-valued settings)."""
    if value not in choices:
        raise ConfigError(f"{key} '{value}' is not one of {', '.join(choices)}; use --set {key}={choices[0]}")


@dataclass
class RunConfig:
    """How a run is launched and recorded; the algorithm's own hyperparameters live in its config."""

    algo: str = "q_learning"
    """Algorithm name (see ``--algo``)."""
    env: str = "agentlab/CliffWalking-v0"
    """Environment id: agentlab/..., a gymnasium id, or an ALE id such as ALE/Pong-v5."""
    steps: int = 50_000
    """Environment steps to train for, counted over all workers."""
    episodes: int = 0
    """Stop after this many finished training episodes as well (0: no episode limit)."""
    minutes: float = 0.0
    """Wall-time limit of the run in minutes (0: none); the final checkpoint and eval still run."""
    seed: int = 0
    """Seeds environments, exploration and network initialisation."""
    workers: int = 2
    """Environment workers (Ray actors with the ray backend)."""
    envs_per_worker: int = 1
    """Environments stepped together inside each worker."""
    backend: str = "ray"
    """``ray`` (actors, local Ray or ``address``) or ``local`` (same classes in one process, reproducible)."""
    address: str = ""
    """Join this Ray cluster instead of starting a local Ray."""
    fragment_length: int = 32
    """Steps per environment in each fragment a worker ships."""
    sync_every: int = 1
    """A worker pulls fresh weights after this many of its fragments."""
    in_flight: int = 2
    """Sample calls kept in flight per Ray worker (hides call latency)."""
    device: str = "auto"
    """Learner device: ``auto`` (cuda when available), ``cpu`` or ``cuda``; workers always act on CPU."""
    learner_threads: int = 1
    """torch CPU threads of the learner process: 1 is fastest for small networks and beside busy workers."""
    checkpoint_every: int = 0
    """Env steps between checkpoints (0: a tenth of ``steps``); one is always written at the end."""
    eval_episodes: int = 0
    """Greedy evaluation episodes at the end of training (0: none), written to eval.json."""
    eval_every: int = 0
    """Env steps between greedy evaluations during training (0: none); logged to evals.csv."""
    solve_return: float | None = None
    """Stop once a periodic greedy evaluation's mean return reaches this (None: never stop early)."""
    dashboard: bool = False
    """Start Ray's dashboard (off by default)."""
    worker_timeout_s: float = 300.0
    """A Ray worker that has not answered a call within this many seconds is replaced (0: wait forever)."""
    max_worker_restarts: int = 100
    """Replace dead or hung Ray workers at most this many times in a run; one more stops the run."""
    run_dir: str = ""
    """Run folder (default: runs/<time>_<algo>_<env>_s<seed>)."""


def field_docs(cls: type) -> dict[str, str]:
    """The one-line docstrings under each dataclass field (what ``--help`` and errors show)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        body = tree.body[0].body  # type: ignore[attr-defined]
        for node, nxt in zip(body, body[1:], strict=False):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
                    docs[node.target.id] = str(nxt.value.value).strip()
    return docs


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def coerce(key: str, value: Any, kind: Any) -> Any:
    """Convert a YAML or command-line value to the field's type, or raise ConfigError."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            return None
        kind = options[0]
    if isinstance(value, str) and kind is not str:
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError:
            pass
    if kind is bool and isinstance(value, bool):
        return value
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind is str and isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    if origin is tuple and isinstance(value, list | tuple):
        return tuple(value)
    raise ConfigError(f"{key}={value!r} is not a valid {getattr(kind, '__name__', kind)}; "
                      f"give {key} a {getattr(kind, '__name__', kind)} value")


def unknown_key(key: str, valid: list[str]) -> ConfigError:
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return ConfigError(f"unknown config key '{key}'; {hint}valid keys: {', '.join(sorted(valid))}")


def parse_set(items: list[str]) -> dict[str, str]:
    """``["alpha=0.5", "gamma=1"]`` -> ``{"alpha": "0.5", "gamma": "1"}``."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects key=value, got '{item}'; for example --set alpha=0.5")
        out[key.strip()] = value.strip()
    return out


def load_yaml(path: str | Path) -> dict[str, Any]:
    """A config file: either flat ``key: value`` or the resolved form ``{run: {...}, algo: {...}}``."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file '{path}' does not exist; check the path given to --config") from None
    except (OSError, yaml.YAMLError) as e:
        reason = str(e).splitlines()[0]
        raise ConfigError(f"config file '{path}' is unreadable ({reason}); fix the YAML or the path") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file '{path}' must hold a mapping of key: value, not {type(data).__name__}")
    flat: dict[str, Any] = {}
    for section in ("run", "algo"):
        if isinstance(data.get(section), dict):
            flat.update(data.pop(section))
    flat.update(data)
    return flat


def split_overrides(values: dict[str, Any], algo_cls: type) -> tuple[dict[str, Any], dict[str, Any]]:
    """Route each key to the run config or the algorithm config, typed; unknown keys are errors."""
    run_types, algo_types = _field_types(RunConfig), _field_types(algo_cls)
    run, algo = {}, {}
    for key, value in values.items():
        if key in algo_types:
            algo[key] = coerce(key, value, algo_types[key])
        elif key in run_types:
            run[key] = coerce(key, value, run_types[key])
        else:
            raise unknown_key(key, list(run_types) + list(algo_types))
    return run, algo


def to_dict(config: Any) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}
