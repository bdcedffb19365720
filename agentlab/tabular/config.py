"""Hyperparameters of the tabular TD agents (Sutton & Barto 2018, chapter 6)."""

from __future__ import annotations

from dataclasses import dataclass

from agentlab.config import invalid, setting


@dataclass
class TabularConfig:
    alpha: float = setting(0.1, gt=0, le=1)
    """Step size of the TD update."""
    gamma: float = setting(0.99, ge=0, le=1)
    """Discount factor."""
    epsilon: float = setting(0.1, ge=0, le=1)
    """Initial exploration rate of the ε-greedy behaviour policy."""
    epsilon_min: float = setting(0.01, ge=0, le=1)
    """Floor of ε."""
    epsilon_decay: float = setting(1.0, gt=0, le=1)
    """Multiplicative decay of ε per finished episode (1.0: fixed ε)."""
    q_init: float = 0.0
    """Initial value of every Q(s, a)."""
    optimism_apart: bool = False
    """Keep what is left of ``q_init`` apart as U: the behaviour acts on Q + U, greedy play on Q − U."""

    def validate(self) -> None:
        if self.epsilon_decay < 1.0 and self.epsilon_min > self.epsilon:
            raise invalid("epsilon_min", self.epsilon_min, f"at most epsilon ({self.epsilon}), the ε it decays from",
                          self.epsilon)

    def epsilon_after(self, episodes: int) -> float:
        """ε after this many finished episodes: ε₀·decayⁿ, never below ``epsilon_min`` (nor above ε₀)."""
        if self.epsilon_decay == 1.0:
            return self.epsilon
        return max(self.epsilon_min, self.epsilon * self.epsilon_decay**episodes)
