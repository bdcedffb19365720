"""Losses as pure functions of tensors: the ELBO term by term, and the GAN players' losses.

- ELBO (Kingma & Welling 2014, eq. 10): ``log p(x) ≥ E_q[log p(x|z)] − KL(q(z|x) ‖ p(z))``, with the KL of a
  diagonal Gaussian from the standard normal in closed form (their Appendix B) and a Gaussian decoder of fixed
  standard deviation ``σ`` (their Appendix C.2 with the variance held fixed). ``β`` scales the KL term
  (Higgins et al. 2017); ``β = 1`` is the ELBO itself. Everything is in nats per image.
- A discrete latent summed out exactly: with ``K`` equally likely turns ``k`` of the object, the decoder is the
  mixture ``p(x|z) = (1/K) Σ_k p(x|z, k)``, so ``log p(x|z) = logsumexp_k log p(x|z, k) − log K``; its gradient
  weighs each turn by its posterior ``p(k|x, z)``, EM's responsibilities (Frey & Jojic 2003).
- GAN (Goodfellow et al. 2014): the discriminator minimises ``−log D(x) − log(1 − D(G(z)))``; the generator
  minimises the non-saturating ``−log D(G(z))`` (their §3) instead of ``log(1 − D(G(z)))``, which saturates
  when D rejects the samples early on. Written on logits: ``−log σ(t) = softplus(−t)``,
  ``−log(1 − σ(t)) = softplus(t)``.
- R1 (Mescheder et al. 2018, eq. 9): ``γ/2 · E‖∇ₓ D(x)‖²`` on real ``x`` added to the discriminator's loss;
  penalising D's slope on the data keeps it from overshooting, so training settles instead of circling.
- AC-GAN (Odena et al. 2017, eq. 2–3): ``L_C``, the log-likelihood of the correct class, which both players
  maximise; here its negative, a cross-entropy.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(μ, diag σ²) ‖ N(0, I))`` per row ``[B]`` = ``−½ Σ_j (1 + log σ_j² − μ_j² − σ_j²)``."""
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def gaussian_log_likelihood(x: torch.Tensor, x_mean: torch.Tensor, std: float) -> torch.Tensor:
    """``log N(x; x_mean, std² I)`` per image ``[B]``, summed over every pixel and channel."""
    squared = ((x - x_mean) / std).pow(2).flatten(1)  # [B, D]
    return -0.5 * squared.sum(dim=1) - squared.shape[1] * (math.log(std) + 0.5 * math.log(2 * math.pi))


def mixture_log_likelihood(x: torch.Tensor, x_means: torch.Tensor, std: float) -> torch.Tensor:
    """``log (1/K) Σ_k N(x; x_means[k], std² I)`` per image ``[B]``, for ``x`` ``[B, ...]`` and ``x_means``
    ``[K, B, ...]``: a Gaussian decoder whose mean depends on a uniform discrete latent, summed out."""
    k = len(x_means)
    each = gaussian_log_likelihood(x.repeat(k, *[1] * (x.dim() - 1)), x_means.flatten(0, 1), std)  # [K · B]
    return torch.logsumexp(each.view(k, -1), dim=0) - math.log(k)  # [B]


def negative_elbo(
    x: torch.Tensor, x_mean: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, std: float, beta: float = 1.0
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The batch mean of ``−log p(x|z) + β KL(q(z|x) ‖ p(z))`` and its terms, each a mean over the batch.

    ``x_mean`` is the decoder's mean for one ``z ~ q(z|x)`` per image (the single-sample estimate of
    Kingma & Welling's SGVB, ``L = 1``); ``[K, B, ...]`` for a decoder with ``K`` equally likely turns, its mean
    under each (``mixture_log_likelihood``). ``terms["elbo"]`` is the ELBO itself (``β = 1``) in nats per image.
    """
    if x_mean.dim() == x.dim() + 1:
        reconstruction = mixture_log_likelihood(x, x_mean, std)  # E_q[log p(x|z)], the turn summed out: [B]
    else:
        reconstruction = gaussian_log_likelihood(x, x_mean, std)  # E_q[log p(x|z)], one sample: [B]
    kl = gaussian_kl(mu, logvar)  # KL(q(z|x) ‖ N(0, I)): [B]
    loss = (-reconstruction + beta * kl).mean()
    return loss, {"recon_nll": -reconstruction.mean(), "kl": kl.mean(), "elbo": (reconstruction - kl).mean()}


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """``E[−log D(x)] + E[−log(1 − D(G(z)))]`` from D's logits on real and generated images."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss ``E[−log D(G(z))]``."""
    return F.softplus(-fake_logits).mean()


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """``E‖∇ₓ D(x)‖²`` over the batch, for ``real`` that requires grad and D's logits on it (differentiable)."""
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)  # [B, ...], as real
    return grad.pow(2).flatten(1).sum(1).mean()


def class_loss(class_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """AC-GAN's ``−L_C = E[−log P(C = c | X)]``: cross-entropy of the auxiliary classifier."""
    return F.cross_entropy(class_logits, labels)
