"""Image encoders for pixel observations: ``nn.Module``s exposing ``features_dim``.

Each takes a float tensor ``[B, C, H, W]`` already scaled to ``[0, 1]`` and returns ``[B, features_dim]``.
The flatten size is found by one dummy forward pass, so any ``input_hw`` the convolutions accept works.

- ``NatureCNN``: Mnih et al. 2015, "Human-level control through deep reinforcement learning" (Nature).
- ``SmallAtariCNN``: Mnih et al. 2013, "Playing Atari with Deep Reinforcement Learning" (the notes' net).
- ``ImpalaCNN``: Espeholt et al. 2018, "IMPALA", the residual "deep" network of its Figure 3.
"""

from __future__ import annotations

import torch
from torch import nn

from perception.blocks import ResidualBlock


def _fc_head(body: nn.Module, in_channels: int, input_hw: tuple[int, int], features_dim: int) -> nn.Module:
    """Linear → ReLU from ``body``'s flattened output, whose size one dummy forward pass finds."""
    with torch.no_grad():
        flat = body(torch.zeros(1, in_channels, *input_hw)).flatten(1).shape[1]
    return nn.Sequential(nn.Linear(flat, features_dim), nn.ReLU())


class NatureCNN(nn.Module):
    """32 8×8/4 → 64 4×4/2 → 64 3×3/1 → FC ``features_dim``, ReLU after each layer."""

    def __init__(
        self, in_channels: int = 4, input_hw: tuple[int, int] = (84, 84), features_dim: int = 512
    ) -> None:
        super().__init__()
        self.features_dim = features_dim
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, 32, kernel_size=8, stride=4), nn.ReLU(),  # 84 → 20
            nn.Conv2d(32, 64, kernel_size=4, stride=2), nn.ReLU(),  # 20 → 9
            nn.Conv2d(64, 64, kernel_size=3, stride=1), nn.ReLU(),  # 9 → 7
            nn.Flatten(),  # [B, 64·7·7]
        )
        self.fc = _fc_head(self.body, in_channels, input_hw, features_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body(x))  # [B, features_dim]


class SmallAtariCNN(nn.Module):
    """16 8×8/4 → 32 4×4/2 → FC ``features_dim`` (256 in the paper), ReLU after each layer."""

    def __init__(
        self, in_channels: int = 4, input_hw: tuple[int, int] = (84, 84), features_dim: int = 256
    ) -> None:
        super().__init__()
        self.features_dim = features_dim
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, 16, kernel_size=8, stride=4), nn.ReLU(),  # 84 → 20
            nn.Conv2d(16, 32, kernel_size=4, stride=2), nn.ReLU(),  # 20 → 9
            nn.Flatten(),  # [B, 32·9·9]
        )
        self.fc = _fc_head(self.body, in_channels, input_hw, features_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body(x))  # [B, features_dim]


class ImpalaStack(nn.Module):
    """One IMPALA stage: 3×3 conv → 3×3/2 max-pool (halves H, W) → two residual blocks."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.res0 = ResidualBlock(out_channels)
        self.res1 = ResidualBlock(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.conv(x))  # [B, C_out, ceil(H/2), ceil(W/2)]
        return self.res1(self.res0(x))


class ImpalaCNN(nn.Module):
    """Three ``ImpalaStack``s (16, 32, 32 channels) → ReLU → FC ``features_dim`` (256 in the paper)."""

    def __init__(self, in_channels: int = 4, input_hw: tuple[int, int] = (84, 84), features_dim: int = 256,
                 channels: tuple[int, ...] = (16, 32, 32)) -> None:
        super().__init__()
        self.features_dim = features_dim
        stacks: list[nn.Module] = []
        for c_in, c_out in zip((in_channels, *channels[:-1]), channels, strict=True):
            stacks.append(ImpalaStack(c_in, c_out))
        self.body = nn.Sequential(*stacks, nn.ReLU(), nn.Flatten())  # 84 → 42 → 21 → 11; [B, 32·11·11]
        self.fc = _fc_head(self.body, in_channels, input_hw, features_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body(x))  # [B, features_dim]
