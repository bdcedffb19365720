"""The environment worker: a few environments, a policy copy, and fragments of experience.

The same class runs in the driver's process (local backend) or as a Ray actor; it knows nothing of
either. It steps its own environments one by one rather than through a vector env, so that the final
observation of an episode (needed to bootstrap a truncated step) is never lost to an auto-reset.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import envs
from agentlab import algorithms
from agentlab.core import Episode, Fragment, Sample


class Worker:
    def __init__(self, algo: str, algo_config: dict[str, Any], env_id: str, num_envs: int, fragment_length: int,
                 worker_index: int, num_workers: int, seed: int, single_thread: bool = False):
        if single_thread:
            import torch

            torch.set_num_threads(1)  # several workers share the cores; one thread each is fastest
        algorithm = algorithms.get(algo)
        config = algorithm.config_cls(**algo_config)
        self.index, self.fragment_length = worker_index, fragment_length
        base = seed * 10_007 + worker_index * num_envs
        self.envs = [envs.make(env_id, seed=base + i) for i in range(num_envs)]
        self.actor = algorithm.make_actor(config, self.envs[0].observation_space, self.envs[0].action_space,
                                          worker_index, num_workers, seed)
        self.obs = np.stack([env.reset(seed=base + i)[0] for i, env in enumerate(self.envs)])
        self.actions: np.ndarray | None = None  # chosen at self.obs, taken at the next step
        self.returns = np.zeros(num_envs)
        self.lengths = np.zeros(num_envs, dtype=np.int64)
        self.version = 0

    def set_weights(self, weights: Any, version: int) -> None:
        self.actor.set_weights(weights, version)
        self.version = version

    def sample(self) -> Sample:
        """Step every env ``fragment_length`` times and return the actor's payload plus finished episodes."""
        T, E = self.fragment_length, len(self.envs)
        if self.actions is None:
            self.actions = self.actor.act(self.obs)
        obs = np.empty((T, *self.obs.shape), self.obs.dtype)
        next_obs = np.empty_like(obs)
        actions = np.empty((T, *self.actions.shape), self.actions.dtype)
        next_actions = np.empty_like(actions)
        rewards = np.empty((T, E), np.float32)
        terminated = np.empty((T, E), bool)
        truncated = np.empty((T, E), bool)
        episodes: list[Episode] = []
        version = self.version
        for t in range(T):
            obs[t], actions[t] = self.obs, self.actions
            reset_obs = {}
            for e, env in enumerate(self.envs):
                o, r, term, trunc, info = env.step(self.actions[e])
                next_obs[t, e], rewards[t, e], terminated[t, e], truncated[t, e] = o, r, term, trunc
                # Atari training envs clip rewards and end on a lost life; episode stats use the game's score.
                self.returns[e] += info.get("raw_reward", r)
                self.lengths[e] += 1
                if term or trunc:
                    if info.get("game_over", True):
                        episodes.append(Episode(self.index, float(self.returns[e]), int(self.lengths[e])))
                        self.returns[e], self.lengths[e] = 0.0, 0
                    reset_obs[e] = env.reset()[0]
            # a' is chosen at s' before the reset, so SARSA sees the action the policy picks there.
            next_actions[t] = self.actor.act(next_obs[t])
            self.obs = next_obs[t].copy()
            for e, o in reset_obs.items():
                self.obs[e] = o
            self.actions = next_actions[t].copy()
            if reset_obs:
                self.actions[list(reset_obs)] = self.actor.act(self.obs[list(reset_obs)])
        fragment = Fragment(obs, actions, rewards, next_obs, terminated, truncated, next_actions, version, self.index)
        return Sample(self.actor.process(fragment), T * E, self.index, episodes)
