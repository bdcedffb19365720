"""Draw samples, or walks through the latent space, from a model saved by ``generative.train``.

    python -m generative.sample runs/gen-vae/model.pt --out vae.png
    python -m generative.sample runs/gen-gan --out gan-walk.png --interpolate

Samples decode ``z ~ N(0, I)``; a conditional model draws a row per class. ``--interpolate`` decodes
``z_t = (1 − t) z₀ + t z₁`` for ``t`` from 0 to 1 along each row (Radford et al. 2016 §6.1): between two
prior draws for the VAEs and GANs (a conditional model keeps the row's class), between the codes of two
held-out images for the autoencoders, which have no prior to sample from.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

from generative.data import shape_images
from generative.grid import save_grid
from generative.models import CONDITIONAL, WITH_PRIOR, ModelConfig, load_model
from perception.cli import OneLineParser


def row_labels(config: ModelConfig, rows: int, columns: int) -> torch.Tensor | None:
    """Class ``r mod C`` for every image of row ``r`` ``[rows · columns]``; ``None`` for an unconditional model."""
    if config.kind not in CONDITIONAL:
        return None
    return (torch.arange(rows) % config.num_classes).repeat_interleave(columns)


@torch.no_grad()
def sample_rows(model: nn.Module, config: ModelConfig, rows: int, columns: int, seed: int) -> torch.Tensor:
    """``[rows, columns, C, S, S]`` samples from the prior."""
    generator = torch.Generator().manual_seed(seed)
    images = model.sample(rows * columns, row_labels(config, rows, columns), generator)
    return images.view(rows, columns, *images.shape[1:])


@torch.no_grad()
def interpolation_rows(model: nn.Module, config: ModelConfig, rows: int, columns: int, seed: int) -> torch.Tensor:
    """``[rows, columns, C, S, S]``: row ``r`` decodes ``columns`` evenly spaced points from ``z₀`` to ``z₁``."""
    t = torch.linspace(0, 1, columns).view(1, columns, 1)  # [1, T, 1]
    y = row_labels(config, rows, columns)
    if config.kind in WITH_PRIOR:
        ends = torch.randn(2, rows, 1, config.latent_dim, generator=torch.Generator().manual_seed(seed))
    else:  # the autoencoders: codes of 2 · rows held-out images
        images, _ = shape_images(2 * rows, config.image_size, seed)
        ends = model.encode(images).view(2, rows, 1, config.latent_dim)
    z = ((1 - t) * ends[0] + t * ends[1]).reshape(rows * columns, config.latent_dim)  # [R · T, latent]
    turn = (torch.arange(rows) % config.turns).repeat_interleave(columns) if config.turns else None  # per row
    if config.kind in ("gan", "cgan"):
        images = model.generate(z, y, turn, torch.Generator().manual_seed(seed))  # its pixel noise, if any
    else:
        images = model.decode(z, y, turn) if config.kind in ("vae", "cvae") else model.decode(z)
    return images.view(rows, columns, *images.shape[1:])


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m generative.sample", description=__doc__.split("\n")[0])
    parser.add_argument("weights", type=Path, help="model.pt written by generative.train, or its run folder")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    parser.add_argument("--interpolate", action="store_true", help="latent walks instead of samples")
    parser.add_argument("--rows", type=int, default=6, help="rows in the picture")
    parser.add_argument("--columns", type=int, default=10, help="images per row")
    parser.add_argument("--seed", type=int, default=1, help="noise (and, for autoencoders, held-out images)")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.columns < 2:
        parser.error("--rows must be at least 1 and --columns at least 2")
    weights = args.weights / "model.pt" if args.weights.is_dir() else args.weights
    try:
        model, config = load_model(weights)
    except ValueError as error:
        parser.error(str(error))
    if config.kind not in WITH_PRIOR and not args.interpolate:
        parser.error(f"{config.kind} has no latent prior to sample from; pass --interpolate to walk between "
                     "the codes of two held-out images, or sample a vae, cvae, gan or cgan")
    draw = interpolation_rows if args.interpolate else sample_rows
    save_grid(draw(model, config, args.rows, args.columns, args.seed), args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
