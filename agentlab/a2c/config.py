"""A2C / A3C hyperparameters and per-environment presets.

Defaults follow Stable-Baselines3's A2C (itself OpenAI Baselines'), which reproduces Mnih et al. 2016:
5-step rollouts, RMSprop (α 0.99, ε 1e-5), lr 7e-4, value coefficient 0.5, gradient norm clipped to 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentlab.config import MemorySettings, names_in, setting


@dataclass
class A2CConfig(MemorySettings):
    """Shared by ``--algo a2c`` and ``--algo a3c``: only the launcher's schedule differs."""

    gamma: float = setting(0.99, ge=0, le=1)
    """Discount factor."""
    gae_lambda: float = setting(1.0, ge=0, le=1)
    """GAE λ; 1.0 gives the paper's n-step advantage, lower values trade variance for bias."""
    learning_rate: float = setting(7e-4, gt=0)
    """Optimizer step size."""
    optimizer: str = setting("rmsprop", choices=("rmsprop", "adam", "sgd"), fixed=True)
    """``rmsprop``, ``adam`` or ``sgd``."""
    rms_alpha: float = setting(0.99, ge=0, lt=1)
    """RMSprop smoothing constant (Adam's β2 when ``optimizer=adam``)."""
    eps: float = setting(1e-5, ge=0)
    """Optimizer ε (denominator stabiliser)."""
    value_coef: float = setting(0.5, ge=0)
    """Weight of the value loss in the total loss."""
    entropy_coef: float = setting(0.0, ge=0)
    """Weight of the entropy bonus (subtracted from the loss)."""
    max_grad_norm: float = setting(0.5, ge=0)
    """Clip the global gradient norm to this before each step (0: no clipping)."""
    normalize_advantage: bool = False
    """Standardise advantages within each batch."""
    encoder: str = setting("auto", choices=names_in("agentlab.encoders:ENCODERS", first=["auto"]), fixed=True)
    """``make_encoder`` name: ``auto`` (MLP for vectors, Nature CNN for images), ``mlp``, ``nature_cnn``."""
    hidden_sizes: tuple[int, ...] = setting((64, 64), ge=1, fixed=True)
    """Hidden layer widths of the MLP encoder (ignored by CNN encoders)."""
    activation: str = setting("relu", choices=names_in("agentlab.encoders:ACTIVATIONS"))
    """Nonlinearity of the MLP encoder: ``relu`` or ``tanh`` (Stable-Baselines3's choice for actor-critics)."""
    shared_encoder: bool = setting(True, fixed=True)
    """Policy and value share one encoder (Mnih et al. 2016); false gives the value head its own copy."""
    encoder_weights: str = ""
    """Path to a state dict for the encoder body, loaded before training; empty: random init."""
    freeze_encoder: bool = setting(False, fixed=True)
    """Keep the encoder's parameters fixed: requires_grad off and excluded from the optimizer."""


def preset(env_id: str, algo: str = "a2c") -> dict[str, Any]:
    """Run and algorithm keys that solve ``env_id``; the user's config and ``--set`` override them."""
    if "CartPole" in env_id:  # CartPole-v1 and its variants (agentlab/MaskedCartPole-v1)
        # rl-baselines3-zoo's A2C setting (8 envs, 5 steps, no entropy bonus) on Stable-Baselines3's MLP
        # policy: tanh, and a value network of its own. The shared ReLU trunk needed ~7× more env steps
        # (median of 5 seeds), and on seed 0 changing only one of the two did not solve within 200k.
        # A3C gets 8 envs per worker so each gradient averages as many steps (40) as an A2C update.
        return {"fragment_length": 5, "workers": 2, "envs_per_worker": 8 if algo == "a3c" else 4,
                "activation": "tanh", "shared_encoder": False, "entropy_coef": 0.0, "steps": 300_000}
    if env_id.startswith("ALE/"):
        return {"fragment_length": 5, "workers": 2, "envs_per_worker": 8, "learning_rate": 7e-4,
                "optimizer": "rmsprop", "rms_alpha": 0.99, "eps": 1e-5, "entropy_coef": 0.01,
                "value_coef": 0.5, "max_grad_norm": 0.5, "steps": 10_000_000}
    if env_id.startswith("MinAtar/"):
        # The Atari setting above (Mnih et al. 2016 via Baselines) on the MinAtar paper's network, conv 16 3×3
        # → 128 (Young & Tian 2019), shared by both heads; 16 envs, 5M steps (that paper's budget).
        return {"fragment_length": 5, "workers": 2, "envs_per_worker": 8, "learning_rate": 7e-4,
                "optimizer": "rmsprop", "rms_alpha": 0.99, "eps": 1e-5, "entropy_coef": 0.01, "value_coef": 0.5,
                "max_grad_norm": 0.5, "encoder": "minatar_cnn", "shared_encoder": True, "steps": 5_000_000}
    return {"fragment_length": 5}
