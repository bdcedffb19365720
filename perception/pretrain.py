"""Supervised pretraining of an image encoder: fit encoder + linear classifier to labelled frames, keep the encoder.

Any body with ``features_dim`` that maps ``[B, C, H, W]`` in ``[0, 1]`` to features works (``perception.encoders``).
Frames are uint8 ``[N, H, W, C]`` as environments render them. A label that says *where* something is (the
agent's cell in a gridworld) makes position linearly decodable from the features, which is what a value
function of that world needs; an agent can then train only its heads on the frozen body.

Only the body's ``state_dict`` is saved (``save_encoder``, an atomic write), so it loads into the same
architecture built anywhere, without this module's classifier head.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from perception.saving import save_atomic


@dataclass
class PretrainConfig:
    steps: int = 300
    """Adam steps, each on a fresh random minibatch of the frames."""
    batch_size: int = 64
    """Frames per step."""
    learning_rate: float = 1e-3
    """Adam learning rate."""
    seed: int = 0
    """Seeds the classifier head's initialisation and the minibatch draws."""


class FrameClassifier(nn.Module):
    """``encoder`` → linear: ``[B, C, H, W]`` → ``[B, num_classes]`` logits."""

    def __init__(self, encoder: nn.Module, num_classes: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.features_dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))  # [B, features_dim] → [B, num_classes]


def to_input(frames: np.ndarray) -> torch.Tensor:
    """uint8 ``[N, H, W, C]`` → float ``[N, C, H, W]`` in ``[0, 1]``."""
    return torch.from_numpy(np.ascontiguousarray(frames)).float().div(255.0).permute(0, 3, 1, 2)


def pretrain_classifier(encoder: nn.Module, frames: np.ndarray, labels: np.ndarray, num_classes: int,
                        config: PretrainConfig | None = None) -> FrameClassifier:
    """Train ``encoder`` (in place) under a fresh linear head with cross-entropy on ``(frames, labels)``."""
    config = config or PretrainConfig()
    generator = torch.Generator().manual_seed(config.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = FrameClassifier(encoder, num_classes).train()
    x = to_input(frames)  # [N, C, H, W]
    y = torch.as_tensor(labels, dtype=torch.long)  # [N]
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    for _ in range(config.steps):
        idx = torch.randint(len(x), (config.batch_size,), generator=generator)  # [batch]
        loss = F.cross_entropy(model(x[idx]), y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model.eval()


@torch.no_grad()
def accuracy(model: nn.Module, frames: np.ndarray, labels: np.ndarray, batch_size: int = 256) -> float:
    """Fraction of ``frames`` whose argmax class is the label."""
    correct = 0
    for start in range(0, len(frames), batch_size):
        logits = model(to_input(frames[start : start + batch_size]))  # [b, num_classes]
        correct += int((logits.argmax(1) == torch.as_tensor(labels[start : start + batch_size])).sum())
    return correct / max(len(frames), 1)


def save_encoder(encoder: nn.Module, path: str | Path) -> Path:
    """Write ``encoder.state_dict()`` to ``path`` atomically: a reader never sees a half-written file."""
    return save_atomic(encoder.state_dict(), path)
