"""Per-update metrics averaged between two log rows: one update's loss or staleness is too noisy to log.

A learner ``add``s each update's metrics; the driver's periodic ``metrics()`` call reads their means
since the last read. The sums are part of the learner's state, so a resumed run logs the same rows.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any


class Averages:
    def __init__(self) -> None:
        self.sums: defaultdict[str, float] = defaultdict(float)
        self.count = 0

    def add(self, metrics: dict[str, float]) -> None:
        for key, value in metrics.items():
            self.sums[key] += value
        self.count += 1

    def pop(self) -> dict[str, float]:
        """The means over the updates added since the last ``pop``, then start again."""
        means = {key: total / max(self.count, 1) for key, total in self.sums.items()}
        self.sums.clear()
        self.count = 0
        return means

    def state_dict(self) -> dict[str, Any]:
        return {"sums": dict(self.sums), "count": self.count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sums = defaultdict(float, state["sums"])
        self.count = int(state["count"])
