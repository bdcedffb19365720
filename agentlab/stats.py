"""Aggregate scores of many runs with honest uncertainty, as rliable does.

Agarwal et al. 2021, "Deep Reinforcement Learning at the Edge of the Statistical Precipice" (NeurIPS):
report the mean, the median and the interquartile mean (IQM: the mean of the middle 50% of the scores,
robust to outlier runs yet using more of them than the median), each with a 95% confidence interval from
a stratified bootstrap (runs are resampled with replacement within each task, so every resample keeps the
task mix), and the performance profile, the fraction of runs whose score exceeds each threshold τ.

Pure functions of arrays: ``scores_by_task`` maps a task (an env id) to the scores of its runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

Statistic = Callable[[np.ndarray], np.ndarray]
"""Scores ``[..., N]`` → one aggregate per leading index ``[...]``."""


def mean(scores: np.ndarray) -> np.ndarray:
    return np.mean(scores, axis=-1)


def median(scores: np.ndarray) -> np.ndarray:
    return np.median(scores, axis=-1)


def iqm(scores: np.ndarray) -> np.ndarray:
    """Interquartile mean: sort, drop ⌊N/4⌋ scores at each end, average the rest (scipy's trim_mean(x, 0.25))."""
    x = np.sort(np.asarray(scores, dtype=float), axis=-1)  # [..., N]
    cut = int(0.25 * x.shape[-1])
    return np.mean(x[..., cut: x.shape[-1] - cut], axis=-1)


AGGREGATES: dict[str, Statistic] = {"mean": mean, "median": median, "IQM": iqm}
"""The aggregates reported, by the name printed in the table."""


def pooled(scores_by_task: Mapping[str, Sequence[float]]) -> np.ndarray:
    """All runs' scores in one array, tasks in key order."""
    return np.concatenate([np.asarray(s, dtype=float) for s in scores_by_task.values()])


def stratified_bootstrap(scores_by_task: Mapping[str, Sequence[float]], statistic: Statistic,
                         resamples: int = 2000, confidence: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile ``confidence`` interval of ``statistic`` over ``resamples`` stratified bootstrap resamples."""
    rng = np.random.default_rng(seed)
    draws = []
    for scores in scores_by_task.values():
        x = np.asarray(scores, dtype=float)  # [n_task]
        draws.append(x[rng.integers(0, len(x), size=(resamples, len(x)))])  # [R, n_task]
    values = statistic(np.concatenate(draws, axis=1))  # [R, N] → [R]
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def summarize(scores_by_task: Mapping[str, Sequence[float]], resamples: int = 2000, seed: int = 0
              ) -> dict[str, tuple[float, float, float]]:
    """Each aggregate of ``AGGREGATES`` as (point estimate, CI low, CI high)."""
    scores = pooled(scores_by_task)
    return {name: (float(stat(scores)), *stratified_bootstrap(scores_by_task, stat, resamples, seed=seed))
            for name, stat in AGGREGATES.items()}


def performance_profile(scores_by_task: Mapping[str, Sequence[float]], taus: Sequence[float]) -> np.ndarray:
    """Fraction of runs with score > τ for each τ, averaged over tasks (each task weighs the same) → ``[len(taus)]``."""
    thresholds = np.asarray(taus, dtype=float)[:, None]  # [T, 1]
    return np.mean([np.mean(np.asarray(s, dtype=float)[None, :] > thresholds, axis=1)  # [T] per task
                    for s in scores_by_task.values()], axis=0)
