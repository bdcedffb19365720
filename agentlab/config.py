"""Run configuration: the run-level dataclass, and resolving presets, YAML files and ``--set`` overrides.

Every key a user can set is a dataclass field with a one-line docstring; anything else is an error
that lists the valid keys. Bad input raises ``ConfigError``, which the CLIs print as one line (exit 2).

Each field declares what it accepts beside its default, ``gamma: float = setting(0.99, ge=0, le=1)``;
``validate(config)`` checks every field's type (from its annotation) and declared range or choices,
then the dataclass's own ``validate()`` method, if it has one, for constraints between fields.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import difflib
import importlib
import inspect
import math
import numbers
import os
import re
import sys
import textwrap
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """Bad user input: printed as one line naming the problem and the fix, exit code 2."""


def check_choice(key: str, value: str, choices: Sequence[str]) -> None:
    """A ConfigError naming the choices unless ``value`` is one of them (for names given outside a config)."""
    if value not in choices:
        raise ConfigError(f"{key} '{value}' is not one of {', '.join(map(_show, choices))}; "
                          f"use --set {key}={_show(choices[0])}")


def invalid(key: str, value: Any, allowed: str, fix: Any) -> ConfigError:
    """The one-line error of a bad setting: the key, the value, what is allowed, and a ``--set`` that fixes it."""
    return ConfigError(f"{key} must be {allowed}, got {_show(value)}; use --set {key}={_show(fix)}")


def _show(value: Any) -> str:
    """A value as one would type it after ``--set key=``."""
    if isinstance(value, tuple | list):
        return "[" + ",".join(_show(v) for v in value) + "]"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return repr(value) if not value or value.strip() != value else value
    return repr(value)


@dataclass(frozen=True)
class Check:
    """What a field accepts beyond its annotated type. Bounds apply to a number, or to each item of a tuple."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: Sequence[str] | Callable[[], Sequence[str]] | None = None
    """Allowed strings, or a function returning them (read at validation, e.g. a registry's names)."""
    pattern: str | None = None
    """A regular expression the whole string must match."""
    means: str = ""
    """The pattern in words, for the error (default: the pattern itself)."""
    nonempty: bool = False
    """A string or tuple must not be empty (a name, a path that must be given)."""
    length: int | None = None
    """A tuple must have exactly this many items."""
    finite: bool = True
    """Floats must be finite (NaN is never accepted)."""
    fixed: bool = False
    """Fixed for the life of a run: it shapes the checkpoint (network, optimizer or replay), so a resume keeps it."""

    def number_problem(self, x: numbers.Real) -> str | None:
        """What ``x`` must be, if it breaks a bound; else None."""
        if not isinstance(x, numbers.Integral) and (math.isnan(x) or (self.finite and math.isinf(x))):
            return "a finite number" + (f" ({self.range_text()})" if self.range_text() else "")
        if ((self.ge is not None and not x >= self.ge) or (self.gt is not None and not x > self.gt)
                or (self.le is not None and not x <= self.le) or (self.lt is not None and not x < self.lt)):
            return self.range_text()
        return None

    def range_text(self) -> str:
        low = f"{_num(self.ge)}" if self.ge is not None else (f"{_num(self.gt)}" if self.gt is not None else None)
        high = f"{_num(self.le)}" if self.le is not None else (f"{_num(self.lt)}" if self.lt is not None else None)
        if low is not None and high is not None:
            return f"in {'[' if self.ge is not None else '('}{low}, {high}{']' if self.le is not None else ')'}"
        if low is not None:
            return f"{low} or more" if self.ge is not None else f"more than {low}"
        if high is not None:
            return f"{high} or less" if self.le is not None else f"less than {high}"
        return ""

    def allowed_choices(self) -> list[str]:
        choices = self.choices() if callable(self.choices) else self.choices
        return list(choices or [])


def names_in(path: str, first: Sequence[str] = ()) -> Callable[[], list[str]]:
    """Choices read from a registry when validating: ``names_in("agentlab.encoders:ENCODERS", first=["auto"])``.

    The module is imported only then, so a config module stays light (no torch) and the registry is the
    one list of names.
    """

    def names() -> list[str]:
        module, attr = path.split(":")
        return [*first, *sorted(getattr(importlib.import_module(module), attr))]

    return names


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(x)


def setting(default: Any, *, ge: float | None = None, gt: float | None = None, le: float | None = None,
            lt: float | None = None, choices: Sequence[str] | Callable[[], Sequence[str]] | None = None,
            pattern: str | None = None, means: str = "", nonempty: bool = False, length: int | None = None,
            finite: bool = True, fixed: bool = False) -> Any:
    """A dataclass field with its constraint declared beside it: ``alpha: float = setting(0.1, gt=0, le=1)``.

    ``validate`` enforces the field's annotated type and these constraints (see ``Check``).
    """
    check = Check(ge, gt, le, lt, choices, pattern, means, nonempty, length, finite, fixed)
    return dataclasses.field(default=default, metadata={"check": check})


def _type_name(kind: Any) -> str:
    """The annotated type in words: ``tuple[int, ...]`` → "a list of whole numbers"."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(k) for k in typing.get_args(kind))
    if typing.get_origin(kind) is tuple:
        args = typing.get_args(kind)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_PLURALS.get(args[0], 'values')}"
        return f"a list of {len(args)} values ({', '.join(_type_name(k) for k in args)})"
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "a string", type(None): "none"}
    return names.get(kind, getattr(kind, "__name__", str(kind)))


_PLURALS = {bool: "true/false values", int: "whole numbers", float: "numbers", str: "strings"}


def _is_type(value: Any, kind: Any) -> bool:
    """``value`` is of the annotated ``kind``: no bool for a number, no float for an int, tuples item by item."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        return any(_is_type(value, k) for k in typing.get_args(kind))
    if kind is Any:
        return True
    if kind is type(None):
        return value is None
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)  # numpy ints too
    if kind is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if origin is tuple:
        args = typing.get_args(kind)
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_is_type(v, args[0]) for v in value)
        return len(value) == len(args) and all(_is_type(v, k) for v, k in zip(value, args, strict=True))
    if isinstance(kind, type):
        return isinstance(value, kind)
    return True


def _field_problem(value: Any, kind: Any, check: Check) -> str | None:
    """What a field's value must be, if it is not; else None."""
    if not _is_type(value, kind):
        args = typing.get_args(kind)
        fixed = typing.get_origin(kind) is tuple and args and args[-1] is not Ellipsis
        if isinstance(value, tuple) and fixed and len(value) != len(args):
            return f"a list of exactly {len(args)} values"
        return _type_name(kind)
    if isinstance(value, tuple):
        return _tuple_problem(value, check)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return check.number_problem(value)
    if isinstance(value, str):
        return _str_problem(value, check)
    return None


def _tuple_problem(value: tuple, check: Check) -> str | None:
    if check.length is not None and len(value) != check.length:
        return f"a list of exactly {check.length} values"
    if check.nonempty and not value:
        return "a non-empty list"
    items = [x for x in value if isinstance(x, numbers.Real) and not isinstance(x, bool)]
    problems = [p for p in map(check.number_problem, items) if p]
    return f"a list of numbers each {problems[0]}" if problems else None


def _str_problem(value: str, check: Check) -> str | None:
    choices = check.allowed_choices()
    if check.nonempty and not value.strip():
        return "a non-empty name"
    if choices and value not in choices:
        return f"one of {', '.join(map(_show, choices))}"
    if check.pattern is not None and not re.fullmatch(check.pattern, value):
        return check.means or f"of the form {check.pattern}"
    return None


def _suggestion(default: Any, kind: Any, check: Check) -> Any:
    """A value to offer in the fix: the field's default when it is itself valid, else the nearest bound."""
    if default is not dataclasses.MISSING and _field_problem(default, kind, check) is None:
        return default
    choices = check.allowed_choices()
    if choices:
        return choices[0]
    for bound in (check.ge, check.le):
        if bound is not None:
            return int(bound) if kind is int else bound
    return default


def validate(config: Any) -> Any:
    """Check every field of a config dataclass, then its own ``validate()``; returns it, or raises ConfigError.

    The error is one line: the key, the bad value, what is allowed and a ``--set key=...`` that fixes it.
    """
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        value, kind = getattr(config, f.name), hints[f.name]
        check = f.metadata.get("check", Check())
        if dataclasses.is_dataclass(value):
            validate(value)
            continue
        problem = _field_problem(value, kind, check)
        if problem is None:
            continue
        choices = check.allowed_choices()
        if choices and isinstance(value, str) and problem.startswith("one of"):
            raise ConfigError(f"{f.name} '{value}' is not one of {', '.join(map(_show, choices))}; "
                              f"use --set {f.name}={_show(_suggestion(f.default, kind, check))}")
        raise invalid(f.name, value, problem, _suggestion(f.default, kind, check))
    hook = getattr(config, "validate", None)
    if callable(hook):
        hook()
    return config


def check_resume(cls: type, saved: dict[str, Any], changes: dict[str, Any]) -> None:
    """A resume may change any setting of ``cls`` but those declared ``fixed``, which shape its checkpoint."""
    for f in dataclasses.fields(cls):
        fixed = f.metadata.get("check", Check()).fixed
        if fixed and f.name in saved and f.name in changes and changes[f.name] != saved[f.name]:
            raise ConfigError(f"{f.name} is fixed for the life of a run (its checkpoint has that shape): the run has "
                              f"{_show(saved[f.name])}, got {_show(changes[f.name])}; resume with --set "
                              f"{f.name}={_show(saved[f.name])} (or without it), or start a new run")


def available_memory() -> int:
    """Bytes of memory available now (``MemAvailable`` of /proc/meminfo), else the machine's physical memory."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def bytes_text(nbytes: float) -> str:
    """``7.4 GB``, ``4.8 MB``, ``48.0 kB``."""
    if nbytes >= 1e8:
        return f"{nbytes / 1e9:.1f} GB"
    return f"{nbytes / 1e6:.1f} MB" if nbytes >= 1e5 else f"{nbytes / 1e3:.1f} kB"


def check_memory(what: str, count: int, unit: str, nbytes: int, key: str, available: int | None = None) -> None:
    """Refuse ``count`` ``unit`` of ``what`` (set by ``key``) if they need more memory than is available, else
    log one line with the figure; called before allocating, so nothing is allocated to find out.

    The suggested ``key`` fits in half of what is available (the rest is for networks, workers and the OS).
    """
    available = available_memory() if available is None else available
    if nbytes > available:
        fits = int(float(f"{max(1, int(count * available / 2 / nbytes)):.2g}"))  # two significant digits
        raise ConfigError(f"{what} of {count:,} {unit} ({key}={count}) needs {bytes_text(nbytes)} but this machine "
                          f"has {bytes_text(available)} available; use --set {key}={fits}")
    print(f"{what}: {count:,} {unit}, {bytes_text(nbytes)}", file=sys.stderr, flush=True)


def budget_lengths(config_cls: type, steps: int) -> dict[str, int]:
    """The schedule lengths ``config_cls.budget_fractions`` names, each its fraction of a run of ``steps``."""
    fractions = getattr(config_cls, "budget_fractions", {})
    return {name: max(1, int(fraction * steps)) for name, fraction in fractions.items()}


def linear_decay(value: float, end_fraction: float, step: int, steps: int) -> float:
    """``value`` after ``step`` of a linear decay to ``end_fraction · value`` over ``steps`` (held there after)."""
    return value * (1.0 + min(1.0, step / steps) * (end_fraction - 1.0))


@dataclass
class MemorySettings:
    """The ``memory`` keys every deep agent has (``agentlab.memory``); agent configs inherit them."""

    memory: str = setting("", choices=("", "lstm", "gru", "transformer"), fixed=True)
    """Sequence module after the encoder: ``lstm``, ``gru``, ``transformer`` (empty: none, a feed-forward agent)."""
    memory_size: int = setting(64, ge=1, fixed=True)
    """Hidden size of the memory (the transformer's model width)."""
    memory_window: int = setting(32, ge=1, fixed=True)
    """Steps the ``transformer`` memory attends over (its own and the last ones before it)."""


@dataclass
class RunConfig:
    """How a run is launched and recorded; the algorithm's own hyperparameters live in its config."""

    algo: str = setting("q_learning", nonempty=True)
    """Algorithm name (see ``--algo``)."""
    env: str = setting("agentlab/CliffWalking-v0", nonempty=True)
    """Environment id: agentlab/..., a gymnasium id, an ALE id such as ALE/Pong-v5, or module:EnvId (third-party)."""
    steps: int = setting(50_000, ge=1)
    """Environment steps to train for, counted over all workers."""
    episodes: int = setting(0, ge=0)
    """Stop after this many finished training episodes as well (0: no episode limit)."""
    minutes: float = setting(0.0, ge=0)
    """Wall-time limit of the run in minutes (0: none); the final checkpoint and eval still run."""
    seed: int = setting(0, ge=0)
    """Seeds environments, exploration and network initialisation."""
    workers: int = setting(2, ge=1)
    """Environment workers (Ray actors with the ray backend)."""
    envs_per_worker: int = setting(1, ge=1)
    """Environments stepped together inside each worker."""
    backend: str = setting("ray", choices=("ray", "local"))
    """``ray`` (actors, local Ray or ``address``) or ``local`` (same classes in one process, reproducible)."""
    address: str = setting("", pattern=r"(auto|(ray://)?[\w.\-]+:\d+)?",
                           means="empty (a local Ray), auto, host:port or ray://host:port")
    """Join this Ray cluster instead of starting a local Ray."""
    fragment_length: int = setting(32, ge=1)
    """Steps per environment in each fragment a worker ships."""
    sync_every: int = setting(1, ge=1)
    """A worker pulls fresh weights after this many of its fragments."""
    in_flight: int = setting(2, ge=1)
    """Sample calls kept in flight per Ray worker (hides call latency)."""
    device: str = setting("auto", pattern=r"auto|cpu|cuda(:\d+)?|mps", means="auto, cpu, cuda, cuda:N or mps")
    """Learner device: ``auto`` (cuda when available), ``cpu`` or ``cuda``; workers always act on CPU."""
    learner_threads: int = setting(1, ge=1)
    """torch CPU threads of the learner process: 1 is fastest for small networks and beside busy workers."""
    checkpoint_every: int = setting(0, ge=0)
    """Env steps between checkpoints (0: a tenth of ``steps``); one is always written at the end."""
    eval_episodes: int = setting(0, ge=0)
    """Greedy evaluation episodes at the end of training (0: none), written to eval.json."""
    eval_every: int = setting(0, ge=0)
    """Env steps between greedy evaluations during training (0: none); logged to evals.csv."""
    solve_return: float | None = None
    """Stop once a periodic greedy evaluation's mean return reaches this (None: never stop early)."""
    dashboard: bool = False
    """Start Ray's dashboard (off by default)."""
    worker_timeout_s: float = setting(300.0, ge=0)
    """A Ray worker that has not answered a call within this many seconds is replaced (0: wait forever)."""
    max_worker_restarts: int = setting(100, ge=0)
    """Replace dead or hung Ray workers at most this many times in a run; one more stops the run."""
    run_dir: str = ""
    """Run folder (default: runs/<time>_<algo>_<env>_s<seed>)."""
    policies: str = setting("self_play", choices=("self_play", "shared", "independent"))
    """Multi-agent envs: one policy in every seat (self_play), one fed the agent's id (shared), or one per agent."""
    self_play_pool: int = setting(0, ge=0)
    """self_play: past snapshots kept as opponents; a game seats one half the time (0: always the latest policy)."""
    random_opening: int = setting(0, ge=0)
    """Multi-agent games: each training game opens with 0 to N uniformly random legal moves, only the last of them
    learnt, and only by an algorithm that learns action values (exploring starts), so positions and moves the
    policy's own play never reaches are learnt too; they count as env steps."""
    eval_opponent: str = setting("", choices=names_in("agentlab.opponents:OPPONENTS", first=[""]))
    """Multi-agent games: evaluations play every seat against this opponent (random, heuristic, minimax), so the
    best checkpoint is the best against it; empty: the policies against each other."""

    def validate(self) -> None:
        if self.solve_return is not None and self.eval_every == 0:
            raise invalid("eval_every", self.eval_every, "more than 0 when solve_return is set (the stop is "
                          "decided by periodic evaluations)", max(self.steps // 20, 1))


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


def _defaults(cls: type) -> dict[str, Any]:
    return {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}


def coerce(key: str, value: Any, kind: Any, default: Any = None) -> Any:
    """Convert a YAML or command-line value to the field's type, or raise ConfigError.

    Strings are read as YAML (``[64, 64]``, ``true``), and numbers also as Python reads them (``1e-3``,
    which YAML 1.1 keeps as a string); an integral float is accepted for an int (``steps=1e5``).
    Ranges are not checked here but by ``validate``, once the whole config is assembled.
    """
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            return None
        kind = next(k for k in typing.get_args(kind) if k is not type(None))
    if isinstance(value, str) and kind is not str:
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError:
            pass
    if typing.get_origin(kind) is tuple and isinstance(value, list | tuple):
        args = typing.get_args(kind)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(coerce(key, v, args[0], default) for v in value)
        if len(args) == len(value):
            return tuple(coerce(key, v, k, default) for v, k in zip(value, args, strict=True))
        return tuple(value)  # the wrong length: validate names it
    converted = _coerce_scalar(value, kind)
    if converted is not None:
        return converted
    example = default if default is not None else ([64, 64] if typing.get_origin(kind) is tuple else "...")
    raise ConfigError(f"{key}={value!r} is not a valid {getattr(kind, '__name__', kind)}; "
                      f"give {key} {_type_name(kind)}, e.g. --set {key}={_show(example)}")


def _coerce_scalar(value: Any, kind: Any) -> Any:
    """``value`` as a bool, int, float or str, or None if it is not one."""
    if kind in (int, float) and isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    number = isinstance(value, numbers.Real) and not isinstance(value, bool)  # numpy numbers too
    if kind is bool and isinstance(value, bool):
        return value
    if kind is int and number and (isinstance(value, numbers.Integral) or float(value).is_integer()):
        return int(value)
    if kind is float and number:
        return float(value)
    if kind is str and (number or isinstance(value, str)):
        return str(value)
    return None


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
    defaults = {**_defaults(RunConfig), **_defaults(algo_cls)}
    run, algo = {}, {}
    for key, value in values.items():
        if key in algo_types:
            algo[key] = coerce(key, value, algo_types[key], defaults.get(key))
        elif key in run_types:
            run[key] = coerce(key, value, run_types[key], defaults.get(key))
        else:
            raise unknown_key(key, list(run_types) + list(algo_types))
    return run, algo


def to_dict(config: Any) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


def count(minimum: int = 1) -> Callable[[str], int]:
    """An argparse ``type``: a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got '{text}'") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def output_file(*suffixes: str) -> Callable[[str], Path]:
    """An argparse ``type``: a file to write, in an existing folder, ending in one of ``suffixes``.

    Checked when the flags are parsed, so a bad path is refused before anything is computed or written.
    """

    def parse(text: str) -> Path:
        path = Path(text)
        if path.suffix.lower() not in suffixes:
            raise argparse.ArgumentTypeError(f"'{text}' must end in {' or '.join(suffixes)}")
        if not path.parent.is_dir():
            raise argparse.ArgumentTypeError(f"the folder of '{text}' does not exist; create it or pick another path")
        return path

    return parse
