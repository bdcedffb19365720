"""Semantic segmentation networks: per-pixel class logits ``[B, num_classes, H, W]`` from ``[B, C, H, W]``.

- ``UNet``: Ronneberger et al. 2015, "U-Net: Convolutional Networks for Biomedical Image Segmentation".
  Blocks are named after its Figure 1. Unlike the paper, convolutions are padded (output size = input size,
  so no cropping of the skips) and batch-normalised, as most reimplementations do; H and W must be divisible
  by ``2 ** depth``.
- ``FCN``: Long et al. 2015, "Fully Convolutional Networks for Semantic Segmentation", the FCN-8s idea
  at small scale: class scores at strides 8, 4 and 2 fused coarse-to-fine, then upsampled to full size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


class DoubleConv(nn.Module):
    """(3×3 conv → batch norm → ReLU) twice: the blue arrows of the U-Net figure."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)  # [B, C_out, H, W]


class Down(nn.Module):
    """2×2 max-pool then ``DoubleConv``: one step down the contracting path."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.pool = nn.MaxPool2d(2)
        self.conv = DoubleConv(in_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.pool(x))  # [B, C_out, H/2, W/2]


class Up(nn.Module):
    """2×2 transposed conv (halving channels), concatenate the skip, then ``DoubleConv``: one step up."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
        self.conv = DoubleConv(in_channels // 2 + out_channels, out_channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x)  # [B, C_in/2, 2H, 2W]
        x = torch.cat([skip, x], dim=1)  # [B, C_out + C_in/2, 2H, 2W]
        return self.conv(x)  # [B, C_out, 2H, 2W]


class UNet(nn.Module):
    """Contracting path, bottleneck, expanding path with skips, 1×1 head.

    Channels are ``base · 2^level``; the paper's net is ``base=64, depth=4``.
    """

    def __init__(
        self, in_channels: int = 3, num_classes: int = 4, base_channels: int = 16, depth: int = 3
    ) -> None:
        super().__init__()
        widths = [base_channels * 2**level for level in range(depth + 1)]
        self.inc = DoubleConv(in_channels, widths[0])
        self.downs = nn.ModuleList(Down(widths[i], widths[i + 1]) for i in range(depth))
        self.ups = nn.ModuleList(Up(widths[i + 1], widths[i]) for i in reversed(range(depth)))
        self.head = nn.Conv2d(widths[0], num_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.inc(x)  # [B, base, H, W]
        skips = []
        for down in self.downs:
            skips.append(x)
            x = down(x)  # halves H, W; doubles channels
        for up, skip in zip(self.ups, reversed(skips), strict=True):
            x = up(x, skip)  # doubles H, W; halves channels
        return self.head(x)  # [B, num_classes, H, W]


def _upsample(x: torch.Tensor, size: torch.Size) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class FCN(nn.Module):
    """A plain conv backbone down to stride 8, with 1×1 score layers fused through skips (FCN-8s style).

    Unlike U-Net there is no learned decoder: coarse class scores are upsampled bilinearly and summed with
    finer ones, so boundaries are only as sharp as the finest scored stride.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 4, base_channels: int = 16) -> None:
        super().__init__()
        c = base_channels
        self.stage1 = nn.Sequential(DoubleConv(in_channels, c), nn.MaxPool2d(2))  # stride 2
        self.stage2 = nn.Sequential(DoubleConv(c, 2 * c), nn.MaxPool2d(2))  # stride 4
        self.stage3 = nn.Sequential(DoubleConv(2 * c, 4 * c), nn.MaxPool2d(2), DoubleConv(4 * c, 4 * c))  # /8
        self.score2 = nn.Conv2d(c, num_classes, kernel_size=1)
        self.score4 = nn.Conv2d(2 * c, num_classes, kernel_size=1)
        self.score8 = nn.Conv2d(4 * c, num_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        f2 = self.stage1(x)  # [B, c, H/2, W/2]
        f4 = self.stage2(f2)  # [B, 2c, H/4, W/4]
        f8 = self.stage3(f4)  # [B, 4c, H/8, W/8]
        score = self.score8(f8)  # [B, K, H/8, W/8]
        score = _upsample(score, f4.shape[-2:]) + self.score4(f4)  # [B, K, H/4, W/4]
        score = _upsample(score, f2.shape[-2:]) + self.score2(f2)  # [B, K, H/2, W/2]
        return _upsample(score, size)  # [B, K, H, W]


@dataclass
class SegmentationConfig:
    """Which segmentation network to build; saved next to its weights so ``predict`` can rebuild it."""

    arch: str = "unet"
    """``unet`` or ``fcn``."""
    in_channels: int = 3
    """Image channels."""
    num_classes: int = 4
    """Classes including background (synthetic shapes: background, circle, square, triangle)."""
    base_channels: int = 8
    """Channels of the first stage; deeper stages double it (the paper's U-Net: 64)."""
    depth: int = 3
    """U-Net down/up steps (image sides must be divisible by 2**depth); unused by FCN."""
    image_size: int = 64
    """Side of the square training images."""


def build_segmentation_model(config: SegmentationConfig) -> nn.Module:
    """The network ``config`` names."""
    if config.arch == "unet":
        return UNet(config.in_channels, config.num_classes, config.base_channels, config.depth)
    if config.arch == "fcn":
        return FCN(config.in_channels, config.num_classes, config.base_channels)
    raise ValueError(f"unknown segmentation arch {config.arch!r}; choose 'unet' or 'fcn'")
