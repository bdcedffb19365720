"""Anchor shapes by k-means on box sizes with distance ``1 − IoU``.

Redmon & Farhadi 2017, "YOLO9000: Better, Faster, Stronger", §"Dimension Clusters": Euclidean
k-means on ``(w, h)`` lets big boxes dominate the error, so cluster with ``d(box, centroid) =
1 − IoU(box, centroid)``, both boxes placed at the same centre. The centroids become the priors
``(p_w, p_h)`` that the detector scales by ``e^{t_w}``, ``e^{t_h}``.
"""

from __future__ import annotations

import torch

from perception.detection.boxes import wh_iou


def kmeans_anchors(wh: torch.Tensor, k: int, iterations: int = 100, seed: int = 0) -> torch.Tensor:
    """Cluster box sizes ``wh [N, 2]`` into ``k`` anchors ``[k, 2]``, sorted by area (small first).

    Initialised k-means++-style (each next centre drawn with probability ∝ its distance to the
    nearest chosen one) so well-separated clusters are found from one start; a cluster that
    empties keeps its previous centre.
    """
    if wh.shape[0] < k:
        raise ValueError(f"need at least k={k} boxes to cluster, got {wh.shape[0]}")
    generator = torch.Generator().manual_seed(seed)
    wh = wh.double()
    centres = wh[torch.randint(wh.shape[0], (1,), generator=generator)]  # [1, 2]
    while centres.shape[0] < k:
        distance = (1 - wh_iou(wh, centres)).min(dim=1).values  # [N]
        pick = torch.multinomial(distance + 1e-12, 1, generator=generator)
        centres = torch.cat((centres, wh[pick]))  # [c + 1, 2]
    for _ in range(iterations):
        assignment = (1 - wh_iou(wh, centres)).argmin(dim=1)  # [N] nearest centre
        updated = centres.clone()
        for j in range(k):
            members = wh[assignment == j]
            if members.shape[0] > 0:
                updated[j] = members.mean(dim=0)
        if torch.allclose(updated, centres):
            break
        centres = updated
    return centres[centres.prod(-1).argsort()].float()


def mean_best_iou(wh: torch.Tensor, anchors: torch.Tensor) -> float:
    """Average over boxes of the IoU with their best anchor: the YOLO9000 figure of merit for priors."""
    return float(wh_iou(wh.float(), anchors.float()).max(dim=1).values.mean())
