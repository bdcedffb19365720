"""Reusable convolutional blocks.

- ``ResidualBlock``: He et al. 2016, "Deep Residual Learning for Image Recognition", in the
  pre-activation form IMPALA uses (Espeholt et al. 2018): ``x + conv(relu(conv(relu(x))))``.
- ``DepthwiseSeparableConv``: Chollet 2017 (Xception) / Howard et al. 2017 (MobileNets): a per-channel
  ``k×k`` convolution followed by a ``1×1`` pointwise one.
- ``SqueezeExcitation``: Hu et al. 2018, "Squeeze-and-Excitation Networks".
"""

from __future__ import annotations

import torch
from torch import nn


class ResidualBlock(nn.Module):
    """Two 3×3 convolutions with an identity skip; shape-preserving, so blocks can be stacked freely."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv0(torch.relu(x))
        h = self.conv1(torch.relu(h))
        return x + h  # [B, C, H, W]


class DepthwiseSeparableConv(nn.Module):
    """A ``k×k`` convolution factored into depthwise then pointwise parts.

    Costs ``C_in·k² + C_in·C_out`` weights instead of ``C_in·C_out·k²``: why MobileNets are cheap.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 padding: int = 1) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel_size, stride=stride, padding=padding,
                                   groups=in_channels)
        self.pointwise = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.depthwise(x)  # [B, C_in, H', W']
        return self.pointwise(x)  # [B, C_out, H', W']


class SqueezeExcitation(nn.Module):
    """Reweights channels by a gate computed from their global averages (squeeze → excite → scale)."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean(dim=(2, 3))  # squeeze: [B, C]
        g = torch.sigmoid(self.fc2(torch.relu(self.fc1(s))))  # excite: [B, C] in (0, 1)
        return x * g[:, :, None, None]  # scale: [B, C, H, W]
