"""DreamerV3's losses as pure functions (Hafner et al. 2023, "Mastering Diverse Domains through World Models").

Equation numbers are the paper's (arXiv 2301.04104v2):

- symlog / symexp (eq. 9) squash targets of unknown scale; two-hot targets over bins spaced evenly in symlog
  space (eqs. 10, 11) make reward and value regression a classification.
- the world model's loss (eqs. 3–5): prediction (decoder, reward, continue), dynamics and representation
  KL terms, each KL clipped below at ``free_bits`` nats.
- λ-returns (eq. 7) on imagined trajectories, weighted by the predicted continue; the critic's two-hot loss
  towards them plus a pull towards its slow EMA copy (eq. 8 and Sec. 3); the actor's REINFORCE loss with
  returns normalised by their 5th–95th percentile range and an entropy bonus (eq. 6).

Tensors are time-major: ``[T, B, ...]``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch.nn import functional as F


def symlog(x: torch.Tensor) -> torch.Tensor:
    """Eq. 9: ``sign(x) ln(|x| + 1)``."""
    return torch.sign(x) * torch.log1p(x.abs())


def symexp(x: torch.Tensor) -> torch.Tensor:
    """Eq. 9's inverse: ``sign(x) (exp(|x|) − 1)``."""
    return torch.sign(x) * torch.expm1(x.abs())


def twohot(x: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """Eq. 11: ``x [...]`` as weights ``[..., K]`` on its two nearest ``bins`` (sorted ``[K]``), summing to 1,
    whose mean is ``x`` (clamped to ``[bins[0], bins[-1]]``)."""
    x = x.clamp(bins[0], bins[-1])
    above = torch.searchsorted(bins, x.contiguous(), right=True).clamp(1, len(bins) - 1)  # [...] index of b_{k+1}
    below = above - 1
    low, high = bins[below], bins[above]
    w_high = (x - low) / (high - low)  # [...] in [0, 1]
    return (F.one_hot(below, len(bins)) * (1 - w_high)[..., None]
            + F.one_hot(above, len(bins)) * w_high[..., None])  # [..., K]


def twohot_mean(logits: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """The prediction of a two-hot head ``[..., K]``: ``symexp(Σ_k softmax(logits)_k b_k)`` (bins in symlog space)."""
    return symexp((logits.softmax(-1) * bins).sum(-1))


def twohot_loss(logits: torch.Tensor, target: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """Eq. 10: the cross-entropy ``−twohot(symlog(y))ᵀ log softmax(logits)`` per element, ``[...]``."""
    return -(twohot(symlog(target), bins) * logits.log_softmax(-1)).sum(-1)


def unimix(logits: torch.Tensor, mix: float) -> torch.Tensor:
    """Sec. 3: log-probabilities of ``(1 − mix) softmax(logits) + mix / K``, so no class is ever impossible."""
    probs = logits.softmax(-1)
    return torch.log((1 - mix) * probs + mix / logits.shape[-1])


def categorical_kl(logits_p: torch.Tensor, logits_q: torch.Tensor) -> torch.Tensor:
    """``KL(p ‖ q)`` of ``[..., S, K]`` independent categoricals (log-probability logits), summed over ``S``."""
    log_p, log_q = logits_p.log_softmax(-1), logits_q.log_softmax(-1)
    return (log_p.exp() * (log_p - log_q)).sum((-2, -1))


def kl_free_bits(post_logits: torch.Tensor, prior_logits: torch.Tensor, free_bits: float
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Eqs. 4 and 5: ``L_dyn = max(1, KL(sg(post) ‖ prior))`` and ``L_rep = max(1, KL(post ‖ sg(prior)))``,
    ``[...]`` each, with ``free_bits`` nats in place of the 1: below it the gradient is zero."""
    dyn = categorical_kl(post_logits.detach(), prior_logits)
    rep = categorical_kl(post_logits, prior_logits.detach())
    return dyn.clamp(min=free_bits), rep.clamp(min=free_bits)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (x * mask).sum() / mask.sum().clamp(min=1)


class ModelLoss(NamedTuple):
    loss: torch.Tensor
    """The scalar to minimise: ``β_pred L_pred + β_dyn L_dyn + β_rep L_rep`` (eq. 3)."""
    terms: dict[str, torch.Tensor]
    """Each term's mean, detached: decoder, reward, continue, dyn, rep, and the KL itself."""


def world_model_loss(recon: torch.Tensor, obs_target: torch.Tensor, reward_logits: torch.Tensor,
                     reward: torch.Tensor, cont_logits: torch.Tensor, cont: torch.Tensor,
                     post_logits: torch.Tensor, prior_logits: torch.Tensor, mask: torch.Tensor,
                     reward_mask: torch.Tensor, bins: torch.Tensor, free_bits: float, dyn_scale: float,
                     rep_scale: float) -> ModelLoss:
    """Eq. 3 on ``[T, B]`` model states, averaged over the real ones (``mask``).

    ``recon`` and ``obs_target`` ``[T, B, ...]`` are the decoder's output and its target (symlog'd vectors, or
    pixels in [0, 1]): a squared error summed over the observation. The reward (two-hot, eq. 10) is learnt where
    ``reward_mask`` says the reward that led into the state is known; the continue flag by binary cross-entropy.
    """
    decoder = (recon - obs_target).pow(2).flatten(2).sum(-1)  # [T, B]
    reward_nll = twohot_loss(reward_logits, reward, bins)  # [T, B]
    cont_nll = F.binary_cross_entropy_with_logits(cont_logits, cont, reduction="none")  # [T, B]
    dyn, rep = kl_free_bits(post_logits, prior_logits, free_bits)  # [T, B] each
    terms = {"decoder": masked_mean(decoder, mask), "reward": masked_mean(reward_nll, reward_mask),
             "continue": masked_mean(cont_nll, mask), "dyn": masked_mean(dyn, mask), "rep": masked_mean(rep, mask)}
    prediction = terms["decoder"] + terms["reward"] + terms["continue"]  # L_pred, β_pred = 1
    loss = prediction + dyn_scale * terms["dyn"] + rep_scale * terms["rep"]
    with torch.no_grad():
        terms["kl"] = masked_mean(categorical_kl(post_logits, prior_logits), mask)
    return ModelLoss(loss, {name: value.detach() for name, value in terms.items()})


def lambda_returns(reward: torch.Tensor, discount: torch.Tensor, value: torch.Tensor, lam: float) -> torch.Tensor:
    """Eq. 7, backwards over ``H`` imagined steps: ``R_t = r_{t+1} + γ c_{t+1} ((1 − λ) v_{t+1} + λ R_{t+1})``.

    Every input is ``[H, B]`` and about the step's successor state: ``reward[t] = r_{t+1}``, ``discount[t] =
    γ c_{t+1}`` (0 after a predicted termination), ``value[t] = v(s_{t+1})``; the last value bootstraps,
    ``R_H = v(s_H)``. Returns ``R_0 .. R_{H−1}`` ``[H, B]``.
    """
    returns = []
    next_return = value[-1]  # R_H = v_H
    for t in reversed(range(reward.shape[0])):
        next_return = reward[t] + discount[t] * ((1 - lam) * value[t] + lam * next_return)
        returns.append(next_return)
    return torch.stack(returns[::-1])


def trajectory_weights(cont: torch.Tensor, gamma: float) -> torch.Tensor:
    """How much each imagined state ``s_0 .. s_H`` counts ``[H + 1, B]``: ``w_t = γ^t Π_{i≤t} c_i``, the discounted
    probability that the episode is still running there (``cont[0]`` is the start's real flag)."""
    return torch.cumprod(gamma * cont, dim=0) / gamma


def update_return_range(low: torch.Tensor, high: torch.Tensor, returns: torch.Tensor, decay: float
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """Sec. 3's return normalisation: EMAs (``decay``) of the returns' 5th and 95th percentiles."""
    flat = returns.detach().flatten().float()
    quantiles = torch.quantile(flat, torch.tensor([0.05, 0.95], device=flat.device))
    return decay * low + (1 - decay) * quantiles[0], decay * high + (1 - decay) * quantiles[1]


def actor_loss(logits: torch.Tensor, actions: torch.Tensor, returns: torch.Tensor, value: torch.Tensor,
               scale: torch.Tensor, weights: torch.Tensor, entropy_coef: float
               ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Eq. 6 with REINFORCE for discrete actions, on ``H`` imagined steps of ``B`` starts:

    ``L = −Σ_t sg(w_t) [log π(a_t | s_t) sg((R_t − v(s_t)) / max(1, S)) + η H[π(· | s_t)]]``

    ``logits`` ``[H, B, A]`` are the policy's (with unimix), ``actions`` ``[H, B]`` the imagined ones,
    ``returns`` and ``value`` ``[H, B]``, ``scale`` S the percentile range, ``weights`` ``[H, B]``."""
    log_probs = logits.log_softmax(-1)  # [H, B, A]
    log_pi = log_probs.gather(-1, actions.long()[..., None]).squeeze(-1)  # [H, B]
    entropy = -(log_probs.exp() * log_probs).sum(-1)  # [H, B]
    advantage = ((returns - value) / scale.clamp(min=1.0)).detach()  # [H, B]
    objective = log_pi * advantage + entropy_coef * entropy
    loss = -(weights.detach() * objective).mean()
    return loss, {"entropy": entropy.mean().detach(), "advantage": advantage.mean()}


def critic_loss(logits: torch.Tensor, returns: torch.Tensor, slow_value: torch.Tensor, weights: torch.Tensor,
                bins: torch.Tensor, slow_reg: float) -> torch.Tensor:
    """The critic's two-hot loss (eq. 10) towards the λ-returns ``[H, B]``, plus ``slow_reg`` times the same loss
    towards the slow critic's prediction (Sec. 3: a regulariser, not a target network), weighted by ``w_t``."""
    loss = twohot_loss(logits, returns.detach(), bins) + slow_reg * twohot_loss(logits, slow_value.detach(), bins)
    return (weights.detach() * loss).mean()
