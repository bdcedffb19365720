"""A sum-tree over leaf priorities: O(log N) updates and prefix-sum search.

The data structure behind proportional prioritized replay (Schaul et al. 2016, "Prioritized
Experience Replay", Sec. 3.3 and Appendix B.2.1): each internal node holds the sum of its two
children, so the root is the total and a prefix sum finds its leaf by one walk down.
"""

from __future__ import annotations

import numpy as np


class SumTree:
    """Non-negative values on ``capacity`` leaves, stored as an implicit binary heap.

    Node 1 is the root, node ``i`` has children ``2i`` and ``2i + 1``, and leaf ``j`` is node
    ``first_leaf + j``. Parents are always recomputed as the sum of their children (never updated
    by deltas), so floating-point error cannot drift over millions of updates.
    """

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._depth = (capacity - 1).bit_length()  # edges from the root to a leaf
        self._first_leaf = 1 << self._depth
        self._nodes = np.zeros(2 * self._first_leaf)  # [2 * first_leaf] float64; node 0 unused

    @property
    def total(self) -> float:
        return float(self._nodes[1])

    def get(self, indices: np.ndarray | int) -> np.ndarray:
        """Leaf values at ``indices``."""
        return self._nodes[self._first_leaf + np.asarray(indices)]

    def update(self, index: int, value: float) -> None:
        """Set one leaf and fix its ancestors: O(log N)."""
        if not value >= 0.0:  # also rejects NaN
            raise ValueError(f"sum-tree values must be non-negative, got {value}")
        node = self._first_leaf + int(index)
        self._nodes[node] = value
        node //= 2
        while node >= 1:
            self._nodes[node] = self._nodes[2 * node] + self._nodes[2 * node + 1]
            node //= 2

    def update_batch(self, indices: np.ndarray, values: np.ndarray) -> None:
        """Set many leaves (the last value wins for a repeated index) and fix ancestors level by level."""
        indices = np.asarray(indices, np.int64)
        values = np.broadcast_to(np.asarray(values, np.float64), indices.shape)
        if not np.all(values >= 0.0):
            raise ValueError("sum-tree values must be non-negative and not NaN")
        # Keep the last occurrence of each index, so repeated indices behave like sequential updates.
        unique, last_from_end = np.unique(indices[::-1], return_index=True)
        self._nodes[self._first_leaf + unique] = values[::-1][last_from_end]
        nodes = self._first_leaf + unique
        for _ in range(self._depth):
            nodes = np.unique(nodes // 2)
            self._nodes[nodes] = self._nodes[2 * nodes] + self._nodes[2 * nodes + 1]

    def find(self, prefix_sum: float) -> int:
        """The leaf ``i`` with ``sum(values[:i]) <= prefix_sum < sum(values[:i+1])``."""
        return int(self.find_batch(np.array([prefix_sum]))[0])

    def find_batch(self, prefix_sums: np.ndarray) -> np.ndarray:
        """``find`` for many prefix sums at once: a numpy loop over the tree's depth, not the batch.

        Never returns a zero-valued leaf: a walk only turns right into a subtree with a positive sum,
        so a prefix sum at or past the total (floating-point rounding) lands on the last positive leaf.
        """
        if not self.total > 0.0:
            raise ValueError("cannot search a sum-tree whose total is zero")
        remaining = np.asarray(prefix_sums, np.float64).copy()  # [B]
        node = np.ones(remaining.shape, np.int64)  # [B] start at the root
        for _ in range(self._depth):
            left = 2 * node
            left_sum = self._nodes[left]
            go_right = (remaining >= left_sum) & (self._nodes[left + 1] > 0.0)
            remaining = np.where(go_right, remaining - left_sum, remaining)
            node = left + go_right
        return node - self._first_leaf

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"nodes": self._nodes.copy()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self._nodes[:] = state["nodes"]
