"""Draw a trained model's predictions on held-out synthetic images into a PNG for a person to look at.

    python -m perception.predict segmentation --weights runs/seg --out seg.png
    python -m perception.predict detection --weights runs/det/model.pt --out det.png

Each row shows an input image, its ground truth and the prediction. Images come from ``--seed`` (default 1,
the held-out seed of a model trained with seed 0).
"""

from __future__ import annotations

from pathlib import Path

import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from torch import nn

from perception.cli import OneLineParser
from perception.data import ShapesDataset, collate
from perception.seg_metrics import confusion_matrix, mean_iou
from perception.segmentation import SegmentationConfig, build_segmentation_model
from perception.train import SEGMENTATION_CLASSES

CLASS_COLOURS = ("#202020", "#e6550d", "#3182bd", "#31a354")
"""Display colour of each segmentation class: background, circle, square, triangle."""


def weights_file(weights: Path) -> Path:
    """``weights`` itself, or ``weights/model.pt`` when it is a run folder."""
    return weights / "model.pt" if weights.is_dir() else weights


def load_segmentation_model(weights: Path) -> tuple[nn.Module, SegmentationConfig]:
    """Rebuild the network saved by ``perception.train`` and load its weights, in eval mode."""
    saved = torch.load(weights_file(weights), weights_only=True)
    config = SegmentationConfig(**saved["config"])
    model = build_segmentation_model(config)
    model.load_state_dict(saved["state_dict"])
    return model.eval(), config


@torch.no_grad()
def draw_segmentation(weights: Path, out: Path, seed: int = 1, num_images: int = 6) -> None:
    """Rows of input | ground truth | prediction (titled with that image's mIoU), saved to ``out``."""
    model, config = load_segmentation_model(weights)
    dataset = ShapesDataset(num_images, image_size=config.image_size, seed=seed)
    images, masks, _, _ = collate([dataset[i] for i in range(num_images)])
    predicted = model(images).argmax(1)  # [N, H, W]
    cmap = ListedColormap(CLASS_COLOURS)
    fig = Figure(figsize=(7.5, 2.5 * num_images))  # no pyplot: needs no display and keeps no global state
    axes = fig.subplots(num_images, 3, squeeze=False)
    for row, (image, mask, pred) in enumerate(zip(images, masks, predicted, strict=True)):
        score = mean_iou(confusion_matrix(pred, mask, len(SEGMENTATION_CLASSES)))
        title = f"prediction, mIoU {score:.2f}"
        panels = [(image.permute(1, 2, 0), "input"), (mask, "ground truth"), (pred, title)]
        for ax, (picture, name) in zip(axes[row], panels, strict=True):
            ax.imshow(picture.numpy(), cmap=cmap, vmin=0, vmax=len(CLASS_COLOURS) - 1, interpolation="none")
            ax.set_title(name, fontsize=9)
            ax.axis("off")
    legend = [Patch(color=c, label=n) for c, n in zip(CLASS_COLOURS, SEGMENTATION_CLASSES, strict=True)]
    fig.legend(handles=legend, loc="lower center", ncol=len(legend), fontsize=9)
    fig.suptitle(f"{config.arch} on held-out shapes (seed {seed})")
    fig.tight_layout(rect=(0, 0.03, 1, 0.98))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)


def main(argv: list[str] | None = None) -> None:
    parser = OneLineParser(prog="python -m perception.predict", description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=["segmentation", "detection"])
    parser.add_argument("--weights", type=Path, required=True, help="run folder or model.pt")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    parser.add_argument("--seed", type=int, default=1, help="seed of the images drawn")
    parser.add_argument("--num-images", type=int, default=6, help="rows in the picture")
    args = parser.parse_args(argv)
    if args.task == "detection":
        from perception.detection.predict import draw_detections  # the detection half is optional here

        draw_detections(weights_file(args.weights), args.out, args.seed, args.num_images)
    else:
        draw_segmentation(args.weights, args.out, args.seed, args.num_images)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
