"""The actor-critic network: one encoder shared by a categorical policy head and a value head.

Mnih et al. 2016, "Asynchronous Methods for Deep Reinforcement Learning", Section 4: the policy and
the value function share all non-output layers; the policy is a softmax over actions, the value a
single linear output.
"""

from __future__ import annotations

import gymnasium
import torch
from torch import nn

from agentlab.encoders import load_encoder_weights, make_encoder, resolve_name


class ActorCritic(nn.Module):
    """``obs [N, ...] -> (logits [N, A], value [N])``."""

    def __init__(self, encoder: nn.Module, num_actions: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.policy_head = nn.Linear(encoder.features_dim, num_actions)
        self.value_head = nn.Linear(encoder.features_dim, 1)
        # Small policy weights start near-uniform, so early updates are not dominated by a random preference.
        nn.init.orthogonal_(self.policy_head.weight, gain=0.01)
        nn.init.zeros_(self.policy_head.bias)
        nn.init.orthogonal_(self.value_head.weight, gain=1.0)
        nn.init.zeros_(self.value_head.bias)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.encoder(obs)  # [N, features_dim]
        return self.policy_head(features), self.value_head(features).squeeze(-1)  # [N, A], [N]


def make_network(
    obs_space: gymnasium.Space, action_space: gymnasium.Space, encoder: str, hidden_sizes: tuple[int, ...],
    encoder_weights: str = "", freeze_encoder: bool = False,
) -> ActorCritic:
    """Build the network for these spaces; only discrete action spaces have a categorical policy.

    ``encoder_weights`` (a body state dict) is loaded into the encoder, which ``freeze_encoder`` fixes.
    """
    if not isinstance(action_space, gymnasium.spaces.Discrete):
        raise ValueError(f"A2C/A3C need a Discrete action space, got {action_space}")
    name = resolve_name(obs_space, encoder)
    kwargs = {"hidden_sizes": hidden_sizes} if name == "mlp" else {}
    body = make_encoder(obs_space, name, **kwargs)
    load_encoder_weights(body, name, encoder_weights, freeze_encoder)
    return ActorCritic(body, int(action_space.n))
