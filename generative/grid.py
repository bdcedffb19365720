"""Rows of images as one PNG, written atomically (a temporary file renamed over the target)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from matplotlib.image import imsave


def image_grid(rows: torch.Tensor, pad: int = 2, scale: int = 2) -> np.ndarray:
    """``[R, C, 3, H, W]`` images in ``[0, 1]`` → one ``uint8`` picture ``[R·(sH + p) + p, C·(sW + p) + p, 3]``."""
    r, c, _, h, w = rows.shape
    big = rows.clamp(0, 1).repeat_interleave(scale, dim=3).repeat_interleave(scale, dim=4)  # [R, C, 3, sH, sW]
    canvas = torch.ones(3, r * (scale * h + pad) + pad, c * (scale * w + pad) + pad)
    for i in range(r):
        for j in range(c):
            top, left = pad + i * (scale * h + pad), pad + j * (scale * w + pad)
            canvas[:, top:top + scale * h, left:left + scale * w] = big[i, j]
    return (canvas.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def save_grid(rows: torch.Tensor, path: str | Path) -> Path:
    """Write ``image_grid(rows)`` to ``path`` as a PNG."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            imsave(f, image_grid(rows), format="png")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
