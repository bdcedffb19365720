"""YOLO training targets and loss.

Redmon et al. 2016, "You Only Look Once", Eq. (3): a sum over cells and boxes, with the
localisation terms weighted by ``λ_coord = 5`` and the confidence of boxes without an object by
``λ_noobj = 0.5`` (most cells are empty; unweighted they would push every confidence to zero).
Following YOLO9000 and YOLOv3 (Redmon & Farhadi 2017, 2018) the box terms live in the anchor
parametrisation — ``σ(t_x), σ(t_y)`` against the centre's offset in its cell and ``t_w, t_h``
against ``log(w / p_w), log(h / p_h)``; the log plays the role of v1's square roots, making an error
on a small box cost more — and the objectness and class terms are binary cross-entropies on
sigmoids. Written out, for a batch of N images::

    L = 1/N Σ_levels Σ_{i,j}
          λ_coord 1ᵒᵇʲ_ij [(σ(t_x) − x̂)² + (σ(t_y) − ŷ)² + (t_w − ŵ)² + (t_h − ĥ)²]   (localisation)
        +         1ᵒᵇʲ_ij BCE(σ(t_o), 1)                                               (object confidence)
        + λ_noobj 1ⁿᵒᵒᵇʲ_ij BCE(σ(t_o), 0)                                             (no-object confidence)
        +         1ᵒᵇʲ_ij Σ_c BCE(σ(t_c), 1[c = ĉ])                                     (classification)

where ``i`` runs over the S×S cells of a level and ``j`` over its B anchors.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch.nn import functional as F

from perception.detection.boxes import wh_iou, xyxy_to_cxcywh


class LevelTargets(NamedTuple):
    """What each ``(image, anchor, row, column)`` slot of one level must predict."""

    has_object: torch.Tensor
    """``[N, B, S, S]`` bool: this anchor in this cell is responsible for a ground-truth box."""
    xy: torch.Tensor
    """``[N, B, S, S, 2]`` centre offset inside the cell, in [0, 1): targets for ``σ(t_x), σ(t_y)``."""
    wh: torch.Tensor
    """``[N, B, S, S, 2]`` ``log(w / p_w), log(h / p_h)``: targets for ``t_w, t_h``."""
    label: torch.Tensor
    """``[N, B, S, S]`` int64 class of the responsible box (0 where there is none)."""


def build_targets(boxes: list[torch.Tensor], labels: list[torch.Tensor], anchors: torch.Tensor,
                  strides: tuple[int, ...], image_size: int) -> list[LevelTargets]:
    """Assign each ground-truth box to one (level, anchor, cell) slot.

    The responsible slot is the cell containing the box centre and, across all levels, the anchor
    whose shape has the highest IoU with the box (YOLOv3's rule; the level follows from the anchor).
    ``boxes[n]`` is ``[K_n, 4]`` xyxy pixels, ``labels[n]`` is ``[K_n]``, ``anchors`` is ``[L, B, 2]``.
    If two boxes claim the same slot the later one wins.
    """
    levels, b, _ = anchors.shape
    n = len(boxes)
    targets = []
    for stride in strides:
        s = image_size // stride
        targets.append(LevelTargets(torch.zeros(n, b, s, s, dtype=torch.bool), torch.zeros(n, b, s, s, 2),
                                    torch.zeros(n, b, s, s, 2), torch.zeros(n, b, s, s, dtype=torch.long)))
    flat_anchors = anchors.reshape(levels * b, 2)  # [L·B, 2]
    for i, (image_boxes, image_labels) in enumerate(zip(boxes, labels, strict=True)):
        if image_boxes.numel() == 0:
            continue
        cxcywh = xyxy_to_cxcywh(image_boxes.float())  # [K, 4]
        best = wh_iou(cxcywh[:, 2:], flat_anchors).argmax(dim=1)  # [K] index into L·B
        for (cx, cy, w, h), label, a in zip(cxcywh.tolist(), image_labels.tolist(), best.tolist(),
                                            strict=True):
            level, anchor = divmod(a, b)
            stride, s = strides[level], image_size // strides[level]
            col, row = min(int(cx // stride), s - 1), min(int(cy // stride), s - 1)
            p_w, p_h = anchors[level, anchor].tolist()
            target = targets[level]
            target.has_object[i, anchor, row, col] = True
            target.xy[i, anchor, row, col] = torch.tensor((cx / stride - col, cy / stride - row))
            target.wh[i, anchor, row, col] = torch.tensor((math.log(w / p_w), math.log(h / p_h)))
            target.label[i, anchor, row, col] = label
    return targets


def yolo_loss(outputs: list[torch.Tensor], targets: list[LevelTargets], lambda_coord: float = 5.0,
              lambda_noobj: float = 0.5) -> tuple[torch.Tensor, dict[str, float]]:
    """The loss above for per-level raw outputs ``[N, B, S, S, 5 + C]``; returns it and its four terms."""
    n = outputs[0].shape[0]
    localisation = object_conf = noobject_conf = classification = outputs[0].new_zeros(())
    for t, target in zip(outputs, targets, strict=True):
        obj, noobj = target.has_object, ~target.has_object  # [N, B, S, S]
        t_obj = t[obj]  # [K, 5 + C] rows of the responsible slots
        # λ_coord terms: (σ(t_x) − x̂)² + (σ(t_y) − ŷ)² + (t_w − ŵ)² + (t_h − ĥ)²
        localisation = localisation + ((torch.sigmoid(t_obj[:, :2]) - target.xy[obj]) ** 2).sum()
        localisation = localisation + ((t_obj[:, 2:4] - target.wh[obj]) ** 2).sum()
        # confidence terms: BCE(σ(t_o), 1) where an object is, BCE(σ(t_o), 0) elsewhere
        object_conf = object_conf + F.binary_cross_entropy_with_logits(
            t_obj[:, 4], torch.ones_like(t_obj[:, 4]), reduction="sum")
        noobject_conf = noobject_conf + F.binary_cross_entropy_with_logits(
            t[..., 4][noobj], torch.zeros_like(t[..., 4][noobj]), reduction="sum")
        # class terms: Σ_c BCE(σ(t_c), one-hot ĉ)
        one_hot = F.one_hot(target.label[obj], t.shape[-1] - 5).float()  # [K, C]
        classification = classification + F.binary_cross_entropy_with_logits(t_obj[:, 5:], one_hot,
                                                                              reduction="sum")
    loss = (lambda_coord * localisation + object_conf + lambda_noobj * noobject_conf + classification) / n
    terms = {"localisation": localisation.item() / n, "object": object_conf.item() / n,
             "no_object": noobject_conf.item() / n, "class": classification.item() / n}
    return loss, terms
