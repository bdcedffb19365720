"""Fréchet distance on the features of a shapes classifier trained here: the project's FID, nothing downloaded.

Heusel et al. (2017) compare generated and real images by the Fréchet distance between Gaussians fitted to
their features under a fixed classifier (Inception v3 for natural images). The distance between
``N(μ₁, Σ₁)`` and ``N(μ₂, Σ₂)`` is (Dowson & Landau 1982)

    d² = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^½),

computed here with ``Tr (Σ₁ Σ₂)^½ = Σ_i √λ_i(Σ₁^½ Σ₂ Σ₁^½)``, a symmetric eigenproblem. The feature extractor
is ``ShapeClassifier``'s penultimate layer, trained on the one-shape images by the shared loop
(``perception.loop``) and cached atomically, so every run scores against the same features. Its accuracy on
generated images of a requested class is a conditional model's ``class_acc``.

Each training image is first blurred by a Gaussian of random width and given fresh pixel noise of random
strength (``augment``), so that the features describe the shape and its colours rather than the texture of
the data's pixel noise. Trained on the noisy images alone, the classifier put the same images without their
noise at a Fréchet distance of 1,216 from the real ones (real against real: 8.6) and, after a 3×3 blur,
named 57 % of them right: it told "has this exact noise" apart, not shapes, and judged every model whose
samples are the mean of ``p(x|z)`` by that. Trained with ``augment`` (2 CPU min) it names 99.7 % of the real
held-out images right, 99.5 % after the same blur, and puts the noise-free ones at 58 (real against real: 3.8).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from generative.data import NUM_CLASSES, shape_images
from generative.networks import bottleneck_size
from perception.loop import cosine, train_for
from perception.saving import save_atomic


def _sqrt_psd(matrix: torch.Tensor) -> torch.Tensor:
    """Symmetric square root of a symmetric positive semi-definite matrix."""
    eigenvalues, eigenvectors = torch.linalg.eigh(matrix)
    return (eigenvectors * eigenvalues.clamp(min=0).sqrt()) @ eigenvectors.T


def frechet_distance(mu1: torch.Tensor, cov1: torch.Tensor, mu2: torch.Tensor, cov2: torch.Tensor) -> float:
    """``‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^½)`` in float64."""
    mu1, cov1, mu2, cov2 = (t.double() for t in (mu1, cov1, mu2, cov2))
    root1 = _sqrt_psd(cov1)
    middle = root1 @ cov2 @ root1
    trace_sqrt = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    return float((mu1 - mu2).pow(2).sum() + torch.trace(cov1) + torch.trace(cov2) - 2 * trace_sqrt)


def feature_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted (mean, unbiased covariance) to two sets of feature rows."""
    a, b = features_a.double(), features_b.double()
    return frechet_distance(a.mean(0), torch.cov(a.T), b.mean(0), torch.cov(b.T))


@dataclass
class ClassifierConfig:
    image_size: int = 32
    """Side of the images it classifies."""
    channels: tuple[int, ...] = (16, 32, 64)
    """Filters of each conv + pool stage."""
    features_dim: int = 64
    """Width of the penultimate layer, the features the Fréchet distance compares."""
    num_classes: int = NUM_CLASSES
    """Circle, square, triangle."""
    train_images: int = 10000
    """One-shape images (of the training seed) it learns from."""
    max_blur: float = 1.5
    """Training images are blurred by a Gaussian of standard deviation drawn from ``[0, max_blur]`` pixels."""
    max_noise: float = 0.1
    """... then given fresh Gaussian pixel noise of standard deviation drawn from ``[0, max_noise]``."""


class ShapeClassifier(nn.Module):
    """Image ``[B, 3, S, S]`` → features ``[B, features_dim]`` → class logits ``[B, num_classes]``.

    Each image is first standardised per channel (its own mean and spread), which takes away the random
    background colour; then 3×3 convolutions with batch normalisation, ReLU and 2×2 max-pooling, as in VGG
    (Simonyan & Zisserman 2015), keep the few pixels that tell a small circle from a small square.
    """

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        side = bottleneck_size(config.image_size, len(config.channels))
        layers: list[nn.Module] = []
        for c_in, c_out in zip([3, *config.channels[:-1]], config.channels, strict=True):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                       nn.MaxPool2d(2)]
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.to_features = nn.Linear(config.channels[-1] * side * side, config.features_dim)
        self.head = nn.Linear(config.features_dim, config.num_classes)
        self.features_dim = config.features_dim

    def features(self, images: torch.Tensor) -> torch.Tensor:
        mean, spread = images.mean((2, 3), keepdim=True), images.std((2, 3), keepdim=True) + 0.05
        hidden = self.body((images - mean) / spread)  # [B, 3, S, S] -> [B, C * (S / 2^k)^2]
        return torch.relu(self.to_features(hidden))  # [B, features_dim]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))  # [B, num_classes]


@torch.no_grad()
def classify(classifier: ShapeClassifier, images: torch.Tensor, batch_size: int = 500) -> tuple[torch.Tensor, ...]:
    """``(features [N, D], predicted class [N])`` of ``images`` in batches."""
    classifier.eval()
    parts = [classifier.features(images[i:i + batch_size]) for i in range(0, len(images), batch_size)]
    features = torch.cat(parts)  # [N, D]
    return features, classifier.head(features).argmax(1)


def gaussian_blur(images: torch.Tensor, sigma: torch.Tensor, radius: int = 4) -> torch.Tensor:
    """Each image ``[B, C, H, W]`` blurred by a separable Gaussian of its own ``sigma[b]`` (0: unchanged)."""
    b, c, h, w = images.shape
    offsets = torch.arange(-radius, radius + 1, dtype=images.dtype)  # [K]
    kernel = torch.exp(-0.5 * (offsets / sigma.clamp(min=1e-3)[:, None]) ** 2)  # [B, K]
    kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(c, 0)  # [B * C, K], one per channel
    x = F.pad(images.reshape(1, b * c, h, w), (radius,) * 4, mode="replicate")  # [1, B * C, H + 2r, W + 2r]
    x = F.conv2d(x, kernel[:, None, None, :], groups=b * c)  # along rows: [1, B * C, H + 2r, W]
    x = F.conv2d(x, kernel[:, None, :, None], groups=b * c)  # along columns: [1, B * C, H, W]
    return x.view(b, c, h, w)


def augment(images: torch.Tensor, config: ClassifierConfig, generator: torch.Generator) -> torch.Tensor:
    """Blur each image by a random Gaussian, then add fresh pixel noise of random strength (both per image)."""
    num = len(images)
    blurred = gaussian_blur(images, config.max_blur * torch.rand(num, generator=generator))
    noise_std = config.max_noise * torch.rand(num, 1, 1, 1, generator=generator)
    return (blurred + noise_std * torch.randn(images.shape, generator=generator)).clamp(0, 1)


def train_classifier(config: ClassifierConfig, minutes: float, seed: int = 0, clock: str = "wall",
                     batch_size: int = 64) -> tuple[ShapeClassifier, float]:
    """Train on one-shape images of ``seed``; return it and its accuracy on 1,000 images of ``seed + 1``."""
    torch.manual_seed(seed)
    images, labels = shape_images(config.train_images, config.image_size, seed)
    classifier = ShapeClassifier(config)
    optimizer = torch.optim.Adam(classifier.parameters(), lr=2e-3)
    order = torch.Generator().manual_seed(seed)

    def step(i: int) -> dict[str, torch.Tensor]:
        batch = torch.randint(len(images), (batch_size,), generator=order)
        loss = F.cross_entropy(classifier(augment(images[batch], config, order)), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return {"loss": loss}

    classifier.train()
    train_for(minutes, step, [optimizer], clock=clock, schedule=cosine)
    test_images, test_labels = shape_images(1000, config.image_size, seed + 1)
    accuracy = float((classify(classifier, test_images)[1] == test_labels).float().mean())
    return classifier.eval(), accuracy


def load_or_train_classifier(path: str | Path, config: ClassifierConfig, minutes: float, seed: int = 0,
                             clock: str = "wall") -> tuple[ShapeClassifier, float]:
    """The classifier cached at ``path`` if its config and seed match, else a new one, trained and cached atomically."""
    path = Path(path)
    if path.is_file():
        try:
            saved = torch.load(path, weights_only=True)
        except Exception:  # a corrupt or foreign cache file is replaced, not trusted
            saved = {"config": None}
        if saved.get("config") == asdict(config) | {"seed": seed}:
            classifier = ShapeClassifier(config)
            classifier.load_state_dict(saved["state_dict"])
            return classifier.eval(), saved["accuracy"]
    print(f"training the shapes classifier for {minutes:g} {clock} min (cached at {path})", flush=True)
    classifier, accuracy = train_classifier(config, minutes, seed, clock)
    saved = {"config": asdict(config) | {"seed": seed}, "state_dict": classifier.state_dict(), "accuracy": accuracy}
    save_atomic(saved, path)
    print(f"shapes classifier held-out accuracy {accuracy:.3f}", flush=True)
    return classifier, accuracy
