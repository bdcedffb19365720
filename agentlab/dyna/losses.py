"""Dyna-Q+'s exploration bonus (Sutton & Barto 2018, section 8.3), as pure functions.

Planning updates are Q-learning updates (eq. 6.8) on simulated transitions, so their targets are
``agentlab.tabular.losses.td_target`` on ``greedy_action``, on the bonus-adjusted reward ``planning_reward``.
"""

from __future__ import annotations

import numpy as np


def exploration_bonus(tau: np.ndarray, kappa: float) -> np.ndarray:
    """κ√τ: the bonus of a transition that has not been tried in the real environment for τ time steps."""
    return kappa * np.sqrt(tau)


def planning_reward(r_model: np.ndarray, tau: np.ndarray, kappa: float) -> np.ndarray:
    """r + κ√τ: the reward a Dyna-Q+ planning update uses in place of the model's r (κ = 0: Dyna-Q's r)."""
    return r_model + exploration_bonus(tau, kappa)
