"""Variational autoencoder (Kingma & Welling 2014), β-VAE (Higgins et al. 2017) and conditional VAE (Sohn et al.
2015).

The encoder outputs the mean and log-variance of ``q(z|x) = N(μ, diag σ²)``; ``reparameterize`` draws
``z = μ + σ ⊙ ε`` with ``ε ~ N(0, I)``, so the sample is a differentiable function of ``μ`` and ``σ`` (their
§2.4); the decoder's output is the mean of ``p(x|z)``. The loss, ``generative.losses.negative_elbo``, weighs the
KL term by ``β``. The conditional VAE feeds the one-hot class ``y`` to both sides, ``q(z|x, y)`` and
``p(x|z, y)``, with the prior ``p(z|y) = N(0, I)`` independent of ``y`` (the relaxation Sohn et al. §4.2
allow), so sampling class ``c`` is ``decode(z, c)`` with ``z ~ N(0, I)``.

With ``turns`` = ``K`` > 0 (the layered decoder only) the object's turn ``k`` is a discrete latent with a
uniform prior, and it is summed out of the likelihood exactly rather than inferred by the encoder:
``p(x|z, y) = (1/K) Σ_k p(x|z, y, k)``, a mixture over the ``K`` turns of one template (Frey & Jojic 2003's
transformation-invariant mixture). ``forward`` decodes every turn; sampling draws ``k`` uniformly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from generative.networks import MIN_SCALE, ConvEncoder, make_decoder, uniform_turns, with_turn


class VAE(nn.Module):
    """A VAE on ``[B, C, S, S]`` images; conditional on ``num_classes`` classes when that is positive; its
    decoder is ``generative.networks.DECODERS[decoder_kind]``."""

    def __init__(self, in_channels: int, image_size: int, latent_dim: int, channels: tuple[int, ...],
                 num_classes: int = 0, decoder_kind: str = "conv", turns: int = 0,
                 min_scale: float = MIN_SCALE) -> None:
        super().__init__()
        self.latent_dim, self.num_classes, self.turns = latent_dim, num_classes, turns
        self.encoder = ConvEncoder(in_channels, image_size, channels)
        self.to_mu = nn.Linear(self.encoder.features_dim + num_classes, latent_dim)
        self.to_logvar = nn.Linear(self.encoder.features_dim + num_classes, latent_dim)
        self.decoder = make_decoder(decoder_kind, latent_dim, in_channels, image_size, channels,
                                    condition_dim=num_classes + turns, turns=turns, min_scale=min_scale)
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

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None, turn: torch.Tensor | None = None
               ) -> torch.Tensor:
        """The mean of ``p(x|z[, y][, k])``: ``[B, latent_dim]`` → ``[B, C, S, S]`` in ``[0, 1]``; ``turn`` ``[B]``
        holds each image's ``k`` when the model has turns."""
        return self.decoder(z, with_turn(self._one_hot(y, z), turn, self.turns))

    def prior_turns(self, num: int, generator: torch.Generator | None = None) -> torch.Tensor | None:
        """``num`` turns ``[num]`` drawn uniformly (``None`` without turns)."""
        return uniform_turns(self.turns, num, generator)

    def decode_turns(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The mean under every turn, ``[K, B, C, S, S]``."""
        return self.decoder.every_turn(z, self._one_hot(y, z))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
        """``(x_mean, μ, log σ²)`` for one ``z ~ q(z|x[, y])`` per image; with turns ``x_mean`` is
        ``[K, B, C, S, S]``, the mean under each turn."""
        mu, logvar = self.encode(x, y)
        z = self.reparameterize(mu, logvar)  # [B, latent_dim]
        return (self.decode_turns(z, y) if self.turns else self.decode(z, y)), mu, logvar

    @torch.no_grad()
    def sample(self, num: int, y: torch.Tensor | None = None, generator: torch.Generator | None = None
               ) -> torch.Tensor:
        """``num`` images decoded from ``z ~ N(0, I)`` (of class ``y[i]`` when conditional; of a uniform turn)."""
        z = torch.randn(num, self.latent_dim, generator=generator)
        return self.decode(z, y, self.prior_turns(num, generator))
