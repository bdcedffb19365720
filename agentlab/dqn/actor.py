"""The DQN actor: a CPU copy of the Q-network acting ε-greedily, or through fresh noise when noisy.

ε comes from the learner (its linear schedule at the learner's env-step count). With N > 1 workers each
worker keeps its own floor, Ape-X style (Horgan et al. 2018, Sec. 4.1): worker i of N never goes below
``apex_epsilon^(1 + 7 i / (N − 1))``, so one worker stays exploratory and another near greedy.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch

from agentlab.core import Extras, Fragment, State
from agentlab.dqn.config import DQNConfig
from agentlab.dqn.networks import build_q_network
from agentlab.memory import as_arrays, as_tensors, reset_rows
from agentlab.weights import load_arrays
from envs.masks import split_mask


def apex_floor(base: float, worker_index: int, num_workers: int) -> float:
    """Ape-X's per-worker ε: ``base^(1 + 7 i / (N − 1))``; 0 for a single worker (no floor)."""
    if num_workers <= 1:
        return 0.0
    return base ** (1.0 + 7.0 * worker_index / (num_workers - 1))


class DQNActor:
    """Acts on CPU; weights are ``{"params": {name: ndarray}, "epsilon": float}`` from the learner."""

    def __init__(self, cfg: DQNConfig, obs_space: gym.Space, action_space: gym.Space, worker_index: int,
                 num_workers: int, seed: int) -> None:
        self.cfg = cfg
        self.num_actions = int(action_space.n)
        self.obs_space = obs_space
        self.net = build_q_network(cfg, obs_space, action_space).eval()
        self.rng = np.random.default_rng(seed)
        self.noise_generator = torch.Generator().manual_seed(seed)
        self.floor = apex_floor(cfg.apex_epsilon, worker_index, num_workers)
        self.base_epsilon = cfg.epsilon_start
        self.version = -1

    @property
    def epsilon(self) -> float:
        """This worker's ε: 0 with noisy nets, else the learner's schedule, floored Ape-X style."""
        return 0.0 if self.cfg.noisy else max(self.base_epsilon, self.floor)

    def set_weights(self, weights: dict[str, Any], version: int) -> None:
        load_arrays(self.net, weights["params"])
        self.base_epsilon = float(weights["epsilon"])
        self.version = version

    def initial_state(self, num_envs: int) -> State:
        return as_arrays(self.net.initial_state(num_envs))

    @torch.inference_mode()
    def act(self, obs: np.ndarray, state: State, episode_start: np.ndarray, explore: bool = True
            ) -> tuple[np.ndarray, State, Extras]:
        """Actions ``[E]``: greedy with mean weights when ``explore`` is False.

        With memory, the extras are the state each action was picked from (``state.`` + its name): R2D2's
        sequence replay stores it at every sequence start."""
        noisy_explore = explore and self.cfg.noisy
        if self.net.training != noisy_explore:
            self.net.train(noisy_explore)  # noise on only while exploring
        if noisy_explore:
            self.net.reset_noise(self.noise_generator)  # fresh noise for every action selection
        extras: Extras = {}
        if self.net.memory is None:
            q = self.net.q_values(self.net(torch.as_tensor(obs)))  # [E, A]
        else:
            carried = reset_rows(as_tensors(state), torch.as_tensor(episode_start))
            extras = {f"state.{name}": value for name, value in as_arrays(carried).items()}
            out, carried = self.net.unroll(torch.as_tensor(obs)[None], carried, torch.zeros(1, len(obs), dtype=bool))
            q, state = self.net.q_values(out[0]), as_arrays(carried)  # [E, A]
        legal = split_mask(self.obs_space, obs)[1]  # [E, A] or None: an env without a legal-action mask
        if legal is not None:
            q = q.masked_fill(~torch.as_tensor(legal), -torch.inf)
        actions = q.argmax(dim=1).numpy()  # [E]
        if explore and not self.cfg.noisy:
            random = self.rng.random(len(actions)) < self.epsilon  # [E]
            uniform = (self.rng.integers(self.num_actions, size=len(actions)) if legal is None
                       else (self.rng.random(legal.shape) * legal).argmax(axis=1))  # [E] uniform over legal ones
            actions = np.where(random, uniform, actions)
        return actions, state, extras

    def process(self, fragment: Fragment) -> Fragment:
        return fragment
