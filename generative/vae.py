"""Variational autoencoder (Kingma & Welling 2014), β-VAE (Higgins et al. 2017) and conditional VAE (Sohn et al.
2015).

The encoder outputs the mean and log-variance of ``q(z|x) = N(μ, diag σ²)``; ``reparameterize`` draws
``z = μ + σ ⊙ ε`` with ``ε ~ N(0, I)``, so the sample is a differentiable function of ``μ`` and ``σ`` (their
§2.4); the decoder's output is the mean of ``p(x|z)``. The loss, ``generative.losses.negative_elbo``, weighs the
KL term by ``β``. The conditional VAE feeds the one-hot class ``y`` to both sides, ``q(z|x, y)`` and
``p(x|z, y)``, with the prior ``p(z|y) = N(0, I)`` independent of ``y`` (the relaxation Sohn et al. §4.2
allow), so sampling class ``c`` is ``decode(z, c)`` with ``z ~ N(0, I)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from generative.networks import ConvEncoder, make_decoder


class VAE(nn.Module):
    """A VAE on ``[B, C, S, S]`` images; conditional on ``num_classes`` classes when that is positive; its
    decoder is ``generative.networks.DECODERS[decoder_kind]``."""

    def __init__(self, in_channels: int, image_size: int, latent_dim: int, channels: tuple[int, ...],
                 num_classes: int = 0, decoder_kind: str = "conv") -> None:
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.encoder = ConvEncoder(in_channels, image_size, channels)
        self.to_mu = nn.Linear(self.encoder.features_dim + num_classes, latent_dim)
        self.to_logvar = nn.Linear(self.encoder.features_dim + num_classes, latent_dim)
        self.decoder = make_decoder(decoder_kind, latent_dim, in_channels, image_size, channels,
                                    condition_dim=num_classes)
        self.features_dim = latent_dim

    def _one_hot(self, y: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor | None:
        if self.num_classes == 0:
            return None
        if y is None:
            raise ValueError("a conditional VAE needs the class labels y")
        return F.one_hot(y, self.num_classes).to(like.dtype)  # [B, num_classes]

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``μ`` and ``log σ²`` of ``q(z|x[, y])``, each ``[B, latent_dim]``."""
        h = self.encoder(x)  # [B, features_dim]
        if self.num_classes:
            h = torch.cat([h, self._one_hot(y, h)], dim=1)  # [B, features_dim + num_classes]
        return self.to_mu(h), self.to_logvar(h)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """``z = μ + σ ⊙ ε``, ``ε ~ N(0, I)``: a sample of ``q(z|x)`` that gradients flow through."""
        std = torch.exp(0.5 * logvar)
        return mu + std * torch.randn_like(std)

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The mean of ``p(x|z[, y])``: ``[B, latent_dim]`` → ``[B, C, S, S]`` in ``[0, 1]``."""
        return self.decoder(z, self._one_hot(y, z))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
        """``(x_mean, μ, log σ²)`` for one ``z ~ q(z|x[, y])`` per image."""
        mu, logvar = self.encode(x, y)
        return self.decode(self.reparameterize(mu, logvar), y), mu, logvar

    @torch.no_grad()
    def sample(self, num: int, y: torch.Tensor | None = None, generator: torch.Generator | None = None
               ) -> torch.Tensor:
        """``num`` images decoded from ``z ~ N(0, I)`` (of class ``y[i]`` when conditional)."""
        return self.decode(torch.randn(num, self.latent_dim, generator=generator), y)
