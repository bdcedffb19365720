"""The fully connected encoder and decoder for vector observations, the counterparts of ``ConvEncoder`` and
``ConvDecoder`` (``generative.networks``) for data that is not an image.

Layers are DreamerV3's (Hafner et al. 2023, Appendix B): linear, layer norm, SiLU. Both are ``nn.Module``s
with ``features_dim``:

- ``MLPEncoder``: vector ``[B, D]`` → features ``[B, features_dim]`` (the last hidden layer);
- ``MLPDecoder``: code ``[B, latent_dim]`` → vector ``[B, out_dim]``, unbounded (no output squashing: a
  caller that wants a range transforms its targets, as Dreamer's symlog does).
"""

from __future__ import annotations

import torch
from torch import nn


def dense_stack(in_dim: int, units: int, layers: int) -> nn.Sequential:
    """``layers`` × (linear → layer norm → SiLU): ``[B, in_dim]`` → ``[B, units]`` (identity when ``layers`` is 0)."""
    blocks: list[nn.Module] = []
    for _ in range(layers):
        blocks += [nn.Linear(in_dim, units, bias=False), nn.LayerNorm(units), nn.SiLU()]
        in_dim = units
    return nn.Sequential(*blocks)


class MLPEncoder(nn.Module):
    """Vector → features through ``layers`` normalised SiLU layers of ``units`` each."""

    def __init__(self, in_dim: int, units: int, layers: int) -> None:
        super().__init__()
        self.body = dense_stack(in_dim, units, layers)
        self.features_dim = units if layers else in_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)  # [B, D] -> [B, features_dim]


class MLPDecoder(nn.Module):
    """Code → vector: ``layers`` normalised SiLU layers, then a linear read-out of ``out_dim`` values."""

    def __init__(self, latent_dim: int, out_dim: int, units: int, layers: int) -> None:
        super().__init__()
        self.features_dim = latent_dim
        self.body = dense_stack(latent_dim, units, layers)
        self.out = nn.Linear(units if layers else latent_dim, out_dim)

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(code))  # [B, latent_dim] -> [B, out_dim]
