"""PPO hyperparameters (the tuned settings per env are rows of ``agentlab.presets``).

Defaults are Stable-Baselines3's PPO (Adam ε 1e-5, lr 3e-4, clip 0.2, 10 epochs, minibatches of 64,
γ 0.99, λ 0.95, value coefficient 0.5, gradient norm 0.5, orthogonal init), which follow the
implementation details catalogued by Huang et al. 2022, "The 37 Implementation Details of Proximal
Policy Optimization" (ICLR blog track). Observations and rewards are normalised by default (SB3's
``VecNormalize``, details 6–9 of Huang et al.'s continuous-action list; rl-baselines3-zoo turns it on for
MountainCar): without it PPO never reached MountainCar-v0's flag in 1M steps (docs/benchmarks.md, classic
control); presets whose source does not normalise turn it off.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentlab.config import MemorySettings, invalid, names_in, setting


@dataclass
class PPOConfig(MemorySettings):
    gamma: float = setting(0.99, ge=0, le=1)
    """Discount factor."""
    gae_lambda: float = setting(0.95, ge=0, le=1)
    """GAE λ (Schulman et al. 2016): 1 gives the Monte-Carlo advantage, 0 the one-step TD error."""
    learning_rate: float = setting(3e-4, gt=0)
    """Adam step size at the start; annealed linearly to 0 over ``anneal_steps`` when that is set."""
    eps: float = setting(1e-5, gt=0)
    """Adam ε (1e-5, not PyTorch's 1e-8: Huang et al. detail 3)."""
    epochs: int = setting(10, ge=1)
    """Passes over each rollout (the paper's K)."""
    minibatch_size: int = setting(64, ge=1)
    """Steps per gradient step; a rollout of N steps gives ceil(N / minibatch_size) steps per epoch."""
    clip_range: float = setting(0.2, gt=0)
    """ε of the clipped surrogate: the ratio π/π_old is clipped to [1 − ε, 1 + ε]."""
    value_clip: float = setting(0.0, ge=0)
    """Clip the value update to ± this around the rollout's value estimate (0: off; Huang et al. detail 9)."""
    anneal_steps: int = setting(0, ge=0)
    """Env steps at which lr (and, with ``anneal_clip``, the clip range) reach 0 linearly (0: constant lr)."""
    anneal_clip: bool = False
    """Anneal the clip range with the learning rate (the PPO paper's Atari setting, ε = 0.1·α)."""
    normalize_advantage: bool = True
    """Standardise advantages within each minibatch (Huang et al. detail 7)."""
    value_coef: float = setting(0.5, ge=0)
    """Weight of the value loss in the total loss (c1 in the paper's Eq. 9)."""
    entropy_coef: float = setting(0.0, ge=0)
    """Weight of the entropy bonus (c2 in Eq. 9)."""
    max_grad_norm: float = setting(0.5, ge=0)
    """Clip the global gradient norm to this before each step (0: no clipping)."""
    orthogonal_init: bool = True
    """Orthogonal hidden layers with gain √2, biases 0 (Huang et al. detail 2); the heads are always orthogonal."""
    encoder: str = setting("auto", choices=names_in("agentlab.encoders:ENCODERS", first=["auto"]), fixed=True)
    """Observation encoder (``agentlab.encoders``): auto (MLP for vectors, Nature CNN for images), mlp, ..."""
    hidden_sizes: tuple[int, ...] = setting((64, 64), ge=1, fixed=True)
    """Hidden layer widths of the MLP encoder (ignored by CNN encoders)."""
    activation: str = setting("tanh", choices=names_in("agentlab.encoders:ACTIVATIONS"))
    """Nonlinearity of the MLP encoder (tanh: Stable-Baselines3's actor-critic MLP)."""
    shared_encoder: bool = setting(False, fixed=True)
    """Policy and value share one encoder (the paper's Atari network); false gives the value its own copy."""
    encoder_weights: str = ""
    """Path to a state dict for the encoder body, loaded before training (not re-initialised); empty: random."""
    freeze_encoder: bool = setting(False, fixed=True)
    """Keep the encoder's parameters fixed: requires_grad off and excluded from the optimizer."""
    normalize_obs: bool = setting(True, fixed=True)
    """Standardise vector observations by the running mean and variance of those trained on, clipped to ±10 (images
    and one-hot states keep their own scale)."""
    normalize_reward: bool = True
    """Scale the rewards trained on by the running std of the discounted return, clipped to ±10 (SB3's
    ``VecNormalize``; ``agentlab.normalization.RewardScale``)."""

    def validate(self) -> None:
        if self.anneal_clip and self.anneal_steps == 0:
            raise invalid("anneal_steps", self.anneal_steps, "more than 0 when anneal_clip is on (the clip "
                          "range anneals over it)", 100_000)

    def fraction_left(self, env_steps: int) -> float:
        """α = 1 − env_steps / anneal_steps, floored at 0; always 1 without annealing."""
        if self.anneal_steps == 0:
            return 1.0
        return max(0.0, 1.0 - env_steps / self.anneal_steps)
