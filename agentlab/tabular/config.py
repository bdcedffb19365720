"""Hyperparameters of the tabular TD agents (Sutton & Barto 2018, chapter 6)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TabularConfig:
    alpha: float = 0.1
    """Step size of the TD update."""
    gamma: float = 0.99
    """Discount factor."""
    epsilon: float = 0.1
    """Initial exploration rate of the ε-greedy behaviour policy."""
    epsilon_min: float = 0.01
    """Floor of ε."""
    epsilon_decay: float = 1.0
    """Multiplicative decay of ε per finished episode (1.0: fixed ε)."""
    q_init: float = 0.0
    """Initial value of every Q(s, a)."""

    def epsilon_after(self, episodes: int) -> float:
        """ε after this many finished episodes: ε₀·decayⁿ, never below ``epsilon_min`` (nor above ε₀)."""
        if self.epsilon_decay == 1.0:
            return self.epsilon
        return max(self.epsilon_min, self.epsilon * self.epsilon_decay**episodes)
