"""Train the YOLO-style detector on synthetic shapes for a wall-clock budget, then score held-out mAP@0.5.

Every step draws a fresh batch (items are a pure function of ``(seed, index)``), so there is no
epoch and no over-fitting to a fixed set; the held-out set uses ``seed + 1``. Anchors come from
k-means (``1 − IoU``) on the sizes of the first ``anchor_images`` training boxes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from perception.data import CLASS_NAMES, ShapesDataset, collate
from perception.detection.anchors import kmeans_anchors, mean_best_iou
from perception.detection.loss import build_targets, yolo_loss
from perception.detection.metrics import mean_average_precision
from perception.detection.yolo import YOLO, YoloConfig
from perception.loop import save_run, train_for, warmup_cosine


@dataclass
class DetectionTrainConfig:
    model: YoloConfig = field(default_factory=YoloConfig)
    """Detector architecture."""
    batch_size: int = 16
    """Images per optimisation step (16 beat 32 at equal CPU time: more updates)."""
    learning_rate: float = 1e-2
    """Peak AdamW learning rate, reached after ``warmup_steps`` and cosine-decayed over the time budget."""
    warmup_steps: int = 100
    """Linear learning-rate warm-up, in steps."""
    weight_decay: float = 5e-4
    """AdamW decoupled weight decay."""
    lambda_coord: float = 5.0
    """Weight of the localisation terms (YOLO's λ_coord)."""
    lambda_noobj: float = 0.5
    """Weight of the no-object confidence terms (YOLO's λ_noobj)."""
    anchor_images: int = 2000
    """Training images whose boxes k-means clusters into anchors."""
    eval_images: int = 500
    """Size of the held-out set scored at the end."""
    threads: int = 1
    """``torch.set_num_threads``; 1 because on a CPU shared with other jobs 2 threads ran ~10× slower."""
    log_every_s: float = 30.0
    """Seconds between progress lines."""


def box_sizes(dataset: ShapesDataset, num_images: int) -> torch.Tensor:
    """Widths and heights ``[K, 2]`` of every box in ``dataset[:num_images]``: what k-means clusters."""
    boxes = torch.cat([dataset[i][2] for i in range(min(num_images, len(dataset)))])  # [K, 4]
    return boxes[:, 2:] - boxes[:, :2]  # [K, 2]


def evaluate(model: YOLO, dataset: ShapesDataset, batch_size: int = 64) -> dict:
    """Held-out mAP@0.5 and per-class AP of ``model`` (left in eval mode) on ``dataset``."""
    model.eval()
    detections, truth = [], []
    for start in range(0, len(dataset), batch_size):
        stop = min(start + batch_size, len(dataset))
        images, _, boxes, labels = collate([dataset[i] for i in range(start, stop)])
        detections += [tuple(d) for d in model.detect(images)]
        truth += list(zip(boxes, labels, strict=True))
    mean_ap, per_class = mean_average_precision(detections, truth, model.config.num_classes)
    return {"mAP@0.5": mean_ap, "AP@0.5": dict(zip(CLASS_NAMES, per_class, strict=True))}


def train_detection(minutes: float, out: Path, seed: int = 0,
                    config: DetectionTrainConfig | None = None) -> dict:
    """Train for ``minutes`` of wall clock on CPU; write ``out/model.pt`` and ``out/metrics.json``.

    ``model.pt`` holds only plain types and tensors (``config`` and ``state_dict``, whose ``anchors``
    buffer carries the k-means priors), so it loads with ``torch.load(..., weights_only=True)``.
    Returns the metrics written.
    """
    config = config or DetectionTrainConfig()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    torch.set_num_threads(config.threads)
    model_config = config.model
    train_set = ShapesDataset(10**9, image_size=model_config.image_size, seed=seed)
    heldout = ShapesDataset(config.eval_images, image_size=model_config.image_size, seed=seed + 1)

    train_wh = box_sizes(train_set, config.anchor_images)  # [K, 2]
    anchors = kmeans_anchors(train_wh, len(model_config.strides) * model_config.anchors_per_scale, seed=seed)
    print(f"anchors (w, h px): {[tuple(round(v, 1) for v in a) for a in anchors.tolist()]}, "
          f"mean best IoU with boxes {mean_best_iou(train_wh, anchors):.3f}")
    model = YOLO(model_config, anchors)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate,
                                  weight_decay=config.weight_decay)

    def step(i: int) -> dict[str, torch.Tensor]:
        first = config.anchor_images + i * config.batch_size  # fresh images every step
        images, _, boxes, labels = collate([train_set[k] for k in range(first, first + config.batch_size)])
        targets = build_targets(boxes, labels, model.anchors, model_config.strides, model_config.image_size)
        loss, terms = yolo_loss(model(images), targets, config.lambda_coord, config.lambda_noobj)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return {"loss": loss, **terms}

    model.train()
    result = train_for(minutes, step, [optimizer], schedule=warmup_cosine(config.warmup_steps),
                       log_every_s=config.log_every_s)
    metrics = evaluate(model, heldout)
    metrics.update(steps=result.steps, images_seen=result.steps * config.batch_size,
                   train_seconds=round(result.train_seconds, 1), heldout_seed=seed + 1,
                   heldout_images=config.eval_images, seed=seed, config=asdict(config))
    save_run(out, {"config": asdict(model_config), "state_dict": model.state_dict()}, metrics)
    print(f"held-out mAP@0.5 {metrics['mAP@0.5']:.3f} "
          + " ".join(f"{k} {v:.3f}" for k, v in metrics["AP@0.5"].items()) + f" after {result.steps} steps")
    return metrics
