"""Mean average precision at IoU 0.5, PASCAL VOC style.

Everingham et al. 2010, "The PASCAL Visual Object Classes (VOC) Challenge", §4.2, with the
all-point interpolation VOC adopted from 2010 on: precision is made monotone (each point takes the
best precision at any higher recall) and AP is the exact area under that step curve, summed at every
recall change rather than sampled at 11 points.
"""

from __future__ import annotations

import torch

from perception.detection.boxes import box_iou


def average_precision(recall: torch.Tensor, precision: torch.Tensor) -> float:
    """All-point interpolated AP of a precision/recall curve given in order of decreasing score."""
    r = torch.cat((torch.zeros(1), recall.double(), torch.ones(1)))  # sentinels at recall 0 and 1
    p = torch.cat((torch.zeros(1), precision.double(), torch.zeros(1)))
    p = p.flip(0).cummax(0).values.flip(0)  # envelope: p(r) = max_{r' ≥ r} p(r')
    changed = torch.nonzero(r[1:] != r[:-1]).flatten()  # where recall steps up
    return float(((r[changed + 1] - r[changed]) * p[changed + 1]).sum())


def class_average_precision(detections: list[tuple[torch.Tensor, torch.Tensor]],
                            ground_truth: list[torch.Tensor], iou_threshold: float = 0.5) -> float:
    """AP for one class: ``detections[i] = (boxes [K, 4], scores [K])``, ``ground_truth[i] = boxes [G, 4]``.

    Detections from all images are ranked by score; each is a true positive if it overlaps a
    not-yet-matched ground truth of its image by ``IoU ≥ iou_threshold`` (greedy on best IoU),
    else a false positive — a duplicate of a matched box counts as false, which is what penalises
    missing NMS. NaN when the class has no ground truth.
    """
    total = sum(int(g.shape[0]) for g in ground_truth)
    if total == 0:
        return float("nan")
    ranked = sorted(((float(s), i, box) for i, (boxes, scores) in enumerate(detections)
                     for box, s in zip(boxes, scores, strict=True)), key=lambda d: -d[0])
    matched = [torch.zeros(g.shape[0], dtype=torch.bool) for g in ground_truth]
    true_positive = torch.zeros(len(ranked))
    for k, (_, i, box) in enumerate(ranked):
        if ground_truth[i].shape[0] == 0:
            continue
        iou = box_iou(box[None], ground_truth[i])[0]  # [G]
        best = int(iou.argmax())
        if iou[best] >= iou_threshold and not matched[i][best]:
            matched[i][best] = True
            true_positive[k] = 1
    tp = true_positive.cumsum(0)  # [D]
    recall = tp / total
    precision = tp / torch.arange(1, len(ranked) + 1)
    return average_precision(recall, precision)


def mean_average_precision(detections: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
                           ground_truth: list[tuple[torch.Tensor, torch.Tensor]], num_classes: int,
                           iou_threshold: float = 0.5) -> tuple[float, list[float]]:
    """mAP over classes that have ground truth, and the per-class APs (NaN for absent classes).

    ``detections[i] = (boxes [K, 4], scores [K], labels [K])`` and ``ground_truth[i] = (boxes [G, 4],
    labels [G])`` for image i.
    """
    per_class = []
    for c in range(num_classes):
        class_detections = [(boxes[labels == c], scores[labels == c]) for boxes, scores, labels in detections]
        class_truth = [boxes[labels == c] for boxes, labels in ground_truth]
        per_class.append(class_average_precision(class_detections, class_truth, iou_threshold))
    present = [ap for ap in per_class if ap == ap]  # drop NaN
    return (sum(present) / len(present) if present else float("nan")), per_class
