"""PCA as the linear baseline at the autoencoders' latent size (Pearson 1901; Hotelling 1933).

The top-``k`` principal directions of the centred training images give the best rank-``k`` linear
reconstruction in squared error; a linear autoencoder trained to convergence finds the same subspace
(Baldi & Hornik 1989), so a non-linear autoencoder must beat it to have earned its non-linearity. Samples
draw the ``k`` coordinates from ``N(0, diag λ)`` (the data's variance along each direction) and map them
back: the mean of probabilistic PCA's ``p(x|z)`` (Tipping & Bishop 1999), a blurry baseline for ``fid``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class PCA:
    mean: torch.Tensor
    """Mean of the training rows ``[D]``."""
    components: torch.Tensor
    """Orthonormal principal directions as rows ``[k, D]``, largest variance first."""
    variances: torch.Tensor
    """Variance of the training rows along each direction ``[k]``."""

    @classmethod
    def fit(cls, x: torch.Tensor, k: int) -> PCA:
        """Fit the top ``k`` directions of the rows of ``x`` ``[N, D]`` (images are flattened first)."""
        x = x.flatten(1).double()  # [N, D]
        mean = x.mean(dim=0)
        centred = x - mean
        # An exact thin SVD when it is cheap; otherwise a randomised one (Halko et al. 2011), exact on rank ≤ k.
        if min(centred.shape) <= 1024:
            _, s, vh = torch.linalg.svd(centred, full_matrices=False)
        else:
            _, s, v = torch.svd_lowrank(centred, q=min(k + 10, *centred.shape), niter=6)
            vh = v.T
        return cls(mean.float(), vh[:k].float(), (s[:k] ** 2 / max(len(x) - 1, 1)).float())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return (x.flatten(1) - self.mean) @ self.components.T  # [N, D] -> [N, k]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return z @ self.components + self.mean  # [N, k] -> [N, D]

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Projection of ``x`` onto the principal subspace, in ``x``'s shape."""
        return self.decode(self.encode(x)).view_as(x)

    def sample(self, num: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``num`` rows ``mean + Σ_j z_j w_j`` with ``z_j ~ N(0, λ_j)``: ``[num, D]``."""
        z = torch.randn(num, len(self.variances), generator=generator) * self.variances.sqrt()  # [num, k]
        return self.decode(z)
