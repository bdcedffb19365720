"""Hyperparameters of Dyna-Q and Dyna-Q+ (Sutton & Barto 2018, sections 8.2 and 8.3).

The direct-RL part is the tabular Q-learning agent's, so its fields (α, γ, ε, Q init) are inherited.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentlab.config import setting
from agentlab.tabular.config import TabularConfig


@dataclass
class DynaConfig(TabularConfig):
    planning_steps: int = setting(5, ge=0)
    """n: simulated Q-learning updates from the learned model after each real step (0: plain Q-learning)."""
    kappa: float = setting(0.0, ge=0)
    """Dyna-Q+ bonus weight κ: planning rewards get κ√τ, untried actions are planned too (0: Dyna-Q)."""
