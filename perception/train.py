"""Train a perception model on the synthetic shapes for a time budget on CPU.

    python -m perception.train segmentation --minutes 10 --out runs/seg --seed 0
    python -m perception.train detection --minutes 10

``--clock cpu`` makes the segmentation budget count this process's CPU seconds instead of wall seconds,
so a run on a busy shared machine gets the compute it would get alone.

Writes ``model.pt`` (loads with ``torch.load(..., weights_only=True)``) and ``metrics.json`` (held-out
scores on images from seed ``seed + 1``, which training never sees) into ``--out``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from perception.cli import OneLineParser
from perception.data import CLASS_NAMES, ShapesDataset, collate
from perception.loop import check_clock, run_folder_problem, save_run, train_for
from perception.seg_losses import cross_entropy_loss, dice_loss
from perception.seg_metrics import confusion_matrix, iou_per_class, mean_iou
from perception.segmentation import SegmentationConfig, build_segmentation_model

SEGMENTATION_CLASSES = ("background", *CLASS_NAMES)
"""Segmentation class ``k`` is ``SEGMENTATION_CLASSES[k]``."""


@dataclass
class SegmentationTrainConfig:
    model: SegmentationConfig = field(default_factory=SegmentationConfig)
    """Network to train."""
    batch_size: int = 16
    """Images per optimisation step (each step draws fresh ones)."""
    learning_rate: float = 3e-3
    """Peak Adam learning rate, cosine-decayed to 0 over the time budget."""
    dice_weight: float = 1.0
    """Weight of the Dice loss added to cross-entropy."""
    eval_images: int = 500
    """Size of the held-out set scored at the end."""
    threads: int = 1
    """``torch.set_num_threads``; on a busy shared CPU, 2 threads cost 9× the CPU per step of 1 (measured)."""
    clock: str = "wall"
    """What the budget counts: ``wall`` seconds, or this process's ``cpu`` seconds (fair on a busy machine)."""
    log_every_s: float = 30.0
    """Seconds between progress lines."""


@torch.no_grad()
def evaluate_segmentation(model: nn.Module, dataset: ShapesDataset, batch_size: int = 50) -> dict:
    """Dataset-level mIoU and per-class IoU of ``model`` (left in eval mode) on ``dataset``."""
    model.eval()
    num_classes = len(SEGMENTATION_CLASSES)
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    for start in range(0, len(dataset), batch_size):
        stop = min(start + batch_size, len(dataset))
        images, masks, _, _ = collate([dataset[i] for i in range(start, stop)])
        confusion += confusion_matrix(model(images).argmax(1), masks, num_classes)
    ious = iou_per_class(confusion)
    return {
        "mIoU": mean_iou(confusion),
        "mIoU_shapes": float(ious[1:].nanmean()),
        "IoU": dict(zip(SEGMENTATION_CLASSES, ious.tolist(), strict=True)),
        "pixel_accuracy": float(confusion.diagonal().sum() / confusion.sum()),
    }


def train_segmentation(
    minutes: float, out: Path, seed: int = 0, config: SegmentationTrainConfig | None = None
) -> dict:
    """Train for ``minutes`` of ``config.clock`` time; write ``out/model.pt`` and ``out/metrics.json``."""
    config = config or SegmentationTrainConfig()
    check_clock(config.clock)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    torch.set_num_threads(config.threads)
    size = config.model.image_size
    train_set = ShapesDataset(10**9, image_size=size, seed=seed)
    heldout = ShapesDataset(config.eval_images, image_size=size, seed=seed + 1)
    model = build_segmentation_model(config.model)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)

    def step(i: int) -> dict[str, torch.Tensor]:
        first = i * config.batch_size
        images, masks, _, _ = collate([train_set[k] for k in range(first, first + config.batch_size)])
        logits = model(images)  # [B, K, H, W]
        ce, dice = cross_entropy_loss(logits, masks), dice_loss(logits, masks)
        loss = ce + config.dice_weight * dice
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return {"loss": loss, "ce": ce, "dice": dice}

    model.train()
    result = train_for(minutes, step, [optimizer], clock=config.clock, log_every_s=config.log_every_s)
    metrics = evaluate_segmentation(model, heldout)
    metrics.update(steps=result.steps, images_seen=result.steps * config.batch_size,
                   train_seconds=round(result.train_seconds, 1), train_cpu_seconds=round(result.train_cpu_seconds, 1),
                   heldout_seed=seed + 1, heldout_images=config.eval_images, seed=seed, config=asdict(config))
    save_run(out, {"config": asdict(config.model), "state_dict": model.state_dict()}, metrics)
    print(f"held-out mIoU {metrics['mIoU']:.3f} "
          + " ".join(f"{k} {v:.3f}" for k, v in metrics["IoU"].items()) + f" after {result.steps} steps")
    return metrics


def default_run_dir(task: str, seed: int) -> Path:
    """``runs/<YYYYmmdd-HHMMSS>_perception-<task>_s<seed>``: listings sort by start time."""
    return Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}_perception-{task}_s{seed}"


def main(argv: list[str] | None = None) -> dict:
    parser = OneLineParser(prog="python -m perception.train", description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=["segmentation", "detection"])
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget (see --clock)")
    parser.add_argument("--out", type=Path, default=None, help="run folder (default: under runs/)")
    parser.add_argument("--seed", type=int, default=0, help="training images and initialisation")
    parser.add_argument("--arch", choices=["unet", "fcn"], default="unet", help="segmentation network")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall", help="what --minutes counts")
    args = parser.parse_args(argv)
    if args.task == "detection" and (args.arch != "unet" or args.clock != "wall"):
        parser.error("--arch and --clock apply to segmentation only")
    out = args.out or default_run_dir(args.task, args.seed)
    if problem := run_folder_problem(out):
        parser.error(problem)
    print(f"training {args.task} for {args.minutes:g} min into {out}", flush=True)
    if args.task == "detection":
        from perception.detection.train import train_detection  # the detection half is optional here

        return train_detection(args.minutes, out, args.seed)
    config = SegmentationTrainConfig(model=SegmentationConfig(arch=args.arch), clock=args.clock)
    return train_segmentation(args.minutes, out, args.seed, config)


if __name__ == "__main__":
    main()
