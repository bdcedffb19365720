"""PPO's losses as pure functions of a rollout.

Schulman et al. 2017, "Proximal Policy Optimization Algorithms": the clipped surrogate (Eq. 7)
``L^CLIP = E[min(r_t A_t, clip(r_t, 1 − ε, 1 + ε) A_t)]`` with ``r_t = π_θ(a_t|s_t) / π_θold(a_t|s_t)``,
and the combined objective (Eq. 9) ``L = −L^CLIP + c1 L^VF − c2 H``. Advantages are GAE (Schulman et
al. 2016, Eq. 16; ``agentlab.a2c.losses``). The details that decide whether PPO works follow Huang et
al. 2022, "The 37 Implementation Details of Proximal Policy Optimization": advantages standardised
per minibatch (detail 7), the value loss optionally clipped around the rollout's estimate (detail 9),
and the approximate KL ``E[(r − 1) − log r]`` and the clip fraction logged (detail 12).

``rollout_targets`` is the one place a network is evaluated without gradients: once per rollout,
before any update, it fixes π_θold, V_old, the advantages and the λ-returns.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from agentlab.a2c.losses import Batch, entropy, evaluate_rollout, gae_advantages
from agentlab.a2c.networks import ActorCritic
from agentlab.memory import TensorState


class Rollout(NamedTuple):
    """A rollout, time-major ``[T, E]``, with what the old policy said about it."""

    obs: torch.Tensor  # [T, E, ...]
    actions: torch.Tensor  # [T, E] int64
    old_log_probs: torch.Tensor  # [T, E]: log π_θold(a_t|s_t)
    old_values: torch.Tensor  # [T, E]: V_old(s_t)
    advantages: torch.Tensor  # [T, E]: GAE A_t
    returns: torch.Tensor  # [T, E]: λ-returns A_t + V_old(s_t), the value targets
    episode_start: torch.Tensor  # [T, E] bool
    state: TensorState  # [E, ...]: the memory going into obs[0] ({} without memory)

    @property
    def size(self) -> int:
        """What minibatches split: env columns with memory (whole sequences, for BPTT), else single steps."""
        return self.actions.shape[1] if self.state else self.actions.numel()

    def select(self, index: torch.Tensor) -> Rollout:
        """The minibatch at ``index`` ``[M]``: those env columns ``[T, M]`` with their stored states, or without
        memory those steps as one step of ``M`` envs ``[1, M]``."""
        if self.state:
            return Rollout(*(x[:, index] for x in self[:7]), {name: x[index] for name, x in self.state.items()})
        return Rollout(*(x.flatten(0, 1)[index][None] for x in self[:7]), {})


class LossOutput(NamedTuple):
    """The total loss to differentiate and its terms (detached) for logging."""

    loss: torch.Tensor
    policy_loss: torch.Tensor
    value_loss: torch.Tensor
    entropy: torch.Tensor
    approx_kl: torch.Tensor
    clip_fraction: torch.Tensor


def log_prob_of(logits: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """``log π(a|s)`` of the taken actions: ``[N, A], [N] -> [N]``."""
    return F.log_softmax(logits, dim=-1).gather(1, actions.reshape(-1, 1)).squeeze(1)


@torch.no_grad()
def rollout_targets(network: ActorCritic, batch: Batch, gamma: float, gae_lambda: float) -> Rollout:
    """π_θold, V_old, GAE advantages and λ-returns of a time-major batch, from the network that acted."""
    logits, values, bootstrap = evaluate_rollout(network, batch)  # [T, E, A], [T, E], [T, E]: V(s_{t+1})
    advantages = gae_advantages(batch.rewards, values, bootstrap, batch.terminated, batch.truncated, gamma,
                                gae_lambda)  # [T, E]
    log_probs = log_prob_of(logits.flatten(0, 1), batch.actions.flatten()).view_as(values)  # [T, E]
    return Rollout(batch.obs, batch.actions, log_probs, values, advantages, advantages + values,
                   batch.episode_start, batch.state)


def normalize(advantages: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """``(A − mean A) / (std A + ε)`` over the minibatch (unbiased std, as Baselines and SB3)."""
    if advantages.numel() < 2:  # one sample has no spread: centring alone
        return advantages - advantages.mean()
    return (advantages - advantages.mean()) / (advantages.std() + eps)


def clipped_surrogate(log_probs: torch.Tensor, old_log_probs: torch.Tensor, advantages: torch.Tensor,
                      clip_range: float) -> torch.Tensor:
    """``−mean(min(r A, clip(r, 1 − ε, 1 + ε) A))``, Eq. 7 negated to be minimised; ``r = exp(log π − log π_old)``."""
    ratio = torch.exp(log_probs - old_log_probs)  # [N]
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1.0 - clip_range, 1.0 + clip_range) * advantages
    return -torch.min(unclipped, clipped).mean()


def clipped_value_loss(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor,
                       clip: float) -> torch.Tensor:
    """``mean(max((V − R)², (V_old + clip(V − V_old, −c, c) − R)²))``; ``clip`` 0 gives ``mean((V − R)²)``.

    The pessimistic max of the two is OpenAI Baselines' PPO2 (Huang et al. detail 9). The scale is
    Stable-Baselines3's (no ½), so its value coefficients carry over unchanged.
    """
    unclipped = (values - returns).pow(2)  # [N]
    if clip <= 0:
        return unclipped.mean()
    values_clipped = old_values + torch.clamp(values - old_values, -clip, clip)
    return torch.max(unclipped, (values_clipped - returns).pow(2)).mean()


def ppo_loss(network: ActorCritic, minibatch: Rollout, clip_range: float, value_clip: float, value_coef: float,
             entropy_coef: float, normalize_advantage: bool = True) -> LossOutput:
    """``L = L_π + c1 L_V − c2 H`` on one minibatch (Eq. 9 negated), with the approximate KL and clip fraction.

    With memory the minibatch is whole env sequences, unrolled from their stored state (BPTT)."""
    logits, values, _, _ = network.unroll(minibatch.obs, minibatch.state, minibatch.episode_start)
    logits, values = logits.flatten(0, 1), values.flatten()  # [M, A], [M]
    log_probs = log_prob_of(logits, minibatch.actions.flatten())  # [M]
    advantages = minibatch.advantages.flatten()
    advantages = normalize(advantages) if normalize_advantage else advantages
    old_log_probs = minibatch.old_log_probs.flatten()
    pi_loss = clipped_surrogate(log_probs, old_log_probs, advantages, clip_range)
    v_loss = clipped_value_loss(values, minibatch.old_values.flatten(), minibatch.returns.flatten(), value_clip)
    ent = entropy(logits).mean()
    loss = pi_loss + value_coef * v_loss - entropy_coef * ent
    with torch.no_grad():
        log_ratio = log_probs - old_log_probs  # [M]
        approx_kl = (torch.expm1(log_ratio) - log_ratio).mean()  # Schulman's k3 estimator of KL(π_old ‖ π)
        clip_fraction = ((log_ratio.exp() - 1.0).abs() > clip_range).float().mean()
    return LossOutput(loss, pi_loss.detach(), v_loss.detach(), ent.detach(), approx_kl, clip_fraction)
