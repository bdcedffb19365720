"""Running observation normalisation inside the network: ``clip((x − μ) / √(σ² + ε), ±10)``, as
Stable-Baselines3's ``VecNormalize`` does outside it, with μ and σ² the moments of every observation the
learner has trained on, merged batch by batch (Chan, Golub & LeVeque 1979's parallel update).

The moments are buffers of the network, so they travel with its weights to the actors, into checkpoints
and to evaluation. The learner merges each fragment's moments once (A3C's actors ship theirs beside the
gradient), never inside a forward pass, so acting, replay and target passes read the same statistics.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import nn


class Moments(NamedTuple):
    """A batch's observation count, mean ``[D]`` and (population) variance ``[D]``, as plain arrays."""

    count: int
    mean: np.ndarray
    var: np.ndarray


def batch_moments(x: torch.Tensor) -> Moments:
    """The moments of a batch of feature vectors ``[N, D]``."""
    x = x.detach().double().cpu()
    return Moments(len(x), x.mean(0).numpy(), x.var(0, unbiased=False).numpy())


class RunningNorm(nn.Module):
    """``[B, D]`` → ``[B, D]`` standardised by the running moments; identity-like until the first update."""

    def __init__(self, dim: int, clip: float = 10.0, eps: float = 1e-8):
        super().__init__()
        self.clip, self.eps = clip, eps
        self.register_buffer("mean", torch.zeros(dim, dtype=torch.float64))
        self.register_buffer("var", torch.ones(dim, dtype=torch.float64))
        self.register_buffer("count", torch.full((1,), 1e-4, dtype=torch.float64))  # SB3's prior count: no 0/0

    @torch.no_grad()
    def update(self, batch: Moments) -> None:
        """Merge a batch's moments: δ = μ_b − μ, μ += δ n_b / n, σ² = (σ² n_a + σ²_b n_b + δ² n_a n_b / n) / n."""
        n_a, n_b = self.count.item(), float(batch.count)
        n = n_a + n_b
        mean_b = torch.as_tensor(batch.mean, dtype=torch.float64, device=self.mean.device)
        var_b = torch.as_tensor(batch.var, dtype=torch.float64, device=self.var.device)
        delta = mean_b - self.mean
        self.mean += delta * (n_b / n)
        self.var.copy_((self.var * n_a + var_b * n_b + delta.square() * (n_a * n_b / n)) / n)
        self.count.fill_(n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        std = (self.var + self.eps).sqrt().to(x.dtype)
        return ((x - self.mean.to(x.dtype)) / std).clamp(-self.clip, self.clip)
