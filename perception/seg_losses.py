"""Segmentation losses on logits ``[B, K, H, W]`` and integer targets ``[B, H, W]``.

Cross-entropy scores every pixel alike, so a small class barely moves it; the soft Dice loss
(Milletari et al. 2016, "V-Net", Eq. 1, here averaged over classes) scores each class by overlap,
which balances small shapes against a large background. Training sums the two.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def cross_entropy_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean per-pixel cross-entropy ``-log softmax(logits)[target]``."""
    return F.cross_entropy(logits, target)


def dice_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """``1 - mean_k (2 Σ p_k g_k + eps) / (Σ p_k + Σ g_k + eps)`` with ``p = softmax(logits)``, ``g`` one-hot.

    Sums run over the batch and all pixels; ``eps`` keeps an absent class (both sums 0) at Dice 1.
    """
    probs = torch.softmax(logits, dim=1)  # [B, K, H, W]
    one_hot = F.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2).to(probs.dtype)  # [B, K, H, W]
    dims = (0, 2, 3)
    intersection = (probs * one_hot).sum(dims)  # [K]
    total = probs.sum(dims) + one_hot.sum(dims)  # [K]
    return 1.0 - ((2.0 * intersection + eps) / (total + eps)).mean()


def segmentation_loss(logits: torch.Tensor, target: torch.Tensor, dice_weight: float = 1.0) -> torch.Tensor:
    """Cross-entropy plus ``dice_weight`` × Dice loss."""
    return cross_entropy_loss(logits, target) + dice_weight * dice_loss(logits, target)
