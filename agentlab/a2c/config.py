"""A2C / A3C hyperparameters and per-environment presets.

Defaults follow Stable-Baselines3's A2C (itself OpenAI Baselines'), which reproduces Mnih et al. 2016:
5-step rollouts, RMSprop (α 0.99, ε 1e-5), lr 7e-4, value coefficient 0.5, gradient norm clipped to 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class A2CConfig:
    """Shared by ``--algo a2c`` and ``--algo a3c``: only the launcher's schedule differs."""

    gamma: float = 0.99
    """Discount factor."""
    gae_lambda: float = 1.0
    """GAE λ; 1.0 gives the paper's n-step advantage, lower values trade variance for bias."""
    learning_rate: float = 7e-4
    """Optimizer step size."""
    optimizer: str = "rmsprop"
    """``rmsprop``, ``adam`` or ``sgd``."""
    rms_alpha: float = 0.99
    """RMSprop smoothing constant (Adam's β2 when ``optimizer=adam``)."""
    eps: float = 1e-5
    """Optimizer ε (denominator stabiliser)."""
    value_coef: float = 0.5
    """Weight of the value loss in the total loss."""
    entropy_coef: float = 0.0
    """Weight of the entropy bonus (subtracted from the loss)."""
    max_grad_norm: float = 0.5
    """Clip the global gradient norm to this before each step (0: no clipping)."""
    normalize_advantage: bool = False
    """Standardise advantages within each batch."""
    encoder: str = "auto"
    """``make_encoder`` name: ``auto`` (MLP for vectors, Nature CNN for images), ``mlp``, ``nature_cnn``."""
    hidden_sizes: tuple[int, ...] = (64, 64)
    """Hidden layer widths of the MLP encoder (ignored by CNN encoders)."""
    encoder_weights: str = ""
    """Path to a state dict for the encoder body, loaded before training; empty: random init."""
    freeze_encoder: bool = False
    """Keep the encoder's parameters fixed: requires_grad off and excluded from the optimizer."""


def preset(env_id: str, algo: str = "a2c") -> dict[str, Any]:
    """Run and algorithm keys that solve ``env_id``; the user's config and ``--set`` override them."""
    if env_id.startswith("CartPole"):
        # rl-baselines3-zoo's A2C setting (8 envs, 5 steps, no entropy bonus), with γ 0.98 and lr 1.5e-3:
        # a shorter horizon keeps the shared trunk's value targets small (≤ 50), which steadied learning.
        # A3C gets 8 envs per worker so each gradient averages as many steps (40) as an A2C update.
        return {"fragment_length": 5, "workers": 2, "envs_per_worker": 8 if algo == "a3c" else 4,
                "gamma": 0.98, "learning_rate": 1.5e-3, "entropy_coef": 0.0, "steps": 300_000}
    if env_id.startswith("ALE/"):
        return {"fragment_length": 5, "workers": 2, "envs_per_worker": 8, "learning_rate": 7e-4,
                "optimizer": "rmsprop", "rms_alpha": 0.99, "eps": 1e-5, "entropy_coef": 0.01,
                "value_coef": 0.5, "max_grad_norm": 0.5, "steps": 10_000_000}
    return {"fragment_length": 5}
