"""The actor-critic network: one encoder shared by a categorical policy head and a value head.

Mnih et al. 2016, "Asynchronous Methods for Deep Reinforcement Learning", Section 4: the policy and
the value function share all non-output layers; the policy is a softmax over actions, the value a
single linear output. ``shared_encoder=false`` gives the value its own encoder instead, as
Stable-Baselines3 does for MLPs, so value-loss gradients do not reshape the policy's features.
"""

from __future__ import annotations

import math

import gymnasium
import torch
from torch import nn

from agentlab.a2c.config import A2CConfig
from agentlab.config import ConfigError
from agentlab.encoders import build_encoder, mask_illegal
from agentlab.memory import Memory, TensorState, build_memory, encode


class ActorCritic(nn.Module):
    """``obs [N, ...] -> (logits [N, A], value [N])``; ``value_encoder`` (optional) feeds the value head alone.

    With memory (``memory``, and ``value_memory`` on a separate value encoder) the network runs sequences
    ``[T, B, ...]`` from a state through ``unroll``; without, ``unroll`` is the feed-forward pass over ``T·B``."""

    def __init__(self, encoder: nn.Module, num_actions: int, value_encoder: nn.Module | None = None,
                 memory: Memory | None = None, value_memory: Memory | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        self.value_encoder = value_encoder
        self.memory, self.value_memory = memory, value_memory
        self.policy_head = nn.Linear(_width(encoder, memory), num_actions)
        self.value_head = nn.Linear(_width(value_encoder or encoder, value_memory or memory), 1)
        # Small policy weights start near-uniform, so early updates are not dominated by a random preference.
        nn.init.orthogonal_(self.policy_head.weight, gain=0.01)
        nn.init.zeros_(self.policy_head.bias)
        nn.init.orthogonal_(self.value_head.weight, gain=1.0)
        nn.init.zeros_(self.value_head.bias)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.encoder(obs)  # [N, features_dim]
        value_features = features if self.value_encoder is None else self.value_encoder(obs)  # [N, F_v]
        return self.logits(features, obs), self.value_head(value_features).squeeze(-1)  # [N, A], [N]

    def logits(self, features: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        """The policy head, with the actions an observation's legal-action mask forbids at −1e9 (π = 0)."""
        return mask_illegal(self.policy_head(features), obs, self.encoder.mask_size)

    def policy(self, obs: torch.Tensor) -> torch.Tensor:
        """The logits alone ``[N, A]``: acting skips the value head (and its encoder, when separate)."""
        return self.logits(self.encoder(obs), obs)

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        """The value alone ``[N]``, for bootstrapping: skips the policy head."""
        return self.value_head((self.value_encoder or self.encoder)(obs)).squeeze(-1)

    def initial_state(self, batch: int, device: torch.device | str = "cpu") -> TensorState:
        state: TensorState = {}
        for memory in (self.memory, self.value_memory):
            if memory is not None:
                state.update(memory.initial_state(batch, device))
        return state

    def unroll(self, obs: torch.Tensor, state: TensorState, starts: torch.Tensor, keep: bool = False
               ) -> tuple[torch.Tensor, torch.Tensor, TensorState, TensorState]:
        """``obs [T, B, ...]`` → logits ``[T, B, A]``, values ``[T, B]``, the final state and (``keep``) every
        step's state after it ``[T, B, ...]``; rows restart where ``starts`` ``[T, B]``."""
        policy_state, value_state = self._split(state)
        features, final, kept = encode(self.encoder, self.memory, obs, policy_state, starts, keep)  # [T, B, F]
        value_features = features
        if self.value_encoder is not None:
            value_features, value_final, value_kept = encode(self.value_encoder, self.value_memory, obs, value_state,
                                                             starts, keep)
            final, kept = {**final, **value_final}, {**kept, **value_kept}
        return self.logits(features, obs), self.value_head(value_features).squeeze(-1), final, kept

    def value_after(self, obs: torch.Tensor, state: TensorState) -> torch.Tensor:
        """``V`` ``[N]`` of observations ``[N, ...]`` reached from ``state`` (the carried state, no reset)."""
        encoder, memory = (self.encoder, self.memory) if self.value_encoder is None else \
            (self.value_encoder, self.value_memory)
        own = self._split(state)[0 if self.value_encoder is None else 1]
        features, _, _ = encode(encoder, memory, obs[None], own, torch.zeros(1, len(obs), dtype=torch.bool))
        return self.value_head(features[0]).squeeze(-1)

    def _split(self, state: TensorState) -> tuple[TensorState, TensorState]:
        """The policy trunk's and the value trunk's parts of a state (the value's names start ``value.``)."""
        value = {name: x for name, x in state.items() if name.startswith("value.")}
        return {name: x for name, x in state.items() if name not in value}, value


def _width(encoder: nn.Module, memory: Memory | None) -> int:
    return encoder.features_dim if memory is None else memory.features_dim


def orthogonal_init(module: nn.Module, gain: float = math.sqrt(2)) -> None:
    """Orthogonal weights scaled by ``gain`` and zero biases for every linear and conv layer in ``module``.

    Huang et al. 2022, "The 37 Implementation Details of PPO", detail 2 (from OpenAI Baselines, whose A2C and PPO
    both do it, as Stable-Baselines3's do): hidden layers get gain √2; ``ActorCritic`` already gives its policy head
    0.01 and its value head 1.
    """
    for layer in module.modules():
        if isinstance(layer, nn.Linear | nn.Conv2d):
            nn.init.orthogonal_(layer.weight, gain=gain)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def make_network(obs_space: gymnasium.Space, action_space: gymnasium.Space, config: A2CConfig) -> ActorCritic:
    """Build the network for these spaces; only discrete action spaces have a categorical policy."""
    if not isinstance(action_space, gymnasium.spaces.Discrete):
        raise ConfigError(f"A2C/A3C need a Discrete action space, got {action_space}; pick a discrete-action env")
    settings = (config.encoder, config.hidden_sizes, config.activation, config.encoder_weights, config.freeze_encoder,
                config.normalize_obs)
    encoder = build_encoder(obs_space, *settings)
    value_encoder = None if config.shared_encoder else build_encoder(obs_space, *settings)
    memory = build_memory(config.memory, encoder.features_dim, config.memory_size, config.memory_window)
    value_memory = None if value_encoder is None else build_memory(
        config.memory, value_encoder.features_dim, config.memory_size, config.memory_window, prefix="value.")
    network = ActorCritic(encoder, int(action_space.n), value_encoder, memory, value_memory)
    if config.orthogonal_init and not config.encoder_weights:  # pretrained weights are kept as loaded
        for trunk in (encoder, value_encoder):
            if trunk is not None:
                orthogonal_init(trunk)
    return network
