"""What a run writes as it goes: episodes.csv, metrics.csv, evals.csv, TensorBoard scalars, and the progress bar.

The driver hands the recorder every finished episode, every metrics row and every evaluation; the
recorder owns the CSV files (``runs.CsvLog``), the TensorBoard event files under ``RUN_DIR/tb/``
(``tensorboard --logdir runs``) and the recent-return window shown on the progress bar.

TensorBoard tags are ``<csv file>/<column>`` at step ``env_steps``: ``episodes/return``, ``episodes/length``,
``metrics/loss``, ``metrics/steps_per_s``, ... (every numeric metrics.csv column), ``evals/mean_return``,
``evals/std_return``. A resumed run appends a new event file and hides the old one's events past its checkpoint.
"""

from __future__ import annotations

import math
import time
from collections import deque
from pathlib import Path

import numpy as np

from agentlab import runs
from agentlab.core import Sample

EVAL_COLUMNS = ["env_steps", "wall_time", "mean_return", "std_return"]


def _after_older_event_files(tb_dir: Path) -> None:
    """Wait, at most a second, until a new event file's name sorts after every older one's.

    TensorBoard reads a folder's event files in name order, and a name starts with the second it was made
    in; a resume made within the same second as the file before it could otherwise be read first.
    """
    newest = max((int(f.name.split(".")[3]) for f in tb_dir.glob("events.out.tfevents.*")), default=0)
    while time.time() < newest + 1:
        time.sleep(0.05)


class Recorder:
    """Episode and metric logging, progress, and the recent-return window."""

    def __init__(self, run_dir: Path, total_steps: int, start_steps: int, progress: bool, start_wall: float):
        self.episodes_log = runs.CsvLog(run_dir / "episodes.csv", runs.EPISODE_COLUMNS)
        self.metrics_log = runs.CsvLog(run_dir / "metrics.csv")
        self.evals_log = runs.CsvLog(run_dir / "evals.csv", EVAL_COLUMNS)
        from torch.utils.tensorboard import SummaryWriter  # needs the tensorboard package; loads it only here

        # Rows after the checkpoint a resume starts from are dropped from the CSVs; purge_step hides them here.
        _after_older_event_files(run_dir / "tb")
        self.tb = SummaryWriter(str(run_dir / "tb"), purge_step=start_steps + 1 if start_steps else None)
        self.recent: deque[float] = deque(maxlen=100)
        self.t0 = time.perf_counter() - start_wall
        self.last_steps, self.last_time = start_steps, time.perf_counter()
        self.bar = None
        self.last_eval: float | None = None  # the latest greedy evaluation, kept on the progress bar
        if progress:
            from tqdm import tqdm

            self.bar = tqdm(total=total_steps, initial=start_steps, unit="step", dynamic_ncols=True,
                            mininterval=0.5, smoothing=0.1)

    @property
    def wall(self) -> float:
        return time.perf_counter() - self.t0

    def episodes(self, sample: Sample, env_steps: int) -> None:
        """A sample's finished episodes: rows of episodes.csv, and one TensorBoard event holding every episode's
        return and length at ``env_steps`` (an event each cost ~50 µs: more than a tabular fragment's work)."""
        if not sample.episodes:
            return
        wall = self.wall
        self.recent.extend(ep.ret for ep in sample.episodes)
        self.episodes_log.write_rows([{"env_steps": env_steps, "wall_time": wall, "worker": ep.worker,
                                       "return": ep.ret, "length": ep.length, "agent": ep.agent}
                                      for ep in sample.episodes])
        from tensorboard.compat.proto.summary_pb2 import Summary  # loaded with the writer in __init__

        values = [value for ep in sample.episodes for value in (
            Summary.Value(tag="episodes/return", simple_value=ep.ret),
            Summary.Value(tag="episodes/length", simple_value=ep.length))]
        self.tb.file_writer.add_summary(Summary(value=values), env_steps)

    @property
    def return_mean(self) -> float:
        return float(np.mean(self.recent)) if self.recent else math.nan

    def metrics(self, env_steps: int, updates: int, learner_metrics: dict[str, float]) -> None:
        """One metrics.csv row; ``updates`` (the learner's version) is always a column, for updates/s."""
        now = time.perf_counter()
        rate = (env_steps - self.last_steps) / max(now - self.last_time, 1e-9)
        self.last_steps, self.last_time = env_steps, now
        row = {"env_steps": env_steps, "wall_time": self.wall, "steps_per_s": rate, "return_mean": self.return_mean}
        row = {**row, **learner_metrics, "updates": updates}  # an int, over DQN's float
        self.metrics_log.write(row)
        self.scalars("metrics", env_steps, row)

    def evaluation(self, env_steps: int, result: dict[str, float]) -> None:
        """One evals.csv row for a periodic greedy evaluation; its mean return stays on the progress bar."""
        row = {"env_steps": env_steps, "wall_time": self.wall, **result}
        self.evals_log.write(row)
        self.scalars("evals", env_steps, row)
        self.last_eval = result["mean_return"]

    def scalars(self, section: str, env_steps: int, row: dict[str, float]) -> None:
        """A CSV row's numeric columns as TensorBoard scalars ``section/column`` at step ``env_steps``."""
        for key, value in row.items():
            if key != "env_steps" and isinstance(value, int | float | np.number) and not math.isnan(value):
                self.tb.add_scalar(f"{section}/{key}", float(value), env_steps)
        self.tb.flush()

    def progress(self, env_steps: int, metrics: dict[str, float]) -> None:
        if self.bar is not None:
            self.bar.n = env_steps
            shown = {"return": f"{self.return_mean:.1f}"}
            for key in ("epsilon", "loss"):
                if metrics.get(key):  # ε is 0 throughout with noisy nets: not worth a column
                    shown[key] = f"{metrics[key]:.3g}"
            if self.last_eval is not None:
                shown["eval"] = f"{self.last_eval:.3g}"
            self.bar.set_postfix(shown, refresh=False)
            self.bar.update(0)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        for log in (self.episodes_log, self.metrics_log, self.evals_log):
            log.close()
        self.tb.close()
