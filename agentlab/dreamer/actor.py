"""The Dreamer actor: acts through the world model's filter (Hafner et al. 2023, Sec. 2).

At every step it advances the model state with the previous action, ``h_t = f(h_{t−1}, z_{t−1}, a_{t−1})``,
reads the observation into the posterior ``z_t ~ q(z_t | h_t, x_t)`` and picks ``a_t ~ π(a_t | h_t, z_t)``.
Its recurrent ``State`` is ``h``, ``z`` and the previous action (one-hot); rows restart from zeros at an
episode's start. Greedy acting (``explore=False``) takes the posterior's and the policy's modes. Actions an
observation's legal-action mask forbids (``envs.masks``) are never picked.

It reports the state each action was picked from as extras ``state.h``, ``state.z``, ``state.action``:
sequence replay keeps it at every sequence start, so the learner filters a sequence from where the actor was.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch.nn import functional as F

from agentlab.config import ConfigError
from agentlab.core import Extras, Fragment, State
from agentlab.dreamer.config import DreamerConfig
from agentlab.dreamer.losses import unimix
from agentlab.dreamer.networks import build_networks, latent, sample_onehot
from agentlab.weights import load_arrays
from envs.masks import split_mask


def mode_onehot(log_probs: torch.Tensor) -> torch.Tensor:
    """The most likely class of each categorical ``[..., K]``, one-hot."""
    return F.one_hot(log_probs.argmax(-1), log_probs.shape[-1]).to(log_probs.dtype)


class DreamerActor:
    """Acts on CPU; weights are ``{"model": {name: ndarray}, "actor": {name: ndarray}}`` from the learner."""

    def __init__(self, cfg: DreamerConfig, obs_space: gym.Space, action_space: gym.Space, seed: int) -> None:
        self.cfg = cfg
        self.model, self.policy, _ = build_networks(cfg, obs_space, action_space)
        self.model.eval()
        self.num_actions, self.obs_space = int(action_space.n), obs_space
        self.generator = torch.Generator().manual_seed(seed)
        self.version = -1

    def set_weights(self, weights: dict[str, Any], version: int) -> None:
        load_arrays(self.model, weights["model"])
        load_arrays(self.policy, weights["actor"])
        self.version = version

    def initial_state(self, num_envs: int) -> State:
        cfg = self.cfg
        return {"h": np.zeros((num_envs, cfg.deter), np.float32),
                "z": np.zeros((num_envs, cfg.stoch * cfg.classes), np.float32),
                "action": np.zeros((num_envs, self.num_actions), np.float32)}

    @torch.inference_mode()
    def act(self, obs: np.ndarray, state: State, episode_start: np.ndarray, explore: bool = True
            ) -> tuple[np.ndarray, State, Extras]:
        if not state:
            raise ConfigError("dreamer acts through its world model's filter and needs a worker that keeps its state "
                              "between steps; multi-agent envs do not yet (as with memory)")
        keep = ~episode_start[:, None]  # [E, 1]
        carried = {name: np.where(keep, value, 0).astype(np.float32) for name, value in state.items()}
        extras = {f"state.{name}": value for name, value in carried.items()}
        h, z, action = (torch.from_numpy(carried[name]) for name in ("h", "z", "action"))
        h, _, post = self.model.rssm.filter(h, z, action, self.model.encoder(torch.as_tensor(obs)))  # h_t, q(z_t)
        z = (sample_onehot(post, self.generator) if explore else mode_onehot(post)).flatten(-2)  # [E, S·K]
        log_pi = unimix(self.policy(latent(h, z)), self.cfg.unimix)  # [E, A]
        legal = split_mask(self.obs_space, obs)[1]  # [E, A] or None: an env without a legal-action mask
        if legal is not None:
            log_pi = log_pi.masked_fill(~torch.as_tensor(legal), -torch.inf)
        if explore:
            actions = torch.multinomial(log_pi.exp(), 1, generator=self.generator).squeeze(-1)  # [E]
        else:
            actions = log_pi.argmax(-1)
        new_state = {"h": h.numpy(), "z": z.numpy(), "action": F.one_hot(actions, self.num_actions).float().numpy()}
        return actions.numpy(), new_state, extras

    def process(self, fragment: Fragment) -> Fragment:
        return fragment
