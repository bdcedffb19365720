"""Training images for the generative models: perception's synthetic shapes, one shape per image.

With ``max_shapes=1`` every image holds exactly one circle, square or triangle, so its label (``CLASS_NAMES``)
is the class the conditional models condition on and the shapes classifier predicts. Items are a pure function
of ``(seed, index)``: a training set and a held-out set are two seeds.
"""

from __future__ import annotations

import torch

from perception.data import CLASS_NAMES, ShapesDataset

NUM_CLASSES = len(CLASS_NAMES)
"""Circle, square, triangle."""


def shape_images(num_images: int, image_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``num_images`` one-shape images ``[N, 3, S, S]`` in ``[0, 1]`` and their labels ``[N]``."""
    dataset = ShapesDataset(num_images, image_size=image_size, max_shapes=1, seed=seed)
    items = [dataset[i] for i in range(num_images)]
    images = torch.stack([image for image, _, _, _ in items])  # [N, 3, S, S]
    labels = torch.stack([label[0] for _, _, _, label in items])  # [N]
    return images, labels
