"""The run folder: config.yaml, episodes.csv, metrics.csv, checkpoints/, curve.png, eval.json.

Checkpoints are written to a temporary file and renamed into place, so a crash never leaves a
half-written one; they hold only tensors, numbers and strings and load with ``weights_only=True``.
"""

from __future__ import annotations

import csv
import math
import os
import re
import time
from pathlib import Path
from typing import Any

import torch
import yaml

from agentlab.config import ConfigError

EPISODE_COLUMNS = ["env_steps", "wall_time", "worker", "return", "length"]
KEEP_CHECKPOINTS = 3


def new_run_dir(algo: str, env: str, seed: int, root: str | Path = "runs") -> Path:
    """runs/<date-time>_<algo>_<env>_s<seed>: a listing sorts by time and says what ran."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"{stamp}_{algo}_{re.sub(r'[^A-Za-z0-9.-]+', '-', env)}_s{seed}"
    path, n = Path(root) / name, 1
    while path.exists():
        n += 1
        path = Path(root) / f"{name}-{n}"
    path.mkdir(parents=True)
    return path


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
    """Append rows to a CSV; the first row fixes the columns (a resumed run keeps the file's header)."""

    def __init__(self, path: Path, columns: list[str] | None = None):
        self.path = path
        self.columns = columns
        if path.exists() and path.stat().st_size:
            with open(path) as f:
                self.columns = next(csv.reader(f))
        self.file = open(path, "a", newline="")  # noqa: SIM115 - closed in close()
        self.writer = csv.writer(self.file)
        if self.columns is not None and not path.stat().st_size:
            self.writer.writerow(self.columns)

    def write(self, row: dict[str, Any]) -> None:
        if self.columns is None:
            self.columns = list(row)
            self.writer.writerow(self.columns)
        self.writer.writerow([_fmt(row.get(c, "")) for c in self.columns])
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return value


def read_csv(path: Path) -> dict[str, list[float]]:
    """Columns of a numeric CSV (empty cells become NaN)."""
    with open(path) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {}
    return {k: [float(r[k]) if r[k] not in ("", None) else math.nan for r in rows] for k in rows[0]}


def save_checkpoint(run_dir: Path, state: dict[str, Any], env_steps: int) -> Path:
    folder = run_dir / "checkpoints"
    folder.mkdir(exist_ok=True)
    path = folder / f"ckpt_{env_steps:012d}.pt"
    tmp = folder / f".{path.name}.tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)
    for old in sorted(folder.glob("ckpt_*.pt"))[:-KEEP_CHECKPOINTS]:
        old.unlink()
    return path


def latest_checkpoint(run_dir: str | Path) -> Path:
    found = sorted((Path(run_dir) / "checkpoints").glob("ckpt_*.pt"))
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
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several types for truncated or foreign files
        raise ConfigError(f"checkpoint '{path}' is corrupt or unreadable ({load_failure(e)}); delete it to fall "
                          "back to the previous checkpoint in that folder") from None
