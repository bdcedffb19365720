"""Which model a ``ModelConfig`` names, how to build it, and how to load one saved by ``generative.train``.

A weights file is ``{"config": asdict(ModelConfig), "state_dict": ...}``: plain types and tensors, so it
loads with ``torch.load(..., weights_only=True)`` and the model is rebuilt from its config.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import torch
from torch import nn

from generative.autoencoder import Autoencoder
from generative.gan import GAN
from generative.networks import DECODERS, MIN_SCALE, bottleneck_size
from generative.vae import VAE

KINDS = ("ae", "dae", "vae", "cvae", "gan", "cgan")
"""Autoencoder, denoising autoencoder, VAE, conditional VAE, DCGAN, AC-GAN."""

CONDITIONAL = ("cvae", "cgan")
"""The kinds that take a class label."""

WITH_PRIOR = ("vae", "cvae", "gan", "cgan")
"""The kinds with a latent prior ``N(0, I)`` to sample from."""


@dataclass
class ModelConfig:
    kind: str = "vae"
    """One of ``KINDS``."""
    image_size: int = 32
    """Side of the square images; a multiple of ``2 ** len(channels)``."""
    in_channels: int = 3
    """Image channels."""
    latent_dim: int = 16
    """Size of the code ``z`` (the autoencoders' bottleneck, the VAEs' and GANs' noise)."""
    channels: tuple[int, ...] = (32, 64, 128)
    """Filters of each stride-2 stage of the encoder (the decoder mirrors them)."""
    num_classes: int = 3
    """Classes a conditional kind (``cvae``, ``cgan``) takes; unused by the others."""
    decoder: str = "conv"
    """The decoder / generator, one of ``generative.networks.DECODERS``: ``conv`` (DCGAN's) or, for the
    conditional kinds, ``layered`` (the class draws one object's mask, placed by a spatial transformer)."""
    turns: int = 0
    """With the layered decoder: ``K`` equally spaced angles its object's frame may be turned by, a uniform discrete
    latent (the VAE sums it out of the likelihood), the mask one template per class; 0 = none (a 2-number style)."""
    min_scale: float = MIN_SCALE
    """With the layered decoder: the smallest side of the object's frame, a fraction of the image's side."""
    pixel_noise: bool = False
    """GANs only: the generator adds Gaussian pixel noise of a learned σ to its image, as real images carry."""
    twin_classifier: bool = False
    """AC-GAN only: a twin classifier head on the discriminator, learning the class of generated images, whose
    loss the generator maximises (TAC-GAN, Gong et al. 2019); it removes AC-GAN's bias towards easy samples."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown model {self.kind!r}; choose one of {', '.join(KINDS)}")
        if self.decoder not in DECODERS:
            raise ValueError(f"unknown decoder {self.decoder!r}; choose one of {', '.join(DECODERS)}")
        if self.decoder == "layered" and self.kind not in CONDITIONAL:
            raise ValueError(f"the layered decoder draws its object from the class: use it with "
                             f"{' or '.join(CONDITIONAL)}, not {self.kind}")
        if min(self.latent_dim, self.in_channels, self.num_classes) < 1:
            raise ValueError("latent_dim, in_channels and num_classes must each be at least 1")
        if self.turns < 0 or (self.turns and self.decoder != "layered"):
            raise ValueError(f"turns must be 0, or positive with the layered decoder; got {self.turns} "
                             f"with the {self.decoder} decoder")
        if not 0 < self.min_scale < 1:
            raise ValueError(f"min_scale must lie in (0, 1) (the frame's smallest side over the image's), got "
                             f"{self.min_scale}")
        if self.min_scale != MIN_SCALE and self.decoder != "layered":
            raise ValueError(f"min_scale sets the layered decoder's frame; the {self.decoder} decoder has none: "
                             "add --decoder layered or leave it out")
        if self.pixel_noise and self.kind not in ("gan", "cgan"):
            raise ValueError(f"pixel_noise is a GAN generator's, not {self.kind}'s: a VAE's decoder_std is its noise")
        if self.twin_classifier and self.kind != "cgan":
            raise ValueError(f"twin_classifier is a conditional GAN's discriminator head, not {self.kind}'s")
        self.channels = tuple(self.channels)
        bottleneck_size(self.image_size, len(self.channels))  # ValueError unless the image halves cleanly

    @property
    def classes(self) -> int:
        """``num_classes`` for a conditional kind, else 0."""
        return self.num_classes if self.kind in CONDITIONAL else 0


def build_model(config: ModelConfig) -> nn.Module:
    """A freshly initialised model of ``config.kind``."""
    shape = (config.in_channels, config.image_size, config.latent_dim, config.channels)
    if config.kind in ("ae", "dae"):
        return Autoencoder(*shape, decoder_kind=config.decoder)
    if config.kind in ("vae", "cvae"):
        return VAE(*shape, num_classes=config.classes, decoder_kind=config.decoder, turns=config.turns,
                   min_scale=config.min_scale)
    return GAN(*shape, num_classes=config.classes, decoder_kind=config.decoder, turns=config.turns,
               min_scale=config.min_scale, twin=config.twin_classifier, pixel_noise=config.pixel_noise)


def load_model(path: str | Path) -> tuple[nn.Module, ModelConfig]:
    """Rebuild and load the model saved at ``path``, in eval mode; ``ValueError`` saying why it cannot."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no weights file at {path}; pass the model.pt written by python -m generative.train")
    try:
        saved = torch.load(path, weights_only=True)
        known = {f.name for f in fields(ModelConfig)}
        config = ModelConfig(**{k: v for k, v in saved["config"].items() if k in known})
        model = build_model(config)
        model.load_state_dict(saved["state_dict"])
    except Exception as error:  # unpickling, a missing key, a wrong shape: all mean "not our weights file"
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(f"{path} is not a generative weights file ({reason}); retrain with "
                         "python -m generative.train") from error
    return model.eval(), config
