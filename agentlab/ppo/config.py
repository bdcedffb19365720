"""PPO hyperparameters and per-environment presets.

Defaults are Stable-Baselines3's PPO (Adam ε 1e-5, lr 3e-4, clip 0.2, 10 epochs, minibatches of 64,
γ 0.99, λ 0.95, value coefficient 0.5, gradient norm 0.5, orthogonal init), which follow the
implementation details catalogued by Huang et al. 2022, "The 37 Implementation Details of Proximal
Policy Optimization" (ICLR blog track).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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

    def validate(self) -> None:
        if self.anneal_clip and self.anneal_steps == 0:
            raise invalid("anneal_steps", self.anneal_steps, "more than 0 when anneal_clip is on (the clip "
                          "range anneals over it)", 100_000)

    def fraction_left(self, env_steps: int) -> float:
        """α = 1 − env_steps / anneal_steps, floored at 0; always 1 without annealing."""
        if self.anneal_steps == 0:
            return 1.0
        return max(0.0, 1.0 - env_steps / self.anneal_steps)


def preset(env_id: str) -> dict[str, Any]:
    """Run and algorithm keys for ``env_id``; the user's config and ``--set`` override them."""
    if "CartPole" in env_id:  # CartPole-v1 and its variants (agentlab/MaskedCartPole-v1)
        # rl-baselines3-zoo, hyperparams/ppo.yml, CartPole-v1: 8 envs × 32 steps, batch 256, 20 epochs,
        # γ 0.98, λ 0.8, no entropy bonus, lr lin_1e-3 and clip lin_0.2 over 1e5 steps, SB3's MlpPolicy.
        return {"workers": 2, "envs_per_worker": 4, "fragment_length": 32, "minibatch_size": 256, "epochs": 20,
                "gamma": 0.98, "gae_lambda": 0.8, "entropy_coef": 0.0, "learning_rate": 1e-3, "clip_range": 0.2,
                "anneal_steps": 100_000, "anneal_clip": True, "steps": 100_000}
    if env_id.startswith("MinAtar/"):
        # Pgx's MinAtar PPO example (Koyamada et al. 2023, after PureJaxRL; examples/minatar-ppo/train.py):
        # 128-step rollouts, 3 epochs, γ 0.99, λ 0.95, clip 0.2 for the ratio and the value, entropy 0.01,
        # c1 0.5 on a halved squared error (0.25 on ours), Adam 3e-4 constant, gradient norm 0.5. They run
        # 4,096 envs with minibatches of 4,096; here 16 envs (2 workers × 8) give 2,048-step rollouts in 8
        # minibatches of 256. The network is the MinAtar paper's (conv 16 3×3 → 128, Young & Tian 2019)
        # shared by both heads; 5M steps is that paper's budget.
        return {"workers": 2, "envs_per_worker": 8, "fragment_length": 128, "minibatch_size": 256, "epochs": 3,
                "gamma": 0.99, "gae_lambda": 0.95, "clip_range": 0.2, "value_clip": 0.2, "entropy_coef": 0.01,
                "value_coef": 0.25, "learning_rate": 3e-4, "encoder": "minatar_cnn", "shared_encoder": True,
                "steps": 5_000_000}
    if env_id.startswith("ALE/"):
        # Schulman et al. 2017, Table 5 (Atari): 8 actors × 128 steps, 3 epochs of minibatches 32 × 8 = 256,
        # Adam lr 2.5e-4·α and clip 0.1·α with α annealed 1 → 0, γ 0.99, λ 0.95, c1 1.0, c2 0.01; 10M steps
        # (40M frames). Nature CNN shared by policy and value; gradient norm 0.5 as in the Baselines code.
        return {"workers": 2, "envs_per_worker": 4, "fragment_length": 128, "minibatch_size": 256, "epochs": 3,
                "gamma": 0.99, "gae_lambda": 0.95, "learning_rate": 2.5e-4, "clip_range": 0.1,
                "anneal_steps": 10_000_000, "anneal_clip": True, "value_coef": 1.0, "entropy_coef": 0.01,
                "encoder": "nature_cnn", "shared_encoder": True, "steps": 10_000_000}
    return {}
