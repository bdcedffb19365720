"""Q-networks: an encoder plus a head whose parts are chosen by flags.

- Noisy layers: Fortunato et al. 2018, "Noisy Networks for Exploration" (factorised Gaussian, Sec. 3.2).
- Dueling head: Wang et al. 2016, "Dueling Network Architectures for Deep RL" (eqs. 8 and 9).
- Distributional head: Bellemare et al. 2017, "A Distributional Perspective on RL" (C51).
Rainbow (Hessel et al. 2018) combines them: the dueling streams output atom logits and
``p(s, a) = softmax(v(s) + a(s, a) − mean_a' a(s, a'))`` over atoms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import gymnasium as gym
import torch
from torch import nn
from torch.nn import functional as F

from agentlab.dqn.config import DQNConfig
from agentlab.dqn.losses import support_atoms
from agentlab.encoders import build_encoder
from agentlab.memory import Memory, TensorState, build_memory, encode


class NoisyLinear(nn.Module):
    """``y = (μ_w + σ_w ⊙ ε_w) x + μ_b + σ_b ⊙ ε_b`` with ``ε_w = f(ε_out) f(ε_in)ᵀ``, ``f(x) = sgn(x)√|x|``.

    In training mode the current noise is used; in eval mode only the means (greedy acting).
    ``reset_noise`` draws fresh ε_in, ε_out: p + q normals instead of p·q (factorised noise).
    """

    def __init__(self, in_features: int, out_features: int, sigma0: float = 0.5) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1.0 / math.sqrt(in_features)
        # Sec. 3.2: μ ~ U[−1/√p, 1/√p], σ = σ₀/√p with p = fan-in.
        self.weight_mu = nn.Parameter(torch.empty(out_features, in_features).uniform_(-bound, bound))
        self.weight_sigma = nn.Parameter(torch.full((out_features, in_features), sigma0 * bound))
        self.bias_mu = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))
        self.bias_sigma = nn.Parameter(torch.full((out_features,), sigma0 * bound))
        self.register_buffer("eps_in", torch.zeros(in_features), persistent=False)
        self.register_buffer("eps_out", torch.zeros(out_features), persistent=False)
        self.reset_noise()

    @staticmethod
    def _f(x: torch.Tensor) -> torch.Tensor:
        return x.sign() * x.abs().sqrt()

    def reset_noise(self, generator: torch.Generator | None = None) -> None:
        device = self.eps_in.device
        self.eps_in.copy_(self._f(torch.randn(self.in_features, generator=generator, device=device)))
        self.eps_out.copy_(self._f(torch.randn(self.out_features, generator=generator, device=device)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return F.linear(x, self.weight_mu, self.bias_mu)
        weight = self.weight_mu + self.weight_sigma * torch.outer(self.eps_out, self.eps_in)  # [out, in]
        bias = self.bias_mu + self.bias_sigma * self.eps_out  # [out]
        return F.linear(x, weight, bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


def mlp_stream(in_dim: int, hidden: Sequence[int], out_dim: int, noisy: bool, sigma0: float) -> nn.Sequential:
    """Linear (or noisy) layers with ReLUs between: ``[B, in_dim]`` → ``[B, out_dim]``."""
    layers: list[nn.Module] = []
    for size in (*hidden, out_dim):
        layers.append(NoisyLinear(in_dim, size, sigma0) if noisy else nn.Linear(in_dim, size))
        layers.append(nn.ReLU())
        in_dim = size
    return nn.Sequential(*layers[:-1])


def dueling_combine(value: torch.Tensor, advantage: torch.Tensor, aggregate: str = "mean") -> torch.Tensor:
    """Wang et al. eq. 9 (``mean``) or eq. 8 (``max``): ``V [B,1,N] + A [B,A,N] − agg_a A`` → ``[B,A,N]``."""
    if aggregate == "mean":
        centre = advantage.mean(dim=1, keepdim=True)  # [B, 1, N]
    elif aggregate == "max":
        centre = advantage.max(dim=1, keepdim=True).values  # [B, 1, N]
    else:
        raise ValueError(f"dueling_aggregate must be 'mean' or 'max', got '{aggregate}'")
    return value + advantage - centre


class QNetwork(nn.Module):
    """Encoder → (memory →) head. ``forward`` gives ``[B, A, N]``: Q values (N = 1) or atom logits (N = atoms).

    ``q_values`` reduces either to ``[..., A]``: Q itself, or ``Σ_i z_i p_i(s, a)`` for C51. With a memory,
    ``unroll`` runs sequences ``[T, B, ...]`` from a state (DRQN, Hausknecht & Stone 2015).
    """

    def __init__(self, encoder: nn.Module, num_actions: int, cfg: DQNConfig, memory: Memory | None = None) -> None:
        super().__init__()
        self.encoder, self.memory = encoder, memory
        features_dim = encoder.features_dim if memory is None else memory.features_dim
        self.num_actions, self.atoms = num_actions, cfg.atoms
        self.dueling, self.aggregate = cfg.dueling, cfg.dueling_aggregate
        self.distributional = cfg.distributional
        stream = dict(hidden=cfg.head_hidden, noisy=cfg.noisy, sigma0=cfg.noisy_sigma0)
        self.advantage = mlp_stream(features_dim, out_dim=num_actions * self.atoms, **stream)
        self.value = mlp_stream(features_dim, out_dim=self.atoms, **stream) if cfg.dueling else None
        self.register_buffer("support", support_atoms(cfg.v_min, cfg.v_max, cfg.atoms, cfg.support_spacing),
                             persistent=False)
        self.noisy_layers = [m for m in self.modules() if isinstance(m, NoisyLinear)]

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Stateless: ``obs [B, ...]`` → ``[B, A, N]`` (a network with memory needs ``unroll``)."""
        return self.head(self.encoder(obs))

    def initial_state(self, batch: int, device: torch.device | str = "cpu") -> TensorState:
        return {} if self.memory is None else self.memory.initial_state(batch, device)

    def unroll(self, obs: torch.Tensor, state: TensorState, starts: torch.Tensor
               ) -> tuple[torch.Tensor, TensorState]:
        """``obs [T, B, ...]`` from ``state``, reset where ``starts`` ``[T, B]`` → ``[T, B, A, N]``, final state."""
        features, state, _ = encode(self.encoder, self.memory, obs, state, starts)  # [T, B, F]
        return self.head(features.flatten(0, 1)).view(*obs.shape[:2], self.num_actions, self.atoms), state

    def head(self, features: torch.Tensor) -> torch.Tensor:
        """``[B, F]`` features → ``[B, A, N]``."""
        out = self.advantage(features).view(-1, self.num_actions, self.atoms)  # [B, A, N]
        if self.value is not None:
            value = self.value(features).view(-1, 1, self.atoms)  # [B, 1, N]
            out = dueling_combine(value, out, self.aggregate)  # [B, A, N]
        return out

    def q_values(self, out: torch.Tensor) -> torch.Tensor:
        """``[..., A, N]`` forward output → ``[..., A]`` expected values."""
        if not self.distributional:
            return out.squeeze(-1)
        return (out.softmax(dim=-1) * self.support).sum(dim=-1)

    def reset_noise(self, generator: torch.Generator | None = None) -> None:
        """Fresh ε for every noisy layer, drawn in one call (a draw per layer costs more than the numbers)."""
        if not self.noisy_layers:
            return
        buffers = [buf for layer in self.noisy_layers for buf in (layer.eps_in, layer.eps_out)]
        sizes = [len(buf) for buf in buffers]
        noise = NoisyLinear._f(torch.randn(sum(sizes), generator=generator, device=buffers[0].device))
        torch._foreach_copy_(buffers, list(noise.split(sizes)))


def build_q_network(cfg: DQNConfig, obs_space: gym.Space, action_space: gym.Space) -> QNetwork:
    """The encoder named in the config (``hidden_sizes`` go to an MLP; ``encoder_weights`` loaded, frozen
    when ``freeze_encoder``) under the configured head."""
    encoder = build_encoder(obs_space, cfg.encoder, cfg.hidden_sizes, weights=cfg.encoder_weights,
                            freeze=cfg.freeze_encoder, normalize=cfg.normalize_obs)
    memory = build_memory(cfg.memory, encoder.features_dim, cfg.memory_size, cfg.memory_window)
    return QNetwork(encoder, int(action_space.n), cfg, memory)


@torch.no_grad()
def update_target(target: nn.Module, online: nn.Module, tau: float = 1.0) -> None:
    """Polyak averaging θ' ← τθ + (1 − τ)θ'; ``tau = 1`` is DQN's hard copy."""
    target_params, online_params = list(target.parameters()), list(online.parameters())
    if tau >= 1.0:
        torch._foreach_copy_(target_params, online_params)
    else:
        torch._foreach_lerp_(target_params, online_params, tau)
