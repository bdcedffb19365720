"""Segmentation metrics from a confusion matrix: per-class IoU and their mean (mIoU).

``IoU_k = TP_k / (TP_k + FP_k + FN_k)`` (Everingham et al. 2010, PASCAL VOC). Accumulate one confusion
matrix over a whole evaluation set, then divide: the dataset-level IoU, not a mean of per-image IoUs.
"""

from __future__ import annotations

import torch


def confusion_matrix(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``[K, K]`` int64 counts; entry ``[t, p]`` counts pixels of true class ``t`` predicted as ``p``."""
    index = target.reshape(-1) * num_classes + pred.reshape(-1)  # [N] in [0, K²)
    return torch.bincount(index, minlength=num_classes**2).reshape(num_classes, num_classes)


def iou_per_class(confusion: torch.Tensor) -> torch.Tensor:
    """``[K]`` float IoU; NaN for a class neither present nor predicted (its IoU is undefined)."""
    tp = confusion.diagonal().double()
    union = confusion.sum(0).double() + confusion.sum(1).double() - tp  # TP + FP + FN
    return torch.where(union > 0, tp / union.clamp(min=1), torch.full_like(tp, float("nan")))


def mean_iou(confusion: torch.Tensor) -> float:
    """Mean of the defined per-class IoUs."""
    return float(iou_per_class(confusion).nanmean())
