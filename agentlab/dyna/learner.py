"""Tabular Dyna-Q and Dyna-Q+ (Sutton & Barto 2018, section 8.2's Tabular Dyna-Q box, and section 8.3).

For every real transition, in the order they happened (time-major, then env):

    (d) direct RL:      Q(S, A) ← Q(S, A) + α [R + γ max_a Q(S', a) − Q(S, A)]    (the Q-learning learner's update)
    (e) model learning: Model(S, A) ← R, S'                                         (``TabularModel.observe``)
    (f) planning, n times: S, A ← search control; R, S' ← Model(S, A); the same update on R + κ√τ,
        τ the real steps since (S, A) was last tried (κ = 0: Dyna-Q; κ > 0: Dyna-Q+).

With one env and ``fragment_length=1`` this is the book's online algorithm, except that the worker picks the
next action before the learner has made this step's updates (the actor–learner loop's one-step lag).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agentlab.dyna import losses
from agentlab.dyna.config import DynaConfig
from agentlab.dyna.networks import TabularModel
from agentlab.tabular.learner import TabularLearner
from agentlab.tabular.losses import greedy_action


class DynaLearner(TabularLearner):
    def __init__(self, config: DynaConfig, num_states: int, num_actions: int, seed: int):
        super().__init__("q_learning", config, num_states, num_actions, seed)
        self.config: DynaConfig = config
        self.model = TabularModel(num_states, num_actions, plan_untried=config.kappa > 0)
        self.time = 0  # real transitions learned from: the clock of τ

    def _update_one(self, s: int, a: int, r: float, s_next: int, a_next: int, terminated: bool,
                    legal_next: np.ndarray | None) -> float:
        """One real transition: (d) direct RL, (e) model learning, (f) planning; the TD error of (d)."""
        delta = super()._update_one(s, a, r, s_next, a_next, terminated, legal_next)  # (d)
        self.time += 1
        self.model.observe(s, a, r, s_next, terminated, self.time)  # (e)
        self.plan(self.config.planning_steps)  # (f)
        return delta

    def plan(self, n: int) -> None:
        """``n`` Q-learning updates on transitions simulated by the model."""
        if n == 0:
            return
        sim = self.model.sample(self.rng, n)
        r_t = losses.planning_reward(sim.r, self.time - sim.last_tried, self.config.kappa)  # [n] R (+ κ√τ)
        values = self.tables[0]
        for s, a, r, s_next, term in zip(sim.s.tolist(), sim.a.tolist(), r_t.tolist(), sim.s_next.tolist(),
                                         sim.terminated.tolist(), strict=True):
            values.update(s, a, r, greedy_action(values.behaviour(s_next)), values, s_next, None, self.config.gamma,
                          term)

    def state_dict(self) -> dict[str, Any]:
        """The Q-learning learner's state (Q, counters, the planning generator) plus the model and τ's clock."""
        return {**super().state_dict(), "model": self.model.state_dict(), "time": self.time}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.model.load_state_dict(state["model"])
        self.time = int(state["time"])
