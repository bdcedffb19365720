"""The tabular agents' "network": one table of action values, and the optimism ``optimism_apart`` keeps apart."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from agentlab.tabular import losses
from agentlab.tabular.config import TabularConfig


def _row(table: np.ndarray, s: int, legal: np.ndarray | None) -> np.ndarray:
    """``table[s]`` over the legal actions (all of them when ``legal`` is None)."""
    return table[s] if legal is None else table[s][legal]


class ActionValues:
    """Q(s, a) for every row and action.

    With ``optimism_apart``, Q starts at 0 and holds the value of the rewards alone, and U starts at ``q_init`` and
    holds what is left of that optimistic start: its update has no reward and the same step and next-action weights
    as Q's, so Q + U is exactly the table learnt from ``q_init`` (Sutton & Barto 2018, Sec. 2.6), which the behaviour
    acts on. U shrinks by (1 − α) each time (s, a) is tried and bootstraps from the U of the moves that follow, so it
    is large for a move tried little or into a position explored little: the behaviour is optimistic about such a
    move by U, greedy play (Q − U) as pessimistic."""

    def __init__(self, num_states: int, num_actions: int, config: TabularConfig):
        shape, apart = (num_states, num_actions), config.optimism_apart
        self.alpha = config.alpha
        self.q = np.full(shape, 0.0 if apart else config.q_init, dtype=np.float64)
        self.u = np.full(shape, config.q_init, dtype=np.float64) if apart else None

    def behaviour(self, s: int, legal: np.ndarray | None = None) -> np.ndarray:
        """The values the behaviour acts on at ``s`` (its legal actions): Q, plus U with ``optimism_apart``."""
        return _row(self.q, s, legal) if self.u is None else _row(self.q, s, legal) + _row(self.u, s, legal)

    def update(self, s: int, a: int, r: float, weights: int | np.ndarray, evaluate: ActionValues, s_next: int,
               legal_next: np.ndarray | None, gamma: float, terminated: bool) -> float:
        """Q(s, a) ← Q(s, a) + α (r + γ Σ_a' w(a') Q_eval(s', a') − Q(s, a)) over s''s legal actions
        (``losses.td_target``'s weights), and U the same way with no reward; returns Q's TD error."""
        if self.u is not None:
            assert evaluate.u is not None
            u_target = losses.td_target(0.0, weights, _row(evaluate.u, s_next, legal_next), gamma, terminated)
            losses.td_update(self.u, s, a, u_target, self.alpha)
        target = losses.td_target(r, weights, _row(evaluate.q, s_next, legal_next), gamma, terminated)
        return losses.td_update(self.q, s, a, target, self.alpha)

    def state_dict(self, suffix: str = "") -> dict[str, Any]:
        return {name + suffix: torch.from_numpy(table.copy())
                for name, table in (("q", self.q), ("u", self.u)) if table is not None}

    def load_state_dict(self, state: dict[str, Any], suffix: str = "") -> None:
        self.q = state["q" + suffix].numpy().copy()
        if self.u is not None:
            self.u = state["u" + suffix].numpy().copy()
