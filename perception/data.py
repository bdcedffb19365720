"""Synthetic shapes: images with per-pixel class masks and boxes, made on the fly for segmentation and
detection.

Every item is a pure function of ``(seed, index)``, so a train set and a held-out set are just two seeds,
and nothing is ever downloaded. Shapes are rasterised with numpy at pixel centres: pixel ``(row j, col i)``
covers ``[i, i+1) × [j, j+1)`` and belongs to a shape when its centre ``(i + 0.5, j + 0.5)`` does.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

CLASS_NAMES = ("circle", "square", "triangle")
"""Detection label ``k`` is ``CLASS_NAMES[k]``; segmentation class ``k + 1`` (0 is background)."""

MIN_VISIBLE = 0.4
"""A new shape is skipped if it would leave any shape with less than this fraction of its pixels visible."""

_PLACEMENT_TRIES = 5
_MIN_CONTRAST = 0.3


def _shape_mask(
    kind: int, cx: float, cy: float, r: float, turn: int, xs: np.ndarray, ys: np.ndarray
) -> np.ndarray:
    """Boolean ``[H, W]`` mask of a circle / square / triangle whose box is ``(cx ± r, cy ± r)``."""
    dx, dy = xs - cx, ys - cy
    if kind == 0:
        return dx**2 + dy**2 <= r**2
    if kind == 1:
        return (np.abs(dx) <= r) & (np.abs(dy) <= r)
    # Triangle: apex at one edge's middle, base along the opposite edge; ``turn`` quarter-turns pick which.
    for _ in range(turn):
        dx, dy = dy, -dx
    return (dy >= -r) & (dy <= r) & (np.abs(dx) <= (dy + r) / 2)


def _colour(rng: np.random.Generator, avoid: list[np.ndarray]) -> np.ndarray:
    """A random RGB colour at least ``_MIN_CONTRAST`` (mean abs difference) from each colour in ``avoid``."""
    while True:
        c = rng.uniform(0.0, 1.0, size=3)
        if all(np.abs(c - a).mean() >= _MIN_CONTRAST for a in avoid):
            return c


class ShapesDataset(Dataset):
    """``num_images`` images of 1..``max_shapes`` circles, squares and triangles on noisy backgrounds.

    Item ``i`` is ``(image, mask, boxes, labels)``: ``image`` float32 ``[3, H, W]`` in ``[0, 1]``; ``mask``
    int64 ``[H, W]`` with 0 = background, 1 = circle, 2 = square, 3 = triangle; ``boxes`` float32 ``[N, 4]``
    as ``(x1, y1, x2, y2)`` pixels, each the full shape's box even where later shapes paint over it;
    ``labels`` int64 ``[N]`` in ``{0, 1, 2}``. Shapes lie wholly inside the image.
    """

    def __init__(self, num_images: int, image_size: int = 64, max_shapes: int = 3, seed: int = 0) -> None:
        self.num_images = num_images
        self.image_size = image_size
        self.max_shapes = max_shapes
        self.seed = seed

    def __len__(self) -> int:
        return self.num_images

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        if not 0 <= index < self.num_images:
            raise IndexError(index)
        image, mask, boxes, labels = self.generate(index)
        return tuple(torch.from_numpy(a) for a in (image, mask, boxes, labels))

    def generate(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The numpy arrays behind item ``index``."""
        rng = np.random.default_rng([self.seed, index])
        size = self.image_size
        ys, xs = np.mgrid[0:size, 0:size] + 0.5  # pixel centres, [H, W] each
        background = rng.uniform(0.0, 1.0, size=3)
        tilt = rng.uniform(-0.15, 0.15, size=(2, 3))  # a gentle linear colour gradient across the image
        image = background + (xs[..., None] / size - 0.5) * tilt[0] + (ys[..., None] / size - 0.5) * tilt[1]

        instance = np.full((size, size), -1, dtype=np.int64)  # which accepted shape owns each pixel
        areas: list[int] = []
        colours: list[np.ndarray] = []
        boxes: list[tuple[float, float, float, float]] = []
        labels: list[int] = []
        for _ in range(int(rng.integers(1, self.max_shapes + 1))):
            kind = int(rng.integers(0, len(CLASS_NAMES)))
            colour = _colour(rng, [background, *colours])
            turn = int(rng.integers(0, 4))
            for _ in range(_PLACEMENT_TRIES):
                r = rng.uniform(0.1, 0.22) * size
                cx, cy = rng.uniform(r, size - r, size=2)
                shape = _shape_mask(kind, cx, cy, r, turn, xs, ys)
                trial = np.where(shape, len(areas), instance)
                visible = np.bincount(trial[trial >= 0], minlength=len(areas) + 1)
                if all(visible[k] >= MIN_VISIBLE * a for k, a in enumerate(areas)):
                    instance = trial
                    areas.append(int(shape.sum()))
                    colours.append(colour)
                    boxes.append((cx - r, cy - r, cx + r, cy + r))
                    labels.append(kind)
                    break

        for k, colour in enumerate(colours):
            image[instance == k] = colour
        image = image + rng.normal(0.0, 0.06, size=image.shape)
        label_of = np.array([*labels, -1], dtype=np.int64)  # index -1 (background) maps to label -1
        mask = label_of[instance] + 1  # [H, W] in {0, 1, 2, 3}
        return (
            np.clip(image, 0.0, 1.0).transpose(2, 0, 1).astype(np.float32),  # [3, H, W]
            mask,
            np.array(boxes, dtype=np.float32).reshape(-1, 4),
            np.array(labels, dtype=np.int64),
        )


def collate(
    batch: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]],
) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """Stack images ``[B, 3, H, W]`` and masks ``[B, H, W]``; keep per-image boxes and labels as lists."""
    images, masks, boxes, labels = zip(*batch, strict=True)
    return torch.stack(images), torch.stack(masks), list(boxes), list(labels)
