"""Convolutional autoencoder, and its denoising variant (Vincent et al. 2008).

An autoencoder learns ``x ≈ decode(encode(x))`` through a ``latent_dim`` bottleneck; with a linear
encoder and decoder and squared error it can do no better than PCA at the same size (``generative.pca``), so
PCA is its baseline. The denoising autoencoder reconstructs the clean ``x`` from a corrupted ``x̃ ~ q_D(x̃|x)``;
Vincent et al.'s corruption is masking noise, which zeroes input components at random (here each with
probability ``ν``; the paper zeroes a fixed number ``νd``, the same in expectation).
"""

from __future__ import annotations

import torch
from torch import nn

from generative.networks import ConvEncoder, make_decoder


def mask_noise(x: torch.Tensor, fraction: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """``x̃``: ``x`` with each component set to 0 with probability ``fraction`` (Vincent et al.'s ``q_D``)."""
    keep = torch.rand(x.shape, generator=generator) >= fraction
    return x * keep


class Autoencoder(nn.Module):
    """``encode``: image ``[B, C, S, S]`` → code ``[B, latent_dim]``; ``decode``: code → image in ``[0, 1]``."""

    def __init__(self, in_channels: int, image_size: int, latent_dim: int, channels: tuple[int, ...],
                 decoder_kind: str = "conv") -> None:
        super().__init__()
        self.encoder = ConvEncoder(in_channels, image_size, channels)
        self.to_code = nn.Linear(self.encoder.features_dim, latent_dim)
        self.decoder = make_decoder(decoder_kind, latent_dim, in_channels, image_size, channels)
        self.features_dim = latent_dim

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.to_code(self.encoder(x))  # [B, C, S, S] -> [B, latent_dim]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)  # [B, latent_dim] -> [B, C, S, S]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))
