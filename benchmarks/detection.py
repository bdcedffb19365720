"""Benchmark: train the YOLO-style detector on CPU for a time budget, report held-out mAP@0.5.

    python benchmarks/detection.py --minutes 10            # the figure quoted in docs
    python benchmarks/detection.py --minutes 10 --fpn      # with the two-level FPN neck

Prints the anchors, progress, mAP@0.5 and per-class AP on 500 held-out images (seed + 1), and the
wall time of training and of the whole run. Numbers depend on how busy the CPU is.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from benchmarks import cli
from perception.detection.train import DetectionTrainConfig, train_detection
from perception.detection.yolo import YoloConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="training wall-clock budget")
    parser.add_argument("--seed", type=int, default=0, help="training seed; held-out images use seed + 1")
    parser.add_argument("--fpn", action="store_true", help="add the FPN neck and a stride-16 level")
    parser.add_argument("--threads", type=int, default=DetectionTrainConfig.threads, help="torch threads")
    parser.add_argument("--out", type=Path, default=None, help="run folder (default under runs/)")
    args = parser.parse_args()

    out = args.out or Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}_bench-detection_s{args.seed}"
    config = replace(DetectionTrainConfig(), model=YoloConfig(fpn=args.fpn), threads=args.threads)
    start = time.perf_counter()
    metrics = train_detection(args.minutes, out, seed=args.seed, config=config)
    total = time.perf_counter() - start

    print(f"\nYOLO{' + FPN' if args.fpn else ''}, budget {args.minutes:g} min, seed {args.seed}, "
          f"{args.threads} thread(s)")
    print(f"held-out mAP@0.5: {metrics['mAP@0.5']:.3f} on {metrics['heldout_images']} images "
          f"(seed {metrics['heldout_seed']})")
    for name, ap in metrics["AP@0.5"].items():
        print(f"  AP@0.5 {name:9s} {ap:.3f}")
    print(f"training: {metrics['steps']} steps, {metrics['images_seen']} images, "
          f"{metrics['train_seconds']:.0f} s wall")
    print(f"whole run (anchors + training + evaluation): {total:.0f} s wall; outputs in {out}")


if __name__ == "__main__":
    cli(main)
