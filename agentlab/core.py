"""The roles of the actor–learner loop, and the data that moves between them.

Plain Python and numpy: no Ray, no torch. A launcher (``agentlab.backends``) drives them::

    learner = algorithm.make_learner(config, obs_space, action_space, seed, device)
    workers = [Worker(...) for i in range(num_workers)]        # in-process or as Ray actors
    for w in workers:
        w.set_weights(learner.get_weights(), learner.version)
    while env_steps < budget:
        sample = worker.sample()                 # T steps of E envs, shaped by the worker's Actor
        metrics = learner.update(sample.payload) # train; the learner is the only owner of weights
        worker.set_weights(learner.get_weights(), learner.version)   # every `sync_every` samples

An ``Actor`` lives inside each worker: it picks actions for a batch of observations and turns a
finished ``Fragment`` into the payload that travels to the learner (the fragment itself for
data-shipping algorithms, gradients for A3C).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import numpy as np


class Fragment(NamedTuple):
    """``T`` consecutive steps of ``E`` environments, time-major (``[T, E, ...]``).

    ``next_obs[t]`` is the observation the action led to; when the episode ended at ``t`` it is
    the true final observation (not the reset one), so a truncated step can be bootstrapped from
    it. ``next_actions[t]`` is the action the behaviour policy picked at ``next_obs[t]``: the
    action actually taken next (SARSA's a'), or, when the episode ended, one drawn but not taken.
    """

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_obs: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    next_actions: np.ndarray
    version: int
    worker: int

    @property
    def num_steps(self) -> int:
        return int(self.rewards.size)

    @property
    def episodes_ended(self) -> int:
        return int(np.count_nonzero(self.terminated | self.truncated))

    @staticmethod
    def concat(fragments: list[Fragment]) -> Fragment:
        """Join fragments of equal length along the environment axis (A2C's synchronous batch)."""
        first = fragments[0]
        arrays = [np.concatenate([getattr(f, name) for f in fragments], axis=1) for name in Fragment._fields[:7]]
        return Fragment(*arrays, version=min(f.version for f in fragments), worker=first.worker)


class Episode(NamedTuple):
    """A finished training episode, as ``episodes.csv`` records it."""

    worker: int
    ret: float
    length: int


@dataclass
class Sample:
    """What one ``Worker.sample`` call returns: the payload for the learner and what happened."""

    payload: Any
    env_steps: int
    worker: int
    episodes: list[Episode] = field(default_factory=list)


class Actor(Protocol):
    """The policy copy inside a worker."""

    def act(self, obs: np.ndarray, explore: bool = True) -> np.ndarray:
        """Actions ``[E]`` for a batch of observations ``[E, ...]``; ``explore=False`` is greedy."""
        ...

    def set_weights(self, weights: Any, version: int) -> None:
        """Adopt the learner's published weights (a plain, picklable structure)."""
        ...

    def process(self, fragment: Fragment) -> Any:
        """Turn a finished fragment into the learner's payload (usually the fragment itself)."""
        ...


class Learner(Protocol):
    """The single owner of parameters and optimizer state."""

    version: int
    """Counts updates; workers report which version produced their data (A3C staleness)."""

    def update(self, payload: Any) -> dict[str, float]:
        """Consume one payload (a fragment, or gradients) and return metrics to log."""
        ...

    def get_weights(self) -> Any:
        """A picklable snapshot for actors; never aliased with the learner's own buffers."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: tensors, numbers, strings (``torch.load(weights_only=True)``)."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...
