"""Benchmark: train the U-Net (or the FCN baseline) on CPU for a time budget, report held-out mIoU.

    python -m benchmarks.segmentation --minutes 10             # the figure quoted in docs
    python -m benchmarks.segmentation --minutes 10 --arch fcn  # the FCN baseline
    python -m benchmarks.segmentation --minutes 10 --clock cpu   # 10 min of one core, however busy

Prints progress, then mIoU and per-class IoU on ``--eval-images`` held-out images (seed + 1, never
trained on), the training steps, and the wall and CPU time of training and of the whole run. A wall
clock budget on a busy shared CPU buys fewer steps; ``--clock cpu`` instead grants 10 minutes of one
core, no more than 10 minutes on two idle cores would give.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from benchmarks import cli
from perception.segmentation import SegmentationConfig
from perception.train import SegmentationTrainConfig, default_run_dir, train_segmentation


def main() -> None:
    defaults, model_defaults = SegmentationTrainConfig(), SegmentationConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="training wall-clock budget")
    parser.add_argument("--seed", type=int, default=0, help="training seed; held-out images use seed + 1")
    parser.add_argument("--arch", choices=["unet", "fcn"], default=model_defaults.arch, help="network")
    parser.add_argument("--base-channels", type=int, default=model_defaults.base_channels, help="first width")
    parser.add_argument("--image-size", type=int, default=model_defaults.image_size, help="image side")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help="images per step")
    parser.add_argument("--lr", type=float, default=defaults.learning_rate, help="peak learning rate")
    parser.add_argument("--eval-images", type=int, default=1000, help="held-out images scored")
    parser.add_argument("--threads", type=int, default=defaults.threads, help="torch threads")
    parser.add_argument("--clock", choices=["wall", "cpu"], default=defaults.clock,
                        help="what --minutes counts: wall seconds or this process's CPU seconds")
    parser.add_argument("--out", type=Path, default=None, help="run folder (default: under runs/)")
    args = parser.parse_args()

    out = args.out or default_run_dir("segmentation", args.seed)
    model = replace(model_defaults, arch=args.arch, base_channels=args.base_channels,
                    image_size=args.image_size)
    config = replace(defaults, model=model, batch_size=args.batch_size, learning_rate=args.lr,
                     eval_images=args.eval_images, threads=args.threads, clock=args.clock)
    start, cpu_start = time.perf_counter(), time.process_time()
    metrics = train_segmentation(args.minutes, out, seed=args.seed, config=config)
    total, total_cpu = time.perf_counter() - start, time.process_time() - cpu_start

    print(f"\n{args.arch} (base {args.base_channels}, {args.image_size}x{args.image_size}), budget "
          f"{args.minutes:g} min of {args.clock} time, seed {args.seed}, {args.threads} thread(s)")
    print(f"held-out mIoU: {metrics['mIoU']:.3f} (shape classes only: {metrics['mIoU_shapes']:.3f}), "
          f"pixel accuracy {metrics['pixel_accuracy']:.3f}, on {metrics['heldout_images']} images "
          f"(seed {metrics['heldout_seed']})")
    for name, iou in metrics["IoU"].items():
        print(f"  IoU {name:10s} {iou:.3f}")
    print(f"training: {metrics['steps']} steps, {metrics['images_seen']} images, "
          f"{metrics['train_seconds']:.0f} s wall, {metrics['train_cpu_seconds']:.0f} s CPU")
    print(f"whole run (training + evaluation): {total:.0f} s wall, {total_cpu:.0f} s CPU; outputs in {out}")


if __name__ == "__main__":
    cli(main)
