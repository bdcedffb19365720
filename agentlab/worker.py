"""The environment worker: a few environments, a policy copy, and fragments of experience.

The same class runs in the driver's process (local backend) or as a Ray actor; it knows nothing of
either. Its envs are one vector env without auto-reset (``envs.vector``): the final observation of
an episode (needed to bootstrap a truncated step) is never lost, and the worker resets finished envs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agentlab import algorithms
from agentlab.core import Episode, Extras, Fragment, Sample, State, join_rows, put_rows, take_rows
from envs import state as env_state
from envs.vector import make_vector


def generator_states(obj: Any) -> dict[str, Any]:
    """The states of ``obj``'s numpy and torch random generators, by attribute name."""
    states: dict[str, Any] = {}
    for name, value in vars(obj).items():
        if isinstance(value, np.random.Generator):
            states[name] = value.bit_generator.state
        elif type(value).__name__ == "Generator" and type(value).__module__.startswith("torch"):
            states[name] = value.get_state()
    return states


def set_generator_states(obj: Any, states: dict[str, Any]) -> None:
    for name, state in states.items():
        value = getattr(obj, name)
        if isinstance(value, np.random.Generator):
            value.bit_generator.state = state
        else:
            value.set_state(state)


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
        self.envs = make_vector(env_id, num_envs, seed=base)
        self.actor = algorithm.make_actor(config, self.envs.single_observation_space,
                                          self.envs.single_action_space, worker_index, num_workers, seed)
        self.obs = self.envs.reset(seed=base)[0].copy()  # EnvList reuses its buffer
        self.actions: np.ndarray | None = None  # chosen at self.obs, taken at the next step
        self.extras: Extras = {}  # what the actor reported with self.actions
        self.state_in: State = self.actor.initial_state(num_envs)  # the actor's state going into self.obs
        self.state: State = self.state_in  # and after it (the one that picked self.actions)
        self.starts = np.ones(num_envs, bool)  # self.obs begins an episode
        self.returns = np.zeros(num_envs)
        self.lengths = np.zeros(num_envs, dtype=np.int64)
        self.version = 0
        self.weights: Any = None  # the learner's published weights the actor last adopted

    def set_weights(self, weights: Any, version: int) -> None:
        self.actor.set_weights(weights, version)
        self.weights, self.version = weights, version

    def get_state(self) -> dict[str, Any]:
        """Everything the next ``sample`` depends on: the envs mid-episode, the pending actions, the episode
        counters, the actor's weights and random generators (an actor's state is exactly those two).
        ``envs`` is None when an env cannot be captured (``envs.state``)."""
        return {"envs": env_state.get_state(self.envs), "obs": self.obs.copy(),
                "actions": None if self.actions is None else self.actions.copy(), "extras": self.extras,
                "state_in": self.state_in, "state": self.state, "starts": self.starts.copy(),
                "returns": self.returns.copy(),
                "lengths": self.lengths.copy(), "weights": self.weights, "version": self.version,
                "generators": generator_states(self.actor)}

    def set_state(self, state: dict[str, Any]) -> bool:
        """Restore ``get_state``; False (and nothing changed) if its envs could not be captured."""
        if state["envs"] is None:
            return False
        env_state.set_state(self.envs, state["envs"])
        self.obs, self.returns, self.lengths = state["obs"].copy(), state["returns"].copy(), state["lengths"].copy()
        self.actions = None if state["actions"] is None else state["actions"].copy()
        if "starts" in state:  # checkpoints of format 1 come from actors without memory: nothing to restore
            self.extras, self.state_in, self.state = state["extras"], state["state_in"], state["state"]
            self.starts = state["starts"].copy()
        if state["weights"] is not None:
            self.set_weights(state["weights"], state["version"])
        set_generator_states(self.actor, state["generators"])
        return True

    def sample(self) -> Sample:
        """Step every env ``fragment_length`` times and return the actor's payload plus finished episodes."""
        T, E = self.fragment_length, self.envs.num_envs
        if self.actions is None:
            self.actions, self.state, self.extras = self.actor.act(self.obs, self.state_in, self.starts)
        obs = np.empty((T, *self.obs.shape), self.obs.dtype)
        next_obs = np.empty_like(obs)
        actions = np.empty((T, *self.actions.shape), self.actions.dtype)
        next_actions = np.empty_like(actions)
        rewards = np.empty((T, E), np.float32)
        terminated = np.empty((T, E), bool)
        truncated = np.empty((T, E), bool)
        episode_start = np.empty((T, E), bool)
        extras = {name: np.empty((T, *value.shape), value.dtype) for name, value in self.extras.items()}
        first_state = self.state_in
        episodes: list[Episode] = []
        version = self.version
        for t in range(T):
            obs[t], actions[t], episode_start[t] = self.obs, self.actions, self.starts
            put_rows(extras, t, self.extras)
            next_obs[t], rewards[t], terminated[t], truncated[t], info = self.envs.step(self.actions)
            # Atari training envs clip rewards and end on a lost life; episode stats use the game's score.
            self.returns += info.get("raw_reward", rewards[t])
            self.lengths += 1
            done = terminated[t] | truncated[t]
            self.obs = next_obs[t].copy()
            self.starts = done
            if not done.any():  # the common step: one policy pass picks a' at every s', the state carried on
                chosen, state, self.extras = self.actor.act(self.obs, self.state, done)
                next_actions[t] = chosen
                self.actions, self.state_in, self.state = chosen.copy(), self.state, state
                continue
            for e in np.flatnonzero(done & info.get("game_over", done)):
                episodes.append(Episode(self.index, float(self.returns[e]), int(self.lengths[e])))
                self.returns[e], self.lengths[e] = 0.0, 0
            self.obs[done] = self.envs.reset(options={"reset_mask": done})[0][done]
            # One policy pass picks a' at every s' (before the reset: SARSA's a', from the carried state) and
            # the first action of each new episode (its state reset by the actor).
            rows_state = join_rows([self.state, take_rows(self.state, done)]) if self.state else {}
            rows_start = np.concatenate([np.zeros(E, bool), np.ones(int(done.sum()), bool)])
            chosen, state, chosen_extras = self.actor.act(np.concatenate([next_obs[t], self.obs[done]]),
                                                          rows_state, rows_start)  # [E + ended]
            next_actions[t] = chosen[:E]
            self.actions = chosen[:E].copy()
            self.actions[done] = chosen[E:]
            self.state_in, self.state, self.extras = self.state, take_rows(state, slice(E)), \
                take_rows(chosen_extras, slice(E))
            put_rows(self.state, done, take_rows(state, slice(E, None)))
            put_rows(self.extras, done, take_rows(chosen_extras, slice(E, None)))
        fragment = Fragment(obs, actions, rewards, next_obs, terminated, truncated, next_actions, episode_start,
                            first_state, extras, version, self.index)
        return Sample(self.actor.process(fragment), T * E, self.index, episodes)
