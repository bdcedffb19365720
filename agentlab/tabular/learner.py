"""Online TD control on a Q-table: Q-learning, SARSA, Expected SARSA and Double Q-learning.

Transitions are applied one at a time in the order they happened (time-major, then env), so with
one env and ``fragment_length=1`` this is exactly the textbook online algorithm.

Greedy play (evaluation, a pool snapshot, ``load_policy``) acts on ``greedy_q``: the behaviour's values, or with
``optimism_apart`` Q − U, as pessimistic about a move tried little as the behaviour is optimistic (``ActionValues``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.spaces import Discrete

from agentlab.core import Fragment
from agentlab.tabular import losses
from agentlab.tabular.actor import StateIndex
from agentlab.tabular.config import TabularConfig
from agentlab.tabular.networks import ActionValues

SUFFIXES = ("", "_b")
"""The checkpoint keys' suffixes of Double Q-learning's two tables (one table: the first)."""


class TabularLearner:
    def __init__(self, rule: str, config: TabularConfig, num_states: int | StateIndex, num_actions: int, seed: int):
        """``num_states``: the table's rows, a count (Discrete observations) or a ``StateIndex``."""
        self.rule, self.config = rule, config
        self.states = num_states if isinstance(num_states, StateIndex) else StateIndex(Discrete(num_states))
        # Double Q-learning keeps a second table; the behaviour policy acts on their sum.
        self.tables = [ActionValues(self.states.num_states, num_actions, config)
                       for _ in range(2 if rule == "double_q" else 1)]
        self.rng = np.random.default_rng(seed)
        self.version = 0
        self.episodes = 0
        self.td_abs_sum, self.td_count = 0.0, 0

    @property
    def epsilon(self) -> float:
        return self.config.epsilon_after(self.episodes)

    @property
    def q(self) -> np.ndarray:
        return self.tables[0].q

    @property
    def q_b(self) -> np.ndarray | None:
        return self.tables[1].q if len(self.tables) == 2 else None

    def _update_one(self, s: int, a: int, r: float, s_next: int, a_next: int, terminated: bool,
                    legal_next: np.ndarray | None) -> float:
        """One TD update toward r + γ Σ_a' w(a') Q(s', a'), the rule's weights ``w`` taken from the behaviour's values
        at s' (its legal actions alone): Q-learning's on the greedy action, SARSA's on a', Expected SARSA's ε-greedy,
        Double Q's on the updated table's greedy action, applied to the other table's values."""
        learn = evaluate = self.tables[0]
        if self.rule == "double_q":
            learn, evaluate = self.tables if self.rng.random() < 0.5 else self.tables[::-1]
        weights: int | np.ndarray
        if self.rule == "sarsa":  # a' was taken, so it is legal
            legal_next, weights = None, a_next
        elif self.rule == "expected_sarsa":
            weights = losses.epsilon_greedy_probs(learn.behaviour(s_next, legal_next), self.epsilon)
        else:
            weights = losses.greedy_action(learn.behaviour(s_next, legal_next))
        return learn.update(s, a, r, weights, evaluate, s_next, legal_next, self.config.gamma, terminated)

    def update(self, fragment: Fragment) -> dict[str, float]:
        steps, num_envs = fragment.rewards.shape
        n = steps * num_envs  # time-major, then env: the order the steps happened in
        rows = self.states.rows(fragment.obs.reshape(n, *fragment.obs.shape[2:])).tolist()
        flat_next = fragment.next_obs.reshape(n, *fragment.obs.shape[2:])
        next_rows = self.states.rows(flat_next).tolist()
        legal = self.states.legal(flat_next)  # [T·E, A] or None
        actions, rewards = fragment.actions.reshape(n).tolist(), fragment.rewards.reshape(n).tolist()
        next_actions, terminated = fragment.next_actions.reshape(n).tolist(), fragment.terminated.reshape(n).tolist()
        ended = (fragment.terminated | fragment.truncated).reshape(n).tolist()
        for i in range(n):
            delta = self._update_one(rows[i], actions[i], rewards[i], next_rows[i], next_actions[i], terminated[i],
                                     None if legal is None else legal[i])
            self.td_abs_sum += abs(delta)
            self.td_count += 1
            # ε decays per finished episode, so Expected SARSA's target sees the ε that acted.
            self.episodes += ended[i]
        self.version += 1
        return {"epsilon": self.epsilon}

    def metrics(self) -> dict[str, float]:
        """Mean |TD error| since the last call (logged periodically)."""
        mean = self.td_abs_sum / max(self.td_count, 1)
        self.td_abs_sum, self.td_count = 0.0, 0
        return {"td_abs": mean}

    def behaviour_q(self) -> np.ndarray:
        """The values the behaviour acts on, every row: Σ Q (+ U with ``optimism_apart``) over the tables."""
        return self._values(np.add)

    def greedy_q(self) -> np.ndarray:
        """The values greedy play acts on, every row: with ``optimism_apart``, Σ Q − U (``ActionValues``)."""
        return self._values(np.subtract)

    def _values(self, optimism: np.ufunc) -> np.ndarray:
        """A new array: the tables' Q summed, each table's U applied by ``optimism`` (add or subtract)."""
        first = self.tables[0]
        values = first.q.copy() if first.u is None else optimism(first.q, first.u)
        for table in self.tables[1:]:
            values += table.q
            if table.u is not None:
                optimism(values, table.u, out=values)
        return values

    def get_weights(self) -> dict[str, Any]:
        weights = {"q": self.behaviour_q(), "epsilon": self.epsilon}  # new arrays, not views of the tables
        if self.config.optimism_apart:  # sent only when it differs: a board game's table is tens of MB
            weights["greedy_q"] = self.greedy_q()
        return weights

    def state_dict(self) -> dict[str, Any]:
        state = {"episodes": self.episodes, "version": self.version, "rng": self.rng.bit_generator.state,
                 "td_abs": (self.td_abs_sum, self.td_count)}
        for table, suffix in zip(self.tables, SUFFIXES, strict=False):  # "q" and "q_b" as before U existed
            state.update(table.state_dict(suffix))
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for table, suffix in zip(self.tables, SUFFIXES, strict=False):
            table.load_state_dict(state, suffix)
        self.episodes, self.version = int(state["episodes"]), int(state["version"])
        if "rng" in state:  # checkpoints before format 1 lack these two
            self.rng.bit_generator.state = state["rng"]
            self.td_abs_sum, self.td_count = float(state["td_abs"][0]), int(state["td_abs"][1])
