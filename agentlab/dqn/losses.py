"""DQN-family losses: pure functions of a batch, returning ``(loss, extras)``.

- TD loss: Mnih et al. 2015 (Nature DQN, eq. 2 / Methods: error clipping = Huber with δ = 1),
  Double Q target from van Hasselt et al. 2016 (eq. 4).
- Categorical loss: Bellemare et al. 2017 (C51, Algorithm 1), multi-step and double as in
  Hessel et al. 2018 (Rainbow, eq. 3 and Sec. 3 "Double Q-learning").

The replay supplies ``discount_t`` already as γ^k (or 0 when the episode terminated within the k steps),
and ``reward_t`` as the k-step discounted sum, so both losses are written for one generic step.
``weights_t`` are prioritized replay's importance-sampling weights (Schaul et al. 2016, Sec. 3.4).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import torch
from torch.nn import functional as F

if TYPE_CHECKING:
    from agentlab.dqn.config import DQNConfig
    from agentlab.dqn.networks import QNetwork
    from agentlab.memory import TensorState


def td_loss(
    q_t: torch.Tensor,
    action_t: torch.Tensor,
    reward_t: torch.Tensor,
    discount_t: torch.Tensor,
    q_next_target: torch.Tensor,
    q_next_select: torch.Tensor,
    weights_t: torch.Tensor | None = None,
    loss: str = "huber",
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """One-step TD loss on ``[B, A]`` Q values.

    ``q_next_select`` picks ``a* = argmax_a q_next_select(s', a)``: the online net for Double DQN, the
    target net itself for DQN (then ``a*`` is the max). The target net evaluates it:
    ``y = r + γ^k q_target(s', a*)``. Extras: ``td_error`` y − q(s, a) and ``priority`` |td_error|.
    """
    q_taken = q_t.gather(1, action_t.long().unsqueeze(1)).squeeze(1)  # [B, A] → [B]
    with torch.no_grad():
        a_star = q_next_select.argmax(dim=1, keepdim=True)  # [B, 1]
        q_next = q_next_target.gather(1, a_star).squeeze(1)  # [B]
        y = reward_t + discount_t * q_next  # [B]
    if loss == "huber":
        per_sample = F.smooth_l1_loss(q_taken, y, reduction="none")  # [B] ½δ² for |δ| ≤ 1, |δ| − ½ beyond
    elif loss == "mse":
        per_sample = F.mse_loss(q_taken, y, reduction="none")  # [B] δ²
    else:
        raise ValueError(f"loss must be 'huber' or 'mse', got '{loss}'")
    if weights_t is not None:
        per_sample = weights_t * per_sample
    td_error = (y - q_taken).detach()
    return per_sample.mean(), {"td_error": td_error, "priority": td_error.abs(), "q_taken": q_taken.detach()}


def value_h(x: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """Pohlen et al. 2018's value rescaling ``h(x) = sign(x)(√(|x| + 1) − 1) + εx``: about x near 0, √|x| far out."""
    return torch.sign(x) * (torch.sqrt(x.abs() + 1.0) - 1.0) + eps * x


def value_h_inverse(y: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """``h⁻¹(y) = sign(y)(((√(1 + 4ε(|y| + 1 + ε)) − 1) / 2ε)² − 1)`` (Pohlen et al. 2018, Prop. A.2)."""
    return torch.sign(y) * (((torch.sqrt(1.0 + 4.0 * eps * (y.abs() + 1.0 + eps)) - 1.0) / (2.0 * eps)) ** 2 - 1.0)


def support_atoms(v_min: float, v_max: float, num_atoms: int, spacing: str) -> torch.Tensor:
    """The C51 support ``[N]`` from ``v_min`` to ``v_max``: evenly spaced (``linear``, Bellemare et al. 2017), or
    evenly spaced in ``h`` (``h``): atoms dense near 0 and sparse far out, so one default support reaches returns
    of any scale, from a sparse goal's 1 to a few hundred."""
    if spacing == "linear":
        return torch.linspace(v_min, v_max, num_atoms)
    ends = value_h(torch.tensor([v_min, v_max], dtype=torch.float64))
    return value_h_inverse(torch.linspace(float(ends[0]), float(ends[1]), num_atoms, dtype=torch.float64)).float()


def categorical_projection(
    next_probs: torch.Tensor, rewards: torch.Tensor, discounts: torch.Tensor, support: torch.Tensor
) -> torch.Tensor:
    """Project the distribution of ``r + γ^k Z(s', a*)`` onto the fixed support (Bellemare et al. Alg. 1).

    ``next_probs [B, N]`` sits on ``support [N]`` (increasing, v_min … v_max; evenly spaced or not). Each
    shifted atom ``T̂z_j = r + γ^k z_j`` is clipped to [v_min, v_max] and its mass split between its two
    neighbours ``z_l ≤ T̂z_j ≤ z_u`` in proportion to closeness, ``(T̂z_j − z_l) / (z_u − z_l)`` to the upper one,
    which keeps the mean; on an evenly spaced support this is Algorithm 1. Where ``T̂z_j`` lands exactly on an atom
    the whole mass goes there (Algorithm 1 as printed would drop it). No loop over the batch: one ``scatter_add_``.
    """
    num_atoms = support.shape[0]
    tz = rewards.unsqueeze(1) + discounts.unsqueeze(1) * support.unsqueeze(0)  # [B, N] T̂z_j = r + γ^k z_j
    tz = torch.clamp(tz, support[0], support[-1])  # [B, N] clipped to [v_min, v_max]
    upper_idx = torch.searchsorted(support, tz).clamp(1, num_atoms - 1)  # [B, N] u: the first atom ≥ T̂z_j (≥ 1)
    lower_idx = upper_idx - 1  # [B, N] l
    z_lower, z_upper = support[lower_idx], support[upper_idx]
    upper_weight = (tz - z_lower) / (z_upper - z_lower)  # [B, N] share of the upper neighbour; 1 when T̂z_j = z_u
    projected = torch.zeros_like(next_probs)  # [B, N] m
    projected.scatter_add_(1, lower_idx, next_probs * (1.0 - upper_weight))  # m_l += p_j (z_u − T̂z_j) / Δ
    projected.scatter_add_(1, upper_idx, next_probs * upper_weight)  # m_u += p_j (T̂z_j − z_l) / Δ
    return projected


def c51_loss(
    logits_t: torch.Tensor,
    action_t: torch.Tensor,
    reward_t: torch.Tensor,
    discount_t: torch.Tensor,
    next_logits_target: torch.Tensor,
    q_next_select: torch.Tensor,
    support: torch.Tensor,
    weights_t: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Cross-entropy ``−Σ_i m_i log p_i(s, a)`` between the projected target ``m`` and the prediction.

    Rainbow eq. 3 with ``a* = argmax_a q_next_select(s', a)`` (online net: double; target net: C51) and
    ``d'_t = (R_t^(k) + γ^k z, p_target(s', a*))``. The per-sample cross-entropy is the PER priority.
    Logits are ``[B, A, N]``; extras: ``cross_entropy``, ``priority`` (both ``[B]``) and ``q_taken``.
    """
    batch = torch.arange(logits_t.shape[0], device=logits_t.device)
    log_p = logits_t[batch, action_t.long()].log_softmax(dim=-1)  # [B, A, N] → [B, N]
    with torch.no_grad():
        a_star = q_next_select.argmax(dim=1)  # [B]
        next_probs = next_logits_target[batch, a_star].softmax(dim=-1)  # [B, N] p_target(s', a*)
        target = categorical_projection(next_probs, reward_t, discount_t, support)  # [B, N] Φ T̂ Z
    cross_entropy = -(target * log_p).sum(dim=-1)  # [B]
    per_sample = cross_entropy if weights_t is None else weights_t * cross_entropy
    q_taken = (log_p.detach().exp() * support).sum(dim=-1)  # [B]
    extras = {"cross_entropy": cross_entropy.detach(), "priority": cross_entropy.detach(), "q_taken": q_taken}
    return per_sample.mean(), extras


def sequence_n_step(
    rewards: torch.Tensor, terminated: torch.Tensor, mask: torch.Tensor, gamma: float, n: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """n-step targets inside stored sequences ``[B, L]`` (R2D2 with Rainbow's multi-step return).

    Step ``t`` sums ``k = min(n, steps left in the sequence)`` rewards, ``R_t = Σ_{i<k} γ^i r_{t+i}``, and
    bootstraps from observation ``t + k`` (at most the one after the last real step) with ``γ^k``, or not at
    all (discount 0) when that observation ends the episode by termination. A sequence never crosses an
    episode, so a termination can only be its last real step. Returns ``R``, the discount and ``t + k``.
    """
    batch, length = rewards.shape
    real = mask.sum(dim=1, keepdim=True)  # [B, 1] steps before the padding
    t = torch.arange(length, device=rewards.device).unsqueeze(0)  # [1, L]
    k = torch.clamp(torch.minimum(torch.full_like(t, n), real - t), min=0)  # [B, L]
    returns = torch.zeros_like(rewards)
    for i in range(n):
        reward_i = rewards.gather(1, (t + i).clamp(max=length - 1).expand(batch, -1))  # [B, L] r_{t+i}
        returns = returns + torch.where(i < k, gamma**i * reward_i, torch.zeros_like(reward_i))
    next_index = t + k  # [B, L]
    ends_terminal = terminated.gather(1, (real - 1).clamp(min=0))  # [B, 1]
    discount = torch.where(ends_terminal & (next_index == real), torch.zeros_like(returns),
                           gamma ** k.to(rewards.dtype))
    return returns, discount, next_index


def sequence_priority(errors: torch.Tensor, mask: torch.Tensor, eta: float) -> torch.Tensor:
    """R2D2's priority of each sequence: ``η max_t |δ_t| + (1 − η) mean_t |δ_t|`` over its loss steps ``[B, L]``."""
    errors = errors.abs() * mask
    mean = errors.sum(dim=1) / mask.sum(dim=1).clamp(min=1)
    return eta * errors.max(dim=1).values + (1 - eta) * mean


class SequenceLoss(NamedTuple):
    loss: torch.Tensor
    """The mean (importance-weighted) loss over every loss step of the batch."""
    errors: torch.Tensor
    """``[B, L]`` each step's priority (|δ| or the cross-entropy), 0 off the loss steps."""
    loss_mask: torch.Tensor
    """``[B, L]`` the steps that got a loss: real, and past the burn-in unless the sequence starts its episode."""
    q_taken: torch.Tensor
    """``[N]`` Q of the taken action at each loss step, detached."""
    recomputed: TensorState
    """``[B, ...]`` the online network's state going into step ``burn_in``, recomputed from the stored one."""


def r2d2_loss(online: QNetwork, target: QNetwork, obs: torch.Tensor, starts: torch.Tensor, stored: TensorState,
              action: torch.Tensor, reward: torch.Tensor, terminated: torch.Tensor, mask: torch.Tensor,
              weights: torch.Tensor | None, cfg: DQNConfig) -> SequenceLoss:
    """R2D2's loss (Kapturowski et al. 2019, Sec. 3) on ``B`` sequences of ``L`` steps, ``obs [L + 1, B, ...]``.

    Both networks unroll from the actors' stored state ``stored``. The first ``burn_in`` steps only carry it
    towards the state the current network would have: no loss, and no gradient flows back through them. A
    sequence that starts its episode (``starts[0]``) begins from the true initial state, so all its steps get
    a loss. Targets are n-step inside the sequence (``sequence_n_step``), with double Q and the C51 or TD loss
    as without memory.
    """
    b = cfg.burn_in
    fresh = starts[0]  # [B]
    if b:
        with torch.no_grad():
            out_head, mid = online.unroll(obs[:b], stored, starts[:b])  # [b, B, A, N]
        if fresh.any():  # these learn from their first steps too: unrolled again, with gradient
            rows = {name: x[fresh] for name, x in stored.items()}
            head_fresh, mid_fresh = online.unroll(obs[:b, fresh], rows, starts[:b, fresh])
            out_head, mid = out_head.clone(), {name: x.clone() for name, x in mid.items()}
            out_head[:, fresh] = head_fresh
            for name, x in mid.items():
                x[fresh] = mid_fresh[name]
    else:
        out_head, mid = obs.new_zeros(0), stored
    out_tail, _ = online.unroll(obs[b:], mid, starts[b:])  # [L + 1 − b, B, A, N]
    out = torch.cat([out_head, out_tail]) if b else out_tail  # [L + 1, B, A, N]
    with torch.no_grad():
        target_out, _ = target.unroll(obs, stored, starts)  # [L + 1, B, A, N]
    returns, discount, next_index = sequence_n_step(reward, terminated, mask, cfg.gamma, cfg.n_step)  # [B, L]
    t = torch.arange(mask.shape[1], device=mask.device).unsqueeze(0)  # [1, L]
    loss_mask = mask & ((t >= b) | fresh.unsqueeze(1))  # [B, L]
    rows, cols = loss_mask.nonzero(as_tuple=True)  # [N] the loss steps
    next_cols = next_index[rows, cols]
    out_t, next_select, next_target = out[cols, rows], out.detach()[next_cols, rows], target_out[next_cols, rows]
    q_next_select = online.q_values(next_select if cfg.double else next_target)  # [N, A]
    step_weights = None if weights is None else weights[rows]
    step = (action[rows, cols], returns[rows, cols], discount[rows, cols])
    if cfg.distributional:
        loss, extras = c51_loss(out_t, *step, next_target, q_next_select, online.support, step_weights)
    else:
        loss, extras = td_loss(out_t.squeeze(-1), *step, next_target.squeeze(-1), q_next_select, step_weights,
                               cfg.loss)
    errors = torch.zeros(mask.shape, device=mask.device)
    errors[rows, cols] = extras["priority"]
    return SequenceLoss(loss, errors, loss_mask, extras["q_taken"], {n: x.detach() for n, x in mid.items()})
