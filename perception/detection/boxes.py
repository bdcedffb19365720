"""Box geometry: format conversion, intersection over union and per-class non-maximum suppression.

Boxes are ``(x1, y1, x2, y2)`` in pixels unless a name says otherwise (``cxcywh``: centre and size).
Written here rather than taken from torchvision, which this project cannot install.
"""

from __future__ import annotations

import torch


def xyxy_to_cxcywh(boxes: torch.Tensor) -> torch.Tensor:
    """``[..., 4]`` corners → ``[..., 4]`` centre x, centre y, width, height."""
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack(((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1), dim=-1)


def cxcywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    """``[..., 4]`` centre x, centre y, width, height → ``[..., 4]`` corners."""
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), dim=-1)


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """``[..., 4]`` → ``[...]``; degenerate (inverted) boxes count as empty."""
    return (boxes[..., 2] - boxes[..., 0]).clamp(min=0) * (boxes[..., 3] - boxes[..., 1]).clamp(min=0)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise IoU of ``a [N, 4]`` and ``b [M, 4]`` → ``[N, M]``; 0 where both boxes are empty."""
    top_left = torch.maximum(a[:, None, :2], b[None, :, :2])  # [N, M, 2]
    bottom_right = torch.minimum(a[:, None, 2:], b[None, :, 2:])  # [N, M, 2]
    inter = (bottom_right - top_left).clamp(min=0).prod(-1)  # [N, M]
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter  # [N, M]
    return torch.where(union > 0, inter / union.clamp(min=1e-12), torch.zeros_like(inter))


def wh_iou(wh_a: torch.Tensor, wh_b: torch.Tensor) -> torch.Tensor:
    """IoU of sizes ``[N, 2]`` and ``[M, 2]`` as if the boxes shared a centre → ``[N, M]``.

    This is the shape-only similarity that anchor clustering and anchor assignment use: position is
    the cell's job, the anchor only has to match the box's width and height.
    """
    inter = torch.minimum(wh_a[:, None, :], wh_b[None, :, :]).prod(-1)  # [N, M]
    union = wh_a.prod(-1)[:, None] + wh_b.prod(-1)[None, :] - inter  # [N, M]
    return inter / union.clamp(min=1e-12)


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy non-maximum suppression of ``boxes [N, 4]`` → indices kept ``[K]``, highest score first.

    Take the best remaining box, drop every remaining box overlapping it by more than
    ``iou_threshold``, repeat (the outline in the course notes).
    """
    order = scores.argsort(descending=True)  # [N]
    iou = box_iou(boxes, boxes)  # [N, N]
    keep: list[int] = []
    while order.numel() > 0:
        best = int(order[0])
        keep.append(best)
        order = order[1:]
        order = order[iou[best, order] <= iou_threshold]
    return torch.tensor(keep, dtype=torch.long)


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor,
                iou_threshold: float) -> torch.Tensor:
    """Per-class NMS: boxes of different classes never suppress each other → kept indices by score."""
    keep = [torch.nonzero(labels == c).flatten()[nms(boxes[labels == c], scores[labels == c], iou_threshold)]
            for c in labels.unique()]
    if not keep:
        return torch.zeros(0, dtype=torch.long)
    kept = torch.cat(keep)  # [K]
    return kept[scores[kept].argsort(descending=True)]
