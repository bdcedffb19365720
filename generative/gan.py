"""DCGAN (Radford et al. 2016) and its class-conditional form AC-GAN (Odena et al. 2017).

The generator maps noise ``z ~ N(0, I)`` through a linear layer and stride-2 transposed convolutions with
batch normalisation and ReLU to an image; the discriminator is stride-2 convolutions with batch normalisation
(not on its first layer) and leaky ReLU, ending in one logit ``D(x) = σ(logit)``. Weights start from
``N(0, 0.02)`` as in the paper. In AC-GAN the generator also takes a class ``c`` (one-hot, beside ``z`` and
at every stage) and the discriminator has a second head, ``P(C | X)``, over the classes. Losses:
``generative.losses``; training (``generative.train``) adds the R1 penalty to the discriminator's. With
``twin`` the discriminator has a third head, TAC-GAN's twin classifier (Gong et al. 2019), which learns the class
of *generated* images; the generator is scored by it with the opposite sign, which cancels AC-GAN's pull towards
the images its classifier names most surely (it then matches each class's distribution, not its easiest part). With
``turns`` (the layered generator only) each sample's object is its class's template turned by a uniformly drawn
one of ``turns`` equally spaced angles. With ``pixel_noise`` the generator's image is the mean of
``p(x|z) = N(G(z), σ²)``, σ learned: real images carry pixel noise, and a generator that cannot draw it hands the
discriminator a tell that no shape can remove (instance noise, Sønderby et al. 2017, with the generator's own σ).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from generative.networks import MIN_SCALE, ConvEncoder, make_decoder, uniform_turns, with_turn


def dcgan_init(module: nn.Module) -> None:
    """Radford et al.'s initialisation: conv and linear weights ``N(0, 0.02)``, batch-norm scales ``N(1, 0.02)``."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Discriminator(nn.Module):
    """Image ``[B, C, S, S]`` → real/fake logit ``[B]`` and, for AC-GAN, class logits ``[B, num_classes]``;
    with ``twin``, also the twin classifier's class logits ``[B, num_classes]`` (``None`` without)."""

    def __init__(self, in_channels: int, image_size: int, channels: tuple[int, ...], num_classes: int = 0,
                 twin: bool = False) -> None:
        super().__init__()
        if twin and not num_classes:
            raise ValueError("the twin classifier learns classes: use it in a conditional GAN")
        self.body = ConvEncoder(in_channels, image_size, channels, batch_norm=True)
        self.source = nn.Linear(self.body.features_dim, 1)  # "S": real or generated
        self.classes = nn.Linear(self.body.features_dim, num_classes) if num_classes else None  # "C"
        self.twin = nn.Linear(self.body.features_dim, num_classes) if twin else None  # "C^mi", on generated images
        self.features_dim = self.body.features_dim

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        h = self.body(x)  # [B, features_dim]
        heads = [head(h) if head is not None else None for head in (self.classes, self.twin)]
        return self.source(h).squeeze(1), *heads


class GAN(nn.Module):
    """A generator and its discriminator; class-conditional (AC-GAN) when ``num_classes`` is positive; the
    generator is ``generative.networks.DECODERS[decoder_kind]`` with batch normalisation."""

    def __init__(self, in_channels: int, image_size: int, latent_dim: int, channels: tuple[int, ...],
                 num_classes: int = 0, decoder_kind: str = "conv", turns: int = 0, min_scale: float = MIN_SCALE,
                 twin: bool = False, pixel_noise: bool = False) -> None:
        super().__init__()
        self.latent_dim, self.num_classes, self.turns = latent_dim, num_classes, turns
        self.generator = make_decoder(decoder_kind, latent_dim, in_channels, image_size, channels, batch_norm=True,
                                      condition_dim=num_classes + turns, turns=turns, min_scale=min_scale)
        self.discriminator = Discriminator(in_channels, image_size, channels, num_classes, twin)
        self.apply(dcgan_init)
        self.log_noise = nn.Parameter(torch.tensor(-3.0)) if pixel_noise else None  # log σ, σ ≈ 0.05 at first

    def generate(self, z: torch.Tensor, y: torch.Tensor | None = None, turn: torch.Tensor | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """``G(z[, c][, k])``: ``[B, latent_dim]`` → ``[B, C, S, S]``, in ``[0, 1]`` before its pixel noise (drawn
        from ``generator``); ``turn`` ``[B]`` when the generator has turns."""
        if not self.num_classes:
            image = self.generator(z)
        elif y is None:
            raise ValueError("an AC-GAN generator needs the class labels y")
        else:
            condition = F.one_hot(y, self.num_classes).to(z.dtype)  # c beside z, and at every stage
            image = self.generator(z, with_turn(condition, turn, self.turns))
        if self.log_noise is None:
            return image
        return image + self.log_noise.exp() * torch.randn(image.shape, generator=generator)  # x = G(z) + σ ε

    def generator_parameters(self) -> list[nn.Parameter]:
        """What the generator's optimiser trains: the generator's weights and, with pixel noise, its log σ."""
        return [*self.generator.parameters(), *([self.log_noise] if self.log_noise is not None else [])]

    def prior_turns(self, num: int, generator: torch.Generator | None = None) -> torch.Tensor | None:
        """``num`` turns ``[num]`` drawn uniformly (``None`` without turns)."""
        return uniform_turns(self.turns, num, generator)

    @torch.no_grad()
    def sample(self, num: int, y: torch.Tensor | None = None, generator: torch.Generator | None = None
               ) -> torch.Tensor:
        """``num`` images from ``z ~ N(0, I)`` (of class ``y[i]`` when conditional; of a uniform turn)."""
        z = torch.randn(num, self.latent_dim, generator=generator)
        return self.generate(z, y, self.prior_turns(num, generator), generator)
