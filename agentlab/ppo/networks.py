"""PPO's network: A2C's ``ActorCritic`` (encoder, categorical policy head, value head), orthogonally initialised.

Schulman et al. 2017, "Proximal Policy Optimization Algorithms", Sec. 5: policy and value either share
parameters (their Atari network) or not (their MuJoCo MLPs). Huang et al. 2022, detail 2: hidden layers
orthogonal with gain √2, the policy head 0.01, the value head 1, biases 0.
"""

from __future__ import annotations

import gymnasium

from agentlab.a2c.networks import ActorCritic
from agentlab.a2c.networks import make_network as make_actor_critic
from agentlab.config import ConfigError
from agentlab.ppo.config import PPOConfig


def make_network(obs_space: gymnasium.Space, action_space: gymnasium.Space, config: PPOConfig) -> ActorCritic:
    """A2C's network for these spaces (orthogonal unless ``orthogonal_init`` is off; pretrained encoder weights,
    ``encoder_weights``, are kept as loaded)."""
    if not isinstance(action_space, gymnasium.spaces.Discrete):
        raise ConfigError(f"PPO here has a categorical policy and needs a Discrete action space, got {action_space}; "
                          "pick a discrete-action env")
    return make_actor_critic(obs_space, action_space, config)  # type: ignore[arg-type]  (same encoder fields)
