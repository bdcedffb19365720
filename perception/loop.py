"""The one time-budgeted training loop behind every trainer in ``perception/`` and ``generative/``.

A trainer supplies ``step(i)``: draw batch ``i``, compute the loss, step its optimizers, return the terms to
print. The loop owns what they all share: the budget in ``wall`` or ``cpu`` seconds (``cpu`` counts this
process's CPU time, so a run on a busy shared machine gets the compute it would get alone), the learning-rate
schedule over the budget (every optimizer's peak rate times ``schedule(step, progress)``), and a progress line
every ``log_every_s``. ``save_run`` writes the weights and ``metrics.json`` atomically.

    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)   # the peak rate
    def step(i):
        loss = model_loss(batch(i))
        optimizer.zero_grad(); loss.backward(); optimizer.step()
        return {"loss": loss}
    result = train_for(10.0, step, [optimizer], clock="cpu")
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from perception.saving import save_atomic

CLOCKS = ("wall", "cpu")
"""What a budget can count: wall seconds, or this process's CPU seconds."""

Schedule = Callable[[int, float], float]
"""``schedule(step, progress)``: the factor applied to every peak learning rate; ``progress`` in ``[0, 1]``."""


def check_clock(clock: str) -> None:
    """Raise ``ValueError`` naming the valid clocks unless ``clock`` is one of them."""
    if clock not in CLOCKS:
        raise ValueError(f"clock must be 'wall' or 'cpu', got {clock!r}")


def cosine(step: int, progress: float) -> float:
    """Cosine decay from 1 to 0 over the budget (Loshchilov & Hutter 2017, one cycle, no restarts)."""
    return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def warmup_cosine(warmup_steps: int) -> Schedule:
    """Linear warm-up over ``warmup_steps`` steps, multiplied by the cosine decay over the budget."""

    def schedule(step: int, progress: float) -> float:
        return min(1.0, (step + 1) / warmup_steps) * cosine(step, progress)

    return schedule


@dataclass
class LoopResult:
    steps: int
    """Optimisation steps taken."""
    train_seconds: float
    """Wall seconds the loop ran."""
    train_cpu_seconds: float
    """This process's CPU seconds while the loop ran."""
    terms: dict[str, float]
    """The last step's terms, as floats."""


def train_for(
    minutes: float,
    step: Callable[[int], Mapping[str, torch.Tensor | float]],
    optimizers: Sequence[torch.optim.Optimizer],
    *,
    clock: str = "wall",
    schedule: Schedule = cosine,
    log_every_s: float = 30.0,
) -> LoopResult:
    """Call ``step(0), step(1), ...`` until ``minutes`` of ``clock`` time have passed.

    Before each call every param group's learning rate is set to its rate at entry (the peak) times
    ``schedule(step, elapsed / budget)``. Every ``log_every_s`` seconds of the clock a line
    ``[elapsed clock] step N name value ...`` shows the latest terms.
    """
    check_clock(clock)
    peaks = [[group["lr"] for group in optimizer.param_groups] for optimizer in optimizers]
    now = time.perf_counter if clock == "wall" else time.process_time
    budget_s, start, wall_start, cpu_start = minutes * 60.0, now(), time.perf_counter(), time.process_time()
    steps, next_log, terms = 0, log_every_s, {}
    while (elapsed := now() - start) < budget_s:
        factor = schedule(steps, elapsed / budget_s)
        for optimizer, rates in zip(optimizers, peaks, strict=True):
            for group, peak in zip(optimizer.param_groups, rates, strict=True):
                group["lr"] = peak * factor
        terms = step(steps)
        steps += 1
        if elapsed >= next_log:
            next_log += log_every_s
            shown = " ".join(f"{name} {_scalar(value):.3f}" for name, value in terms.items())
            print(f"[{elapsed:6.0f}s {clock}] step {steps:5d} {shown}", flush=True)
    return LoopResult(steps, time.perf_counter() - wall_start, time.process_time() - cpu_start,
                      {name: _scalar(value) for name, value in terms.items()})


def _scalar(value: torch.Tensor | float) -> float:
    return value.item() if isinstance(value, torch.Tensor) else float(value)


def write_json_atomic(obj: object, path: str | Path) -> Path:
    """``json.dump(obj)`` to a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=2)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def run_folder_problem(out: str | Path) -> str | None:
    """Why ``out`` cannot take a new run, in one line (it is a file, or it holds a run's ``model.pt`` that the new
    run would overwrite), or ``None`` when it can."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        return f"--out {out} is a file; name a folder for the run"
    if (out / "model.pt").exists():
        return f"--out {out} already holds a run (model.pt); name a new folder, or move that run away first"
    return None


def save_run(out: str | Path, weights: Mapping, metrics: Mapping) -> None:
    """Write ``out/model.pt`` (plain types and tensors: loads with ``weights_only=True``) and ``metrics.json``."""
    save_atomic(dict(weights), Path(out) / "model.pt")
    write_json_atomic(dict(metrics), Path(out) / "metrics.json")
