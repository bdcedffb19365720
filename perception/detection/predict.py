"""Load a trained detector and draw its detections next to the ground truth on fresh synthetic images."""

from __future__ import annotations

from pathlib import Path

import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from perception.data import CLASS_NAMES, ShapesDataset, collate
from perception.detection.yolo import YOLO, YoloConfig


def load_detector(weights: Path) -> YOLO:
    """Rebuild the ``YOLO`` saved by ``train_detection`` (config + state dict) in eval mode."""
    checkpoint = torch.load(weights, weights_only=True)
    state = checkpoint["state_dict"]
    model = YOLO(YoloConfig(**checkpoint["config"]), state["anchors"])
    model.load_state_dict(state)
    return model.eval()


def draw_detections(weights: Path, out: Path, seed: int = 123, num_images: int = 8,
                    score_threshold: float = 0.3) -> Path:
    """Save a PNG grid of predictions (red, ``class score``) above ``score_threshold`` and ground truth.

    ``out`` is the PNG path, or a folder that gets ``detections.png``; returns the path written. Uses a
    bare ``Figure`` rather than pyplot, so no GUI backend is ever touched.
    """
    out = Path(out)
    path = out if out.suffix == ".png" else out / "detections.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    model = load_detector(weights)
    dataset = ShapesDataset(num_images, image_size=model.config.image_size, seed=seed)
    images, _, true_boxes, true_labels = collate([dataset[i] for i in range(num_images)])
    detections = model.detect(images, score_threshold=score_threshold)

    columns = min(4, num_images)
    rows = -(-num_images // columns)
    fig = Figure(figsize=(3 * columns, 3 * rows))
    axes = fig.subplots(rows, columns, squeeze=False).flat
    for ax in axes[num_images:]:
        ax.axis("off")
    for ax, image, boxes, labels, found in zip(axes, images, true_boxes, true_labels, detections,
                                               strict=False):
        ax.imshow(image.permute(1, 2, 0).numpy())  # [H, W, 3]
        ax.axis("off")
        for (x1, y1, x2, y2), label in zip(boxes.tolist(), labels.tolist(), strict=True):
            ax.add_patch(Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False, edgecolor="lime",
                                   linestyle="--", linewidth=1.2))
            ax.text(x1 - 0.5, y2 + 0.5, CLASS_NAMES[label], color="black", fontsize=6, va="top",
                    bbox={"facecolor": "lime", "alpha": 0.7, "pad": 1, "edgecolor": "none"})
        for (x1, y1, x2, y2), score, label in zip(found.boxes.tolist(), found.scores.tolist(),
                                                  found.labels.tolist(), strict=True):
            ax.add_patch(Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False, edgecolor="red",
                                   linewidth=1.5))
            ax.text(x1 - 0.5, y1 - 1.5, f"{CLASS_NAMES[label]} {score:.2f}", color="white", fontsize=7,
                    bbox={"facecolor": "red", "alpha": 0.7, "pad": 1, "edgecolor": "none"})
    fig.suptitle("predicted (red: class score) vs ground truth (green, dashed)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path
