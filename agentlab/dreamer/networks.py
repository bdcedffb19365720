"""DreamerV3's networks (Hafner et al. 2023, Sec. 2 and Appendix B), composed from shared parts.

The world model (eq. 1):

    sequence model    h_t = f(h_{t−1}, z_{t−1}, a_{t−1})       a GRU (perception.sequence.RecurrentEncoder)
    encoder           z_t ~ q(z_t | h_t, x_t)                    generative's ConvEncoder or MLPEncoder, then a head
    dynamics          ẑ_t ~ p(ẑ_t | h_t)                         the prior head
    reward, continue  r̂_t ~ p(r̂_t | h_t, z_t), ĉ_t ~ p(ĉ_t | h_t, z_t)
    decoder           x̂_t ~ p(x̂_t | h_t, z_t)                   generative's ConvDecoder or MLPDecoder

``z`` is ``stoch`` categoricals of ``classes`` classes with 1% unimix, sampled with straight-through
gradients. The actor π(a | s) and critic v(s) read the model state ``s = (h, z)``.
"""

from __future__ import annotations

import math

import gymnasium as gym
import torch
from torch import nn
from torch.nn import functional as F

from agentlab.config import ConfigError
from agentlab.dreamer.config import DreamerConfig
from agentlab.dreamer.losses import symlog, unimix
from agentlab.encoders import ObsAdapter, is_image, prepared_shape
from generative.mlp import MLPDecoder, MLPEncoder, dense_stack
from generative.networks import ConvDecoder, ConvEncoder
from perception.sequence import RecurrentEncoder


class Head(nn.Module):
    """``layers`` normalised SiLU layers, then a linear output: ``[..., in_dim]`` → ``[..., out_dim]``.

    ``zero_init`` starts the output at 0 (DreamerV3 does so for the reward and critic heads, so that their
    first predictions are 0 rather than large random values)."""

    def __init__(self, in_dim: int, out_dim: int, units: int, layers: int, zero_init: bool = False) -> None:
        super().__init__()
        self.body = dense_stack(in_dim, units, layers)
        self.out = nn.Linear(units, out_dim)
        if zero_init:
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(x))


def sample_onehot(log_probs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One-hot samples ``[..., K]`` of categoricals, with straight-through gradients (``+ p − sg(p)``)."""
    probs = log_probs.exp()
    index = torch.multinomial(probs.reshape(-1, probs.shape[-1]), 1, generator=generator)  # [N, 1]
    onehot = F.one_hot(index.view(probs.shape[:-1]), probs.shape[-1]).to(probs.dtype)  # [..., K]
    return onehot + probs - probs.detach()


def latent(h: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """The model state ``s = [h, z]`` that the heads, the actor and the critic read."""
    return torch.cat([h, z], -1)


class RSSM(nn.Module):
    """The recurrent state-space model: ``h`` ``[B, deter]``, ``z`` ``[B, stoch · classes]`` (flattened one-hots)."""

    def __init__(self, cfg: DreamerConfig, embed_dim: int, num_actions: int) -> None:
        super().__init__()
        self.stoch, self.classes, self.unimix = cfg.stoch, cfg.classes, cfg.unimix
        latent_size = cfg.stoch * cfg.classes
        self.img_in = dense_stack(latent_size + num_actions, cfg.units, 1)  # [z, a] → GRU input
        # perception's GRU fits: ``step`` carries the hidden state [1, B, deter] one step at a time.
        self.gru = RecurrentEncoder(cfg.units, cfg.deter, "gru")
        self.prior = Head(cfg.deter, latent_size, cfg.units, 1)  # p(ẑ_t | h_t)
        self.posterior = Head(cfg.deter + embed_dim, latent_size, cfg.units, 1)  # q(z_t | h_t, x_t)

    def logits(self, raw: torch.Tensor) -> torch.Tensor:
        """Raw head output ``[B, S·K]`` → unimixed log-probabilities ``[B, S, K]``."""
        return unimix(raw.view(*raw.shape[:-1], self.stoch, self.classes), self.unimix)

    def dynamics(self, h: torch.Tensor, z: torch.Tensor, action: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """``h_t = f(h_{t−1}, z_{t−1}, a_{t−1})`` and the prior's log-probabilities ``[B, S, K]`` at ``h_t``."""
        _, h = self.gru.step(self.img_in(torch.cat([z, action], -1)), h[None].contiguous())  # [1, B, deter]
        h = h[0]
        return h, self.logits(self.prior(h))

    def filter(self, h: torch.Tensor, z: torch.Tensor, prev_action: torch.Tensor, embed: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One step of the filter: ``h_t`` from ``(h_{t−1}, z_{t−1}, a_{t−1})``, then the prior's and the posterior's
        log-probabilities ``[B, S, K]`` there, the posterior reading the embedded observation ``[B, E]``."""
        h, prior = self.dynamics(h, z, prev_action)
        return h, prior, self.logits(self.posterior(torch.cat([h, embed], -1)))

    def observe(self, embed: torch.Tensor, prev_action: torch.Tensor, h: torch.Tensor, z: torch.Tensor,
                starts: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Filter a sequence: ``embed [T, B, E]``, the action before each step ``[T, B, A]``, from ``(h, z)``
        going into step 0; rows restart from zeros where ``starts`` ``[T, B]``. Returns ``h``, ``z``
        ``[T, B, ...]`` and the posterior and prior log-probabilities ``[T, B, S, K]``."""
        out: dict[str, list[torch.Tensor]] = {"h": [], "z": [], "post": [], "prior": []}
        for t in range(embed.shape[0]):
            keep = (~starts[t]).to(h.dtype)[:, None]  # [B, 1]
            h, prior, post = self.filter(h * keep, z * keep, prev_action[t] * keep, embed[t])
            z = sample_onehot(post, generator).flatten(-2)  # [B, S·K]
            for name, value in (("h", h), ("z", z), ("post", post), ("prior", prior)):
                out[name].append(value)
        return {name: torch.stack(values) for name, values in out.items()}

    def imagine(self, policy: nn.Module, h: torch.Tensor, z: torch.Tensor, horizon: int, mix: float,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Roll ``policy`` (action logits from a model state) ``horizon`` steps through the prior from ``(h, z)``
        ``[N, ...]``: ``a_t ~ π(· | s_t)`` with ``mix`` unimix, ``s_{t+1} = (f(h_t, z_t, a_t), ẑ_{t+1})``.
        Returns the states ``[H + 1, N, F]`` (the start first) and the actions ``[H, N]``."""
        states, actions = [latent(h, z)], []
        for _ in range(horizon):
            log_pi = unimix(policy(states[-1]), mix)  # [N, A]
            action = torch.multinomial(log_pi.exp(), 1, generator=generator).squeeze(-1)  # [N]
            h, prior = self.dynamics(h, z, F.one_hot(action, log_pi.shape[-1]).to(h.dtype))
            z = sample_onehot(prior, generator).flatten(-2)
            states.append(latent(h, z))
            actions.append(action)
        return torch.stack(states), torch.stack(actions)


class WorldModel(nn.Module):
    """Encoder, RSSM, decoder, reward and continue heads (one module, one optimizer)."""

    def __init__(self, cfg: DreamerConfig, obs_space: gym.Space, num_actions: int) -> None:
        super().__init__()
        shape = prepared_shape(obs_space)
        self.image = is_image(obs_space)
        if self.image:
            channels, height, width = shape
            if height != width:
                raise ConfigError(f"dreamer's image decoder needs square images, got {height}×{width}")
            body: nn.Module = ConvEncoder(channels, height, cfg.channels)
            self.decoder: nn.Module = ConvDecoder(cfg.latent_size, channels, height, cfg.channels)
        else:  # a vector: the adapter flattens it (a board too) and drops a legal-action mask
            size = math.prod(shape)
            body = MLPEncoder(size, cfg.units, cfg.layers)
            self.decoder = MLPDecoder(cfg.latent_size, size, cfg.units, cfg.layers)
        self.encoder = ObsAdapter(obs_space, body)
        self.rssm = RSSM(cfg, self.encoder.features_dim, num_actions)
        self.reward = Head(cfg.latent_size, cfg.bins, cfg.units, cfg.layers, zero_init=True)
        self.cont = Head(cfg.latent_size, 1, cfg.units, cfg.layers)

    def target(self, obs: torch.Tensor) -> torch.Tensor:
        """What the decoder reconstructs from raw observations ``[N, ...]``: pixels in [0, 1], or symlog'd vectors."""
        x = self.encoder.prepare(obs)
        return x if self.image else symlog(x)


def build_networks(cfg: DreamerConfig, obs_space: gym.Space, action_space: gym.Space
                   ) -> tuple[WorldModel, Head, Head]:
    """The world model, the actor (action logits) and the critic (two-hot logits)."""
    if not isinstance(action_space, gym.spaces.Discrete):
        raise ConfigError(f"dreamer needs Discrete actions (its actor is REINFORCE's), got {action_space}")
    num_actions = int(action_space.n)
    model = WorldModel(cfg, obs_space, num_actions)
    actor = Head(cfg.latent_size, num_actions, cfg.units, cfg.layers)
    critic = Head(cfg.latent_size, cfg.bins, cfg.units, cfg.layers, zero_init=True)
    return model, actor, critic
