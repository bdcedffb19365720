"""Which stored items a batch takes: uniformly, or in proportion to their priority (Dopamine's sampler part).

Prioritized replay, proportional variant: Schaul et al. 2016, "Prioritized Experience Replay", Algorithm 1:
``P(i) = p_i^α / Σ_k p_k^α`` with ``p_i = |δ_i| + ε`` (eq. 1), importance weights
``w_i = (N · P(i))^-β / max_j w_j`` with β annealed from β₀ up to 1 (Sec. 3.4), new items at the maximum
priority so far, and sampling stratified into ``B`` equal segments of the priority total (Appendix B.2.1).
The items are whatever a storage keeps in its slots: transitions (``ReplayBuffer``) or sequences
(``SequenceBuffer``); both hold their slots as a FIFO ring of the last ``size`` of ``added`` items.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agentlab.replay.sum_tree import SumTree


class Sampler:
    def __init__(self, capacity: int, seed: int, prioritized: bool = False, alpha: float = 0.5, beta0: float = 0.4,
                 beta_steps: int = 100_000, priority_eps: float = 1e-6):
        self.capacity = capacity
        self.alpha, self.beta0, self.beta_steps, self.priority_eps = alpha, beta0, beta_steps, priority_eps
        self.rng = np.random.default_rng(seed)
        self.tree = SumTree(capacity) if prioritized else None
        self.max_priority = 1.0
        """The largest ``p = |priority| + ε`` seen; new items enter with ``max_priority ** α``."""
        self.learner_steps = 0
        """Calls to ``sample``: the clock of the β schedule."""

    @property
    def beta(self) -> float:
        """β, linear from β₀ at step 0 to 1 at ``beta_steps``, then 1."""
        progress = min(1.0, self.learner_steps / self.beta_steps) if self.beta_steps > 0 else 1.0
        return self.beta0 + (1.0 - self.beta0) * progress

    @property
    def new_priority(self) -> float:
        """The tree value a new item enters with: ``max_priority ** α``."""
        return self.max_priority**self.alpha

    def added(self, slots: np.ndarray) -> None:
        """New items were written to ``slots``: they enter at the maximum priority."""
        if self.tree is not None:
            self.tree.update_batch(slots, self.new_priority)

    def sample(self, batch_size: int, added: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        """``[B]`` slots among the ``size`` live ones (of ``added`` ever written) and their importance weights."""
        if self.tree is None:
            self.learner_steps += 1
            oldest = added - size
            return (oldest + self.rng.integers(size, size=batch_size)) % self.capacity, np.ones(batch_size, np.float32)
        total = self.tree.total
        # One uniform draw in each of B equal segments of [0, total): stratified sampling.
        prefix_sums = (np.arange(batch_size) + self.rng.random(batch_size)) * (total / batch_size)  # [B]
        indices = self.tree.find_batch(prefix_sums)  # [B]
        probs = self.tree.get(indices) / total  # [B] P(i) = p_i^α / Σ_k p_k^α
        weights = (size * probs) ** -self.beta  # [B] w_i = (N · P(i))^-β
        self.learner_steps += 1
        return indices, (weights / weights.max()).astype(np.float32)  # normalised by the batch's max w

    def update(self, indices: np.ndarray, priorities: np.ndarray, added: int, size: int) -> None:
        """Set ``p = |priority| + ε`` for sampled slots; no-op when uniform. Slots not live are skipped, so a
        stale priority never revives them (a slot overwritten since it was sampled cannot be told apart)."""
        if self.tree is None:
            return
        indices = np.asarray(indices, np.int64)
        p = np.abs(np.asarray(priorities, np.float64)) + self.priority_eps  # [B]
        if not np.all(np.isfinite(p)):
            raise ValueError("priorities must be finite")
        live = (added - 1 - indices) % self.capacity < size  # [B] among the last `size` slots
        self.tree.update_batch(indices[live], p[live] ** self.alpha)
        if live.any():
            self.max_priority = max(self.max_priority, float(p[live].max()))

    def state_dict(self) -> dict[str, Any]:
        return {"learner_steps": self.learner_steps, "max_priority": self.max_priority,
                "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.learner_steps = int(state["learner_steps"])
        self.max_priority = float(state["max_priority"])
        self.rng.bit_generator.state = state["rng"]


class SampledStorage:
    """What a storage sampled through a ``Sampler`` shares: its live size, the β clock, priority updates.

    A storage keeps ``sampler``, ``_added`` (items ever written) and ``_size`` (live ones)."""

    sampler: Sampler
    _added: int
    _size: int

    def __len__(self) -> int:
        return self._size

    @property
    def beta(self) -> float:
        return self.sampler.beta

    def update_priorities(self, indices: np.ndarray, priorities: np.ndarray) -> None:
        """Set ``p = |priority| + ε`` (``|δ|`` or a per-item loss) for sampled slots; no-op when uniform.

        Slots not live (evicted, or never filled) are skipped. Update priorities before adding more items: a
        slot overwritten since it was sampled cannot be told apart from its old self.
        """
        self.sampler.update(indices, priorities, self._added, self._size)
