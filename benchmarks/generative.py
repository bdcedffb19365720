"""Every generative model against PCA at the same latent size, the real-versus-real FID, and the ring GAN.

    python -m benchmarks.generative --minutes 2 --clock cpu --figures docs/figures

Trains ae, dae, vae, cvae, gan and cgan one after another (each ``--minutes`` of ``--clock``, one thread) on
the one-shape synthetic images, then a GAN on the 8-Gaussian ring, and prints one table of held-out figures
and the checks the issue asks for. Runs go to ``--out`` (one folder per model); with ``--figures`` each
model's ``samples.png`` is copied to ``generative_<model>.png`` there, with the ring's scatter plot.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch

from benchmarks import cli
from generative.models import KINDS
from generative.ring import RingConfig, draw, train_ring_gan
from generative.train import config_for, train

COLUMNS = ("recon_mse", "pca_recon_mse", "denoise_mse", "pca_denoise_mse", "elbo", "fid", "pca_fid", "real_fid",
           "class_acc", "steps", "train_cpu_seconds")


def checks(results: dict[str, dict], ring: dict) -> list[tuple[str, bool]]:
    """The issue's claims, each with whether this run shows it."""
    out = []
    for kind in ("ae", "vae", "cvae"):
        m = results.get(kind)
        if m:
            out.append((f"{kind} recon_mse {m['recon_mse']:.4f} < PCA's {m['pca_recon_mse']:.4f}",
                        m["recon_mse"] < m["pca_recon_mse"]))
    if "dae" in results:
        m = results["dae"]
        out.append((f"dae denoise_mse {m['denoise_mse']:.4f} < PCA's from the same masked images "
                    f"{m['pca_denoise_mse']:.4f}", m["denoise_mse"] < m["pca_denoise_mse"]))
    for kind in ("cvae", "cgan"):
        if kind in results:
            out.append((f"{kind} class_acc {results[kind]['class_acc']:.3f} >= 0.90",
                        results[kind]["class_acc"] >= 0.90))
    if "gan" in results:
        m = results["gan"]
        out.append((f"gan fid {m['fid']:.1f} closer to real-vs-real {m['real_fid']:.1f} than PCA samples' "
                    f"{m['pca_fid']:.1f}", abs(m["fid"] - m["real_fid"]) < abs(m["pca_fid"] - m["real_fid"])))
    out.append((f"ring GAN covers {ring['modes_covered']}/{ring['modes']} modes", ring["modes_covered"] == 8))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.generative", description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=2.0, help="budget per model (see --clock)")
    parser.add_argument("--ring-minutes", type=float, default=1.75, help="budget of the ring GAN")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="cpu")
    parser.add_argument("--models", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--channels", type=int, nargs="+", default=None,
                        help="filters per stage (default: each model's, generative.train.KIND_DEFAULTS)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/bench-generative"))
    parser.add_argument("--figures", type=Path, default=None, help="folder for generative_<model>.png")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    results = {}
    for kind in args.models:
        config = config_for(kind, clock=args.clock, threads=1,
                            **({"channels": tuple(args.channels)} if args.channels else {}))
        results[kind] = train(args.minutes, args.out / kind, args.seed, config)
        if args.figures:
            args.figures.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(args.out / kind / "samples.png", args.figures / f"generative_{kind}.png")
    ring_config = RingConfig()
    _, ring = train_ring_gan(args.ring_minutes, args.seed, ring_config, args.clock)
    points = ring.pop("points")
    if args.figures:
        draw(points, ring_config, args.figures / "generative_ring.png",
             f"GAN on 8 Gaussians: {ring['modes_covered']}/8 modes, high quality {ring['high_quality']:.2f}")

    print(f"\n{args.minutes:g} {args.clock} min per model, seed {args.seed}, 1 thread; held-out images of seed "
          f"{args.seed + 1}")
    print("| model | " + " | ".join(COLUMNS) + " |")
    print("|" + " --- |" * (len(COLUMNS) + 1))
    for kind, m in results.items():
        cells = [f"{m[c]:.4g}" if isinstance(m.get(c), float) else str(m.get(c, "")) for c in COLUMNS]
        print(f"| {kind} | " + " | ".join(cells) + " |")
    print(f"\nring GAN: {ring['modes_covered']}/{ring['modes']} modes covered, high quality "
          f"{ring['high_quality']:.3f}, shares {ring['mode_shares']}, {ring['steps']} steps "
          f"in {ring['train_cpu_seconds']} CPU s")
    for claim, ok in checks(results, ring):
        print(f"{'PASS' if ok else 'FAIL'}  {claim}")


if __name__ == "__main__":
    cli(main)
