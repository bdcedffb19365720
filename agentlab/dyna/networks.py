"""The learned model of the environment: a table of the last outcome of every tried (s, a).

Sutton & Barto (2018), section 8.2 (Tabular Dyna-Q, steps e and f) assumes a deterministic environment:
``Model(S, A) ← R, S'``. The table also keeps whether the step terminated (a planning update at a goal does
not bootstrap) and the real time step at which each pair was last tried, for Dyna-Q+'s τ (section 8.3).

Search control draws a previously observed state uniformly at random, then an action uniformly among those
the planner may use there: the actions tried from it (Dyna-Q), or, with ``plan_untried`` (Dyna-Q+, the
book's footnote), all actions, the untried ones modelled as leading back to the same state with reward 0.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch


class Simulated(NamedTuple):
    """``n`` transitions drawn from the model, each ``[n]``."""

    s: np.ndarray
    a: np.ndarray
    r: np.ndarray
    s_next: np.ndarray
    terminated: np.ndarray
    last_tried: np.ndarray


class TabularModel:
    ARRAYS = ("reward", "next_state", "terminated", "last_tried", "plannable", "states")

    def __init__(self, num_states: int, num_actions: int, plan_untried: bool):
        self.plan_untried = plan_untried
        self.reward = np.zeros((num_states, num_actions))  # [S, A] R last observed after (s, a)
        self.next_state = np.zeros((num_states, num_actions), np.int64)  # [S, A] S' last observed
        self.terminated = np.zeros((num_states, num_actions), bool)  # [S, A] whether that step ended the episode
        self.last_tried = np.zeros((num_states, num_actions), np.int64)  # [S, A] real step of the last try (0: never)
        self.plannable = np.zeros((num_states, num_actions), bool)  # [S, A] pairs search control may draw
        self.states = np.zeros(num_states, np.int64)  # [S] observed states, in the order first seen
        self.num_seen = 0  # how many of ``states`` are filled

    def observe(self, s: int, a: int, r: float, s_next: int, terminated: bool, time: int) -> None:
        """Model(s, a) ← r, s' (and the termination), tried at real time step ``time``."""
        if not self.plannable[s].any():  # s seen for the first time
            self.states[self.num_seen] = s
            self.num_seen += 1
            if self.plan_untried:  # untried actions: back to s with reward 0, last tried "never" (time 0)
                self.next_state[s] = s
                self.plannable[s] = True
        self.reward[s, a], self.next_state[s, a], self.terminated[s, a] = r, s_next, terminated
        self.last_tried[s, a] = time
        self.plannable[s, a] = True

    def sample(self, rng: np.random.Generator, n: int) -> Simulated:
        """``n`` pairs by search control (a random observed state, then a random plannable action), with outcomes."""
        s = self.states[rng.integers(self.num_seen, size=n)]  # [n]
        allowed = self.plannable[s]  # [n, A]
        k = np.floor(rng.random(n) * allowed.sum(axis=1)).astype(np.int64)  # [n] which allowed action
        a = np.argmax(allowed.cumsum(axis=1) > k[:, None], axis=1)  # [n] the k-th allowed action
        return Simulated(s, a, self.reward[s, a], self.next_state[s, a], self.terminated[s, a], self.last_tried[s, a])

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {name: torch.from_numpy(getattr(self, name).copy()) for name in self.ARRAYS}
        return {**state, "num_seen": self.num_seen}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name in self.ARRAYS:
            setattr(self, name, state[name].numpy().copy())
        self.num_seen = int(state["num_seen"])
