"""The run folder: config.yaml, episodes.csv, metrics.csv, checkpoints/, curve.png, eval.json.

Checkpoints are written to a temporary file and renamed into place, so a crash never leaves a
half-written one; they hold only tensors, numbers and strings and load with ``weights_only=True``.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import torch
import yaml

from agentlab.config import ConfigError
from agentlab.saveable import from_saveable, to_saveable

EPISODE_COLUMNS = ["env_steps", "wall_time", "worker", "return", "length", "agent"]
"""``agent`` names the agent of a multi-agent game's episode (empty for a single-agent env)."""
KEEP_CHECKPOINTS = 3


def run_stem(algo: str, env: str, root: str | Path = "runs") -> Path:
    """runs/<date-time>_<algo>_<env>: what a run folder's name starts with (``_s<seed>`` follows)."""
    return Path(root) / f"{time.strftime('%Y%m%d-%H%M%S')}_{algo}_{re.sub(r'[^A-Za-z0-9.-]+', '-', env)}"


def new_run_dir(algo: str, env: str, seed: int, root: str | Path = "runs") -> Path:
    """runs/<date-time>_<algo>_<env>_s<seed>: a listing sorts by time and says what ran."""
    name = f"{run_stem(algo, env, root).name}_s{seed}"
    path, n = Path(root) / name, 1
    while path.exists():
        n += 1
        path = Path(root) / f"{name}-{n}"
    path.mkdir(parents=True)
    return path


def check_fresh(run_dir: str | Path) -> None:
    """A new run needs a folder of its own: one that holds files already (another run's) is a one-line error,
    so two runs' rows never mix in one episodes.csv and no checkpoint of the other is overwritten."""
    path = Path(run_dir)
    if path.is_dir() and any(path.iterdir()):
        raise ConfigError(f"run folder '{path}' is not empty; choose another --run-dir, or continue that run "
                          f"with --resume {path}")


def write_config(run_dir: Path, run: dict[str, Any], algo: dict[str, Any]) -> None:
    text = yaml.safe_dump({"run": run, "algo": algo}, sort_keys=False)
    atomic_write(run_dir / "config.yaml", text.encode())


def read_config(run_dir: str | Path) -> dict[str, dict[str, Any]]:
    """The resolved config of a run, or a ConfigError if the folder is not a run."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise ConfigError(f"'{run_dir}' is not a run folder (no config.yaml); pass a folder under runs/ "
                          "made by python -m agentlab.run")
    try:
        data = yaml.safe_load(path.read_text())
        return {"run": dict(data["run"]), "algo": dict(data["algo"])}
    except (yaml.YAMLError, KeyError, TypeError):
        raise ConfigError(f"'{path}' is not a valid run config; restore it or start a new run") from None


def atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class CsvLog:
    """Append rows to a CSV. A row with a key the header lacks widens the header (the file is rewritten once,
    atomically, earlier rows get empty cells), so a metric that first appears late (``eval``) is kept.
    A resumed run keeps the file's header and rows."""

    def __init__(self, path: Path, columns: list[str] | None = None):
        self.path = path
        self.columns = list(columns or [])
        if path.exists() and path.stat().st_size:
            with open(path, newline="") as f:
                self.columns = next(csv.reader(f))
        self.file = open(path, "a", newline="")  # noqa: SIM115 - closed in close()
        self.writer = csv.writer(self.file)
        if self.columns and not path.stat().st_size:
            self.writer.writerow(self.columns)
            self.file.flush()

    def write(self, row: dict[str, Any]) -> None:
        self.write_rows([row])

    def write_rows(self, rows: list[dict[str, Any]]) -> None:
        """Append ``rows``, then flush once (a fragment's episodes: one write, not one per episode)."""
        new = list(dict.fromkeys(key for row in rows for key in row if key not in self.columns))
        if new:
            self._widen(new)
        self.writer.writerows([_fmt(row.get(c, "")) for c in self.columns] for row in rows)
        self.file.flush()

    def _widen(self, new: list[str]) -> None:
        self.file.close()
        with open(self.path, newline="") as f:
            rows = list(csv.reader(f))[1:]
        self.columns += new
        _write_rows(self.path, self.columns, [r + [""] * (len(self.columns) - len(r)) for r in rows])
        self.file = open(self.path, "a", newline="")  # noqa: SIM115 - closed in close()
        self.writer = csv.writer(self.file)

    def close(self) -> None:
        self.file.close()


def _write_rows(path: Path, header: list[str], rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write(path, buffer.getvalue().encode())


LOGS = ("episodes.csv", "metrics.csv", "evals.csv")
"""The run folder's CSV logs; each row has an ``env_steps`` column."""


def truncate_logs(run_dir: Path, env_steps: int) -> dict[str, int]:
    """Drop the rows written after a checkpoint at ``env_steps`` (a resume replays them); rows dropped per file.

    Rows are written before the checkpoint of the same step, so those at ``env_steps`` or below stay.
    """
    dropped: dict[str, int] = {}
    for name in LOGS:
        path = Path(run_dir) / name
        if not path.is_file() or not path.stat().st_size:
            continue
        text = path.read_text()
        whole = text if text.endswith("\n") else text[: text.rfind("\n") + 1]  # a kill mid-row leaves a stub
        header, *rows = list(csv.reader(io.StringIO(whole)))
        column = header.index("env_steps")
        kept = [r for r in rows if len(r) == len(header) and float(r[column]) <= env_steps]
        if len(kept) < len(rows) or whole != text:
            _write_rows(path, header, kept)
            dropped[name] = len(rows) - len(kept) + (whole != text)
    return dropped


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return value


def read_csv(path: Path) -> dict[str, list[float]]:
    """Columns of a CSV: numbers as floats (empty cells become NaN); a column holding text (``agent``) as strings."""
    with open(path) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {}

    def column(key: str) -> list:
        cells = [r[key] for r in rows]
        try:
            return [float(c) if c not in ("", None) else math.nan for c in cells]
        except ValueError:
            return cells

    return {k: column(k) for k in rows[0]}


CHECKPOINT_FORMAT = 1
"""The layout of a checkpoint's dict. Format 1: ``learner``, ``env_steps``, ``episodes``, ``wall_time``,
``algo``, ``env``, and optionally ``driver`` (the loop's marks and RNGs) and ``workers`` (their envs and
actors, local backend). A checkpoint without the key predates it and is read as format 1 without the
optional parts. Bump the number when a change would make an older checkpoint load wrongly."""


def save_checkpoint(run_dir: Path, state: dict[str, Any], env_steps: int) -> Path:
    """Write ``checkpoints/ckpt_<env_steps>.pt`` atomically; keep the newest ``KEEP_CHECKPOINTS``."""
    folder = run_dir / "checkpoints"
    folder.mkdir(exist_ok=True)
    path = folder / f"ckpt_{env_steps:012d}.pt"
    if path.exists():  # a resume that skipped this one as unreadable reaches its step again: keep it aside
        try:
            load_checkpoint(path)
        except ConfigError:
            os.replace(path, path.with_name(path.name + ".corrupt"))
    _write_checkpoint(path, state)
    for old in sorted(folder.glob("ckpt_*.pt"))[:-KEEP_CHECKPOINTS]:
        old.unlink()
    return path


def _write_checkpoint(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        torch.save(to_saveable({"format": CHECKPOINT_FORMAT, **state}), f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


BEST = "best.pt"
"""``checkpoints/best.pt``: the learner at the periodic greedy evaluation with the highest mean return so far, with
its ``env_steps`` and ``eval``. Not a resume point (``checkpoints()`` does not list it); evaluate and GIFs use it."""


def save_best(run_dir: Path, state: dict[str, Any]) -> Path:
    """Write ``checkpoints/best.pt`` atomically (same format as the others; ``state`` holds ``eval``)."""
    path = run_dir / "checkpoints" / BEST
    path.parent.mkdir(exist_ok=True)
    _write_checkpoint(path, state)
    return path


def best_eval(run_dir: str | Path) -> dict[str, Any] | None:
    """The evaluation that made the run's best checkpoint (None without a readable one), so a resume keeps it."""
    path = Path(run_dir) / "checkpoints" / BEST
    if not path.is_file():
        return None
    try:
        return dict(load_checkpoint(path)["eval"])
    except (ConfigError, KeyError, TypeError, ValueError) as e:
        print(f"warning: {str(e).split(';')[0]}; the next evaluation replaces the best checkpoint", file=sys.stderr)
        return None


def load_policy_checkpoint(run_dir: str | Path, which: str = "auto") -> tuple[Path, dict[str, Any]]:
    """The checkpoint to act from: ``best`` (one-line error if the run has none), ``latest``, or ``auto``
    (best when the run has one, else latest)."""
    path = Path(run_dir) / "checkpoints" / BEST
    if which == "best" and not path.is_file():
        raise ConfigError(f"run '{run_dir}' has no best checkpoint (written only by runs with --set eval_every=N); "
                          "use --checkpoint latest")
    if which == "best" or (which == "auto" and path.is_file()):
        try:
            return path, load_checkpoint(path)
        except ConfigError as e:
            if which == "best":
                raise
            print(f"warning: {str(e).split(';')[0]}; using the latest checkpoint", file=sys.stderr)
    return load_latest(run_dir)


def checkpoints(run_dir: str | Path) -> list[Path]:
    """The run's checkpoints to resume from, oldest first (``best.pt`` is not one)."""
    return sorted((Path(run_dir) / "checkpoints").glob("ckpt_*.pt"))


def latest_checkpoint(run_dir: str | Path) -> Path:
    found = checkpoints(run_dir)
    if not found:
        raise ConfigError(f"run '{run_dir}' has no checkpoint yet; train it first (python -m agentlab.run)")
    return found[-1]


def load_failure(error: Exception) -> str:
    """One line for why ``torch.load`` failed; its weights-only errors put the cause after a long preamble."""
    text = str(error)
    marker = "WeightsUnpickler error:"
    if marker in text:
        detail = next((line.strip() for line in text.split(marker, 1)[1].splitlines() if line.strip()), "")
        return f"weights-only unpickling refused it: {detail[:100]}"
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return f"{type(error).__name__}: {first[:100]}" if first else type(error).__name__


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint's dict on the CPU (a CUDA run loads on a CPU-only machine), or a one-line ConfigError."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several types for truncated or foreign files
        raise ConfigError(f"checkpoint '{path}' is corrupt or unreadable ({load_failure(e)}); delete it to fall "
                          "back to the previous checkpoint in that folder") from None
    if not isinstance(state, dict) or "learner" not in state:
        raise ConfigError(f"checkpoint '{path}' is not an agentlab checkpoint (no learner state)")
    fmt = state.get("format", CHECKPOINT_FORMAT)
    if not isinstance(fmt, int) or fmt > CHECKPOINT_FORMAT:
        raise ConfigError(f"checkpoint '{path}' has format {fmt}, newer than this agentlab reads (format "
                          f"{CHECKPOINT_FORMAT}); upgrade agentlab to load it")
    return from_saveable(state)


def load_latest(run_dir: str | Path) -> tuple[Path, dict[str, Any]]:
    """The newest checkpoint that loads; an unreadable newer one is skipped with a one-line warning, not deleted."""
    found = checkpoints(run_dir)
    if not found:
        latest_checkpoint(run_dir)  # raises the no-checkpoint error
    errors = []
    for path in reversed(found):
        try:
            state = load_checkpoint(path)
        except ConfigError as e:
            errors.append(str(e))
            continue
        for message in errors:
            print(f"warning: {message.split(';')[0]}; using the previous one, '{path.name}' (nothing deleted)",
                  file=sys.stderr)
        return path, state
    raise ConfigError(f"no checkpoint of run '{run_dir}' loads ({errors[0].split(';')[0]}); start a new run")


def check_resume_values(run_dir: str | Path, saved: dict[str, dict[str, Any]], values: dict[str, Any]) -> None:
    """A resume continues the run's own algo and env: another one is a one-line error, before anything changes."""
    for key in ("algo", "env"):
        if key in values and str(values[key]) != str(saved["run"][key]):
            raise ConfigError(f"run '{run_dir}' trains {key} '{saved['run'][key]}', not '{values[key]}'; resume it "
                              f"without --{key}, or start a new run with --{key} {values[key]}")


def resume_state(run_dir: Path, algo: str, env: str) -> dict[str, Any]:
    """The checkpoint to resume ``run_dir`` from (the newest that loads); nothing in the folder changes.

    Refuses (one line) a checkpoint of another algo or env than the run's config.
    """
    path, state = load_latest(run_dir)
    for key, value in (("algo", algo), ("env", env)):
        if state.get(key, value) != value:
            raise ConfigError(f"checkpoint '{path}' was trained with {key} '{state[key]}', not '{value}'; resume "
                              f"without --{key} (or start a new run)")
    return {**state, "path": str(path)}


def drop_rows_after(run_dir: Path, state: dict[str, Any]) -> None:
    """On resume, once the run is sure to go on: drop the CSV rows written after its checkpoint, and say so."""
    dropped = truncate_logs(run_dir, int(state["env_steps"]))
    if dropped:
        rows = ", ".join(f"{n} from {name}" for name, n in dropped.items())
        print(f"resume: from {Path(state['path']).name} at step {state['env_steps']}; dropped the rows written "
              f"after it ({rows})", file=sys.stderr)
