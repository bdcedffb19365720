"""The convolutional encoder and decoder every model here is built from (DCGAN's layout, Radford et al. 2016).

Each stage halves (encoder) or doubles (decoder) the spatial size with a 4×4 stride-2 convolution, so an
``image_size`` of 32 with three stages gives a 4×4 bottleneck. Both are ``nn.Module``s with
``features_dim``, the protocol agents plug encoders in through:

- ``ConvEncoder``: image ``[B, C, H, W]`` → features ``[B, features_dim]`` (the flattened last stage);
- ``ConvDecoder``: code ``[B, latent_dim]`` → image ``[B, C, H, W]`` in ``[0, 1]``; ``features_dim`` is the
  code size it reads.

Following Radford et al., batch normalisation (when on) skips the encoder's first layer and the decoder's
output layer; the encoder uses leaky ReLU (slope 0.2), the decoder ReLU.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def bottleneck_size(image_size: int, stages: int) -> int:
    """Side of the smallest feature map; ``ValueError`` unless ``image_size`` halves cleanly ``stages`` times."""
    if image_size <= 0 or image_size % 2**stages:
        raise ValueError(f"image_size must be a positive multiple of 2**{stages} = {2**stages}, got {image_size}")
    return image_size // 2**stages


class ConvEncoder(nn.Module):
    """Image → flattened features through stride-2 convolutions with ``channels[k]`` filters at stage ``k``."""

    def __init__(self, in_channels: int, image_size: int, channels: Sequence[int], batch_norm: bool = False) -> None:
        super().__init__()
        side = bottleneck_size(image_size, len(channels))
        layers: list[nn.Module] = []
        for k, (c_in, c_out) in enumerate(zip([in_channels, *channels[:-1]], channels, strict=True)):
            layers.append(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1, bias=not (batch_norm and k > 0)))
            if batch_norm and k > 0:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2))
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.features_dim = channels[-1] * side * side

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images)  # [B, C, H, W] -> [B, features_dim]


class ConvDecoder(nn.Module):
    """Code → image: a linear map to the bottleneck, then stride-2 transposed convolutions and a sigmoid.

    With ``condition_dim`` > 0 the ``condition`` (a class's one-hot) is read beside the code and again, broadcast
    over the map as extra input channels, by every transposed convolution, so that no layer has to carry it
    on for the next.
    """

    def __init__(self, latent_dim: int, out_channels: int, image_size: int, channels: Sequence[int],
                 batch_norm: bool = False, condition_dim: int = 0) -> None:
        super().__init__()
        self.side = bottleneck_size(image_size, len(channels))
        self.features_dim = latent_dim
        self.condition_dim = condition_dim
        self.channels = list(reversed(channels))  # widest first: (128, 64, 32) for encoder channels (32, 64, 128)
        self.project = nn.Linear(latent_dim + condition_dim, self.channels[0] * self.side * self.side,
                                 bias=not batch_norm)
        self.project_norm = nn.BatchNorm1d(self.project.out_features) if batch_norm else nn.Identity()
        stages: list[nn.Module] = []
        for c_in, c_out in zip(self.channels[:-1], self.channels[1:], strict=True):
            layers = [nn.ConvTranspose2d(c_in + condition_dim, c_out, 4, stride=2, padding=1, bias=not batch_norm)]
            stages.append(nn.Sequential(*layers, *([nn.BatchNorm2d(c_out)] if batch_norm else []), nn.ReLU()))
        stages.append(nn.Sequential(nn.ConvTranspose2d(self.channels[-1] + condition_dim, out_channels, 4, stride=2,
                                                       padding=1), nn.Sigmoid()))
        self.stages = nn.ModuleList(stages)

    def _with_condition(self, hidden: torch.Tensor, condition: torch.Tensor | None) -> torch.Tensor:
        if not self.condition_dim:
            return hidden
        b, _, h, w = hidden.shape
        planes = condition[:, :, None, None].expand(b, self.condition_dim, h, w)  # [B, condition_dim, h, w]
        return torch.cat([hidden, planes], dim=1)  # [B, c + condition_dim, h, w]

    def forward(self, code: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        if self.condition_dim:
            if condition is None:
                raise ValueError("this decoder is conditional: pass the condition")
            code = torch.cat([code, condition], dim=1)  # [B, latent + condition_dim]
        hidden = torch.relu(self.project_norm(self.project(code)))  # [B, latent] -> [B, C0 * s * s]
        hidden = hidden.view(-1, self.channels[0], self.side, self.side)  # [B, C0, s, s]
        for stage in self.stages:  # each doubles the side: ... -> [B, out_channels, image_size, image_size]
            hidden = stage(self._with_condition(hidden, condition))
        return hidden
