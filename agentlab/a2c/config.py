"""A2C / A3C hyperparameters (the tuned settings per env are rows of ``agentlab.presets``).

Defaults follow Stable-Baselines3's A2C (itself OpenAI Baselines'), which reproduces Mnih et al. 2016:
5-step rollouts, RMSprop (α 0.99, ε 1e-5), lr 7e-4, value coefficient 0.5, gradient norm clipped to 0.5,
orthogonal init. The rate falls linearly to 0 over the run, as Baselines' A2C does (``lrschedule="linear"``) and
rl-baselines3-zoo's LunarLander row: held constant, A2C's LunarLander-v3 defaults ended far lower at 200k steps.
Observations and rewards are normalised by default (SB3's ``VecNormalize``, which rl-baselines3-zoo turns on for
MountainCar): without it A2C never reached MountainCar-v0's flag in 1M steps, with it every seed did
(docs/benchmarks.md, classic control). Presets whose source does not normalise or anneal turn those off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from agentlab.config import MemorySettings, linear_decay, names_in, setting


@dataclass
class A2CConfig(MemorySettings):
    """Shared by ``--algo a2c`` and ``--algo a3c``: only the launcher's schedule differs."""

    # Schedule lengths that a run sets to this fraction of its ``steps`` unless given.
    budget_fractions: ClassVar[dict[str, float]] = {"lr_decay_steps": 1.0}

    gamma: float = setting(0.99, ge=0, le=1)
    """Discount factor."""
    gae_lambda: float = setting(1.0, ge=0, le=1)
    """GAE λ; 1.0 gives the paper's n-step advantage, lower values trade variance for bias."""
    learning_rate: float = setting(7e-4, gt=0)
    """Optimizer step size at the start."""
    lr_end: float = setting(0.0, ge=0, le=1)
    """Learning rate after ``lr_decay_steps``, as a fraction of ``learning_rate``, reached linearly (1: constant)."""
    lr_decay_steps: int = setting(100_000, ge=1)
    """Env steps (all workers) of the learning rate's linear decay; in a run, its ``steps`` unless set."""
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
    orthogonal_init: bool = True
    """Orthogonal hidden layers with gain √2, biases 0 (Baselines' and SB3's A2C); off, PyTorch's default init. The
    heads are always orthogonal."""
    encoder: str = setting("auto", choices=names_in("agentlab.encoders:ENCODERS", first=["auto"]), fixed=True)
    """``make_encoder`` name: ``auto`` (MLP for vectors, Nature CNN for images), ``mlp``, ``nature_cnn``."""
    hidden_sizes: tuple[int, ...] = setting((64, 64), ge=1, fixed=True)
    """Hidden layer widths of the MLP encoder (ignored by CNN encoders)."""
    activation: str = setting("tanh", choices=names_in("agentlab.encoders:ACTIVATIONS"))
    """Nonlinearity of the MLP encoder: ``tanh`` (Stable-Baselines3's MLP policy) or ``relu``."""
    shared_encoder: bool = setting(False, fixed=True)
    """Policy and value share one encoder (Mnih et al. 2016's Atari network; the image presets set it); false, the
    default, gives the value its own copy, as SB3's MLP policy does: a shared ReLU trunk learned nothing on
    Acrobot-v1 or masked CartPole in 150k–200k steps where this learns both."""
    encoder_weights: str = ""
    """Path to a state dict for the encoder body, loaded before training; empty: random init."""
    freeze_encoder: bool = setting(False, fixed=True)
    """Keep the encoder's parameters fixed: requires_grad off and excluded from the optimizer."""
    normalize_obs: bool = setting(True, fixed=True)
    """Standardise vector observations by the running mean and variance of those trained on, clipped to ±10 (images
    and one-hot states keep their own scale)."""
    normalize_reward: bool = True
    """Scale the rewards trained on by the running std of the discounted return, clipped to ±10 (SB3's
    ``VecNormalize``; ``agentlab.normalization.RewardScale``); with ``a3c`` each actor scales by its own envs'."""

    def lr_at(self, env_steps: int) -> float:
        """The linear learning-rate schedule at this many env steps (counted over all workers)."""
        return linear_decay(self.learning_rate, self.lr_end, env_steps, self.lr_decay_steps)
