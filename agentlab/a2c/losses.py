"""Advantage actor-critic losses as pure functions of a batch.

Mnih et al. 2016, "Asynchronous Methods for Deep Reinforcement Learning" (ICML), Algorithm S3:
n-step returns ``R_t = r_t + γ r_{t+1} + … + γ^k V(s_{t+k})``, the policy gradient
``∇ log π(a_t|s_t) (R_t − V(s_t))``, the value regression ``(R_t − V(s_t))²`` and an entropy bonus
``β H(π(·|s_t))`` (their Eq. 11's β). GAE (Schulman et al. 2016, "High-Dimensional Continuous
Control Using Generalized Advantage Estimation", Eq. 16) is the λ option; λ = 1 is the n-step case.

Every tensor here is time-major ``[T, E]``. An episode can end inside a fragment: on termination
the return stops (no bootstrap); on truncation it is bootstrapped from ``V(final obs)``; at the end
of the fragment it is bootstrapped from ``V(next_obs[T-1])``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from agentlab.a2c.networks import ActorCritic
from agentlab.core import Fragment
from agentlab.memory import TensorState, as_tensors


class Batch(NamedTuple):
    """A fragment as tensors, time-major."""

    obs: torch.Tensor  # [T, E, ...]
    actions: torch.Tensor  # [T, E] int64
    rewards: torch.Tensor  # [T, E] float32
    next_obs: torch.Tensor  # [T, E, ...]
    terminated: torch.Tensor  # [T, E] bool
    truncated: torch.Tensor  # [T, E] bool
    episode_start: torch.Tensor  # [T, E] bool: obs[t] begins an episode (memory restarts)
    state: TensorState  # [E, ...] each: the actors' memory going into obs[0] ({} without memory)

    @staticmethod
    def from_fragment(fragment: Fragment, device: torch.device | str = "cpu") -> Batch:
        return Batch(
            obs=torch.as_tensor(fragment.obs, device=device),
            actions=torch.as_tensor(fragment.actions, device=device).long(),
            rewards=torch.as_tensor(fragment.rewards, device=device).float(),
            next_obs=torch.as_tensor(fragment.next_obs, device=device),
            terminated=torch.as_tensor(fragment.terminated, device=device).bool(),
            truncated=torch.as_tensor(fragment.truncated, device=device).bool(),
            episode_start=torch.as_tensor(fragment.episode_start, device=device).bool(),
            state=as_tensors(fragment.state, device),
        )


class LossOutput(NamedTuple):
    """The total loss to differentiate and its terms (detached) for logging."""

    loss: torch.Tensor
    policy_loss: torch.Tensor
    value_loss: torch.Tensor
    entropy: torch.Tensor


def cut_points(terminated: torch.Tensor, truncated: torch.Tensor) -> torch.Tensor:
    """``[T, E]`` True where the return is not carried from ``t+1``: an episode ended, or the fragment did."""
    cut = terminated | truncated
    cut[-1] = True
    return cut


def next_values(values: torch.Tensor, final_values: torch.Tensor, cut: torch.Tensor) -> torch.Tensor:
    """``V(next_obs[t])``: ``V(obs[t+1])`` inside an episode, ``final_values`` (``V(final obs)``) at cuts."""
    shifted = torch.cat([values[1:], torch.zeros_like(values[:1])])  # [T, E]: V(obs[t+1])
    return torch.where(cut, final_values, shifted)


def n_step_returns(
    rewards: torch.Tensor,
    next_values: torch.Tensor,
    terminated: torch.Tensor,
    truncated: torch.Tensor,
    gamma: float,
) -> torch.Tensor:
    """``R_t = r_t + γ R_{t+1}``; at a cut ``R_{t+1}`` is ``V(next_obs[t])``, and 0 on termination."""
    cut = cut_points(terminated, truncated)
    not_terminal = (~terminated).to(rewards.dtype)
    returns = torch.zeros_like(rewards)
    carried = torch.zeros_like(rewards[0])  # [E]: R_{t+1}
    for t in reversed(range(rewards.shape[0])):
        tail = torch.where(cut[t], next_values[t], carried)
        carried = rewards[t] + gamma * not_terminal[t] * tail
        returns[t] = carried
    return returns


def gae_advantages(
    rewards: torch.Tensor,
    values: torch.Tensor,
    next_values: torch.Tensor,
    terminated: torch.Tensor,
    truncated: torch.Tensor,
    gamma: float,
    lam: float,
) -> torch.Tensor:
    """``A_t = δ_t + γλ A_{t+1}``, ``δ_t = r_t + γ V(s_{t+1}) − V(s_t)``; the trace stops at episode ends."""
    not_terminal = (~terminated).to(rewards.dtype)
    carry = (~(terminated | truncated)).to(rewards.dtype)  # no fragment-end cut needed: A_T is 0
    deltas = rewards + gamma * not_terminal * next_values - values  # [T, E]
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])  # [E]: A_{t+1}
    for t in reversed(range(rewards.shape[0])):
        running = deltas[t] + gamma * lam * carry[t] * running
        advantages[t] = running
    return advantages


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """``H(π) = −Σ_a π(a) log π(a)`` per row: ``[N, A] -> [N]``."""
    log_probs = F.log_softmax(logits, dim=-1)
    return -(log_probs.exp() * log_probs).sum(-1)


def policy_loss(log_probs: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
    """``−mean(log π(a_t|s_t) A_t)``: the advantage is a constant for the policy gradient."""
    return -(log_probs * advantages.detach()).mean()


def value_loss(values: torch.Tensor, returns: torch.Tensor) -> torch.Tensor:
    """``mean((R_t − V(s_t))²)``: the return is a regression target, not differentiated."""
    return (returns.detach() - values).pow(2).mean()


def evaluate_rollout(network: ActorCritic, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Logits ``[T, E, A]``, values ``[T, E]`` and bootstrap values ``V(next_obs[t])`` ``[T, E]`` (detached).

    With memory this is BPTT over the fragment from its stored state. The bootstrap at a truncation or at
    the fragment's end is ``V(final obs)`` from the state carried there; at a termination it is not used."""
    cut = cut_points(batch.terminated, batch.truncated)
    needs_final = cut & ~batch.terminated  # truncations and fragment ends: bootstrap from V(final obs)
    logits, values, _, after = network.unroll(batch.obs, batch.state, batch.episode_start,
                                              keep=bool(batch.state))  # [T, E, A], [T, E]
    final_values = torch.zeros_like(values)
    with torch.no_grad():
        if needs_final.any():
            carried = {name: x[needs_final] for name, x in after.items()}  # the state after obs[t]
            final_values[needs_final] = network.value_after(batch.next_obs[needs_final], carried)
        bootstrap = next_values(values.detach(), final_values, cut)  # [T, E]
    return logits, values, bootstrap


def actor_critic_loss(
    network: ActorCritic,
    batch: Batch,
    gamma: float,
    gae_lambda: float,
    value_coef: float,
    entropy_coef: float,
    normalize_advantage: bool = False,
) -> LossOutput:
    """``L = L_π + c_v L_V − β H``: the one loss A2C's learner and A3C's actors both differentiate."""
    logits, values, bootstrap = evaluate_rollout(network, batch)  # [T, E, A], [T, E], [T, E]
    logits = logits.flatten(0, 1)  # [T·E, A]

    if gae_lambda == 1.0:
        returns = n_step_returns(batch.rewards, bootstrap, batch.terminated, batch.truncated, gamma)
        advantages = returns - values.detach()
    else:
        advantages = gae_advantages(batch.rewards, values.detach(), bootstrap, batch.terminated,
                                    batch.truncated, gamma, gae_lambda)
        returns = advantages + values.detach()  # the λ-return
    if normalize_advantage:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)

    log_probs = F.log_softmax(logits, dim=-1).gather(1, batch.actions.reshape(-1, 1)).squeeze(1)  # [T·E]
    pi_loss = policy_loss(log_probs, advantages.flatten())
    v_loss = value_loss(values, returns)
    ent = entropy(logits).mean()
    loss = pi_loss + value_coef * v_loss - entropy_coef * ent
    return LossOutput(loss, pi_loss.detach(), v_loss.detach(), ent.detach())
