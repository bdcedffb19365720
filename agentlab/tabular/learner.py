"""Online TD control on a Q-table: Q-learning, SARSA, Expected SARSA and Double Q-learning.

Transitions are applied one at a time in the order they happened (time-major, then env), so with
one env and ``fragment_length=1`` this is exactly the textbook online algorithm.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium.spaces import Discrete

from agentlab.core import Fragment
from agentlab.tabular import losses
from agentlab.tabular.actor import StateIndex
from agentlab.tabular.config import TabularConfig


class TabularLearner:
    def __init__(self, rule: str, config: TabularConfig, num_states: int | StateIndex, num_actions: int, seed: int):
        """``num_states``: the table's rows, a count (Discrete observations) or a ``StateIndex``."""
        self.rule, self.config = rule, config
        self.states = num_states if isinstance(num_states, StateIndex) else StateIndex(Discrete(num_states))
        self.q = np.full((self.states.num_states, num_actions), config.q_init, dtype=np.float64)
        # Double Q-learning keeps a second table; the behaviour policy acts on their sum.
        self.q_b = self.q.copy() if rule == "double_q" else None
        self.rng = np.random.default_rng(seed)
        self.version = 0
        self.episodes = 0
        self.td_abs_sum, self.td_count = 0.0, 0

    @property
    def epsilon(self) -> float:
        return self.config.epsilon_after(self.episodes)

    def _update_one(self, s: int, a: int, r: float, s_next: int, a_next: int, terminated: bool,
                    legal_next: np.ndarray | None) -> float:
        """One TD update; the max, the argmax and the expectation over s' run over its legal actions alone."""
        c = self.config
        if self.rule == "double_q":
            assert self.q_b is not None
            q_a, q_b = (self.q, self.q_b) if self.rng.random() < 0.5 else (self.q_b, self.q)
            q_a_next, q_b_next = (q_a[s_next], q_b[s_next]) if legal_next is None else \
                (q_a[s_next][legal_next], q_b[s_next][legal_next])
            return losses.td_update(q_a, s, a, losses.double_q_target(r, q_a_next, q_b_next, c.gamma, terminated),
                                    c.alpha)
        q_next = self.q[s_next]
        if self.rule == "sarsa":
            target = losses.sarsa_target(r, q_next, a_next, c.gamma, terminated)
        else:
            q_next = q_next if legal_next is None else q_next[legal_next]
            target = (losses.q_learning_target(r, q_next, c.gamma, terminated) if self.rule == "q_learning" else
                      losses.expected_sarsa_target(r, q_next, c.gamma, terminated, self.epsilon))
        return losses.td_update(self.q, s, a, target, c.alpha)

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
        return self.q if self.q_b is None else self.q + self.q_b

    def get_weights(self) -> dict[str, Any]:
        return {"q": self.behaviour_q().copy(), "epsilon": self.epsilon}

    def state_dict(self) -> dict[str, Any]:
        state = {"q": torch.from_numpy(self.q.copy()), "episodes": self.episodes, "version": self.version,
                 "rng": self.rng.bit_generator.state, "td_abs": (self.td_abs_sum, self.td_count)}
        if self.q_b is not None:
            state["q_b"] = torch.from_numpy(self.q_b.copy())
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.q = state["q"].numpy().copy()
        if self.q_b is not None:
            self.q_b = state["q_b"].numpy().copy()
        self.episodes, self.version = int(state["episodes"]), int(state["version"])
        if "rng" in state:  # checkpoints before format 1 lack these two
            self.rng.bit_generator.state = state["rng"]
            self.td_abs_sum, self.td_count = float(state["td_abs"][0]), int(state["td_abs"][1])
