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

Actors may carry recurrent state (memory): a ``State`` is a dict of arrays with the env axis first, one
row per env, and ``{}`` for a stateless actor, which then costs nothing. The worker keeps each env's row
and tells the actor where an episode starts, after ``terminated`` and after ``truncated`` alike; the
actor resets those rows itself. A fragment carries the state its first step was acted from, so a
learner can replay the fragment through its own copy of the memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import numpy as np

State = dict[str, np.ndarray]
"""An actor's recurrent state: named arrays ``[E, ...]``, one row per env; ``{}`` when it has none."""

Extras = dict[str, np.ndarray]
"""Per-step values an actor reports beside its actions: named arrays ``[E, ...]`` (``[T, E, ...]`` in a fragment)."""


def take_rows(state: State, rows: np.ndarray) -> State:
    """The rows ``rows`` (a mask or indices over envs) of every array of a state or extras."""
    return {name: value[rows] for name, value in state.items()}


def join_rows(parts: list[State]) -> State:
    """States (or extras) of disjoint env batches, stacked along the env axis."""
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def put_rows(state: State, rows: np.ndarray, values: State) -> None:
    """``state[rows] = values`` for every array, in place."""
    for name, value in state.items():
        value[rows] = values[name]


class Fragment(NamedTuple):
    """``T`` consecutive steps of ``E`` environments, time-major (``[T, E, ...]``).

    ``next_obs[t]`` is the observation the action led to; when the episode ended at ``t`` it is
    the true final observation (not the reset one), so a truncated step can be bootstrapped from
    it. ``next_actions[t]`` is the action the behaviour policy picked at ``next_obs[t]``: the
    action actually taken next (SARSA's a'), or, when the episode ended, one drawn but not taken.
    ``episode_start[t]`` marks ``obs[t]`` as the first observation of an episode (the actor's state was reset
    there); ``state`` is the actor's state ``[E, ...]`` going into ``obs[0]`` (before any reset at
    ``episode_start[0]``), and ``extras`` what the actor reported at each step, ``[T, E, ...]``.
    """

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_obs: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    next_actions: np.ndarray
    episode_start: np.ndarray
    state: State
    extras: Extras
    version: int
    worker: int

    @staticmethod
    def feedforward(obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray, next_obs: np.ndarray,
                    terminated: np.ndarray, truncated: np.ndarray, next_actions: np.ndarray, version: int,
                    worker: int) -> Fragment:
        """A fragment of an actor without memory: no state, no extras, and an episode start at step 0 and after
        every end (what a feed-forward learner never reads)."""
        done = np.asarray(terminated) | np.asarray(truncated)
        episode_start = np.concatenate([np.ones_like(done[:1]), done[:-1]])
        return Fragment(obs, actions, rewards, next_obs, terminated, truncated, next_actions, episode_start, {}, {},
                        version, worker)

    @property
    def num_steps(self) -> int:
        return int(self.rewards.size)

    @property
    def episodes_ended(self) -> int:
        return int(np.count_nonzero(self.terminated | self.truncated))

    @staticmethod
    def concat(fragments: list[Fragment]) -> Fragment:
        """Join fragments of equal length along the environment axis (a synchronous round's one batch)."""
        def env_axis(name: str) -> np.ndarray:
            return np.concatenate([getattr(f, name) for f in fragments], axis=1)

        steps = {name: env_axis(name) for name in Fragment._fields[:8]}  # the [T, E, ...] arrays
        extras = {name: np.concatenate([f.extras[name] for f in fragments], axis=1) for name in fragments[0].extras}
        return Fragment(**steps, state=join_rows([f.state for f in fragments]), extras=extras,
                        version=min(f.version for f in fragments), worker=fragments[0].worker)


def concat_payloads(payloads: list[Any]) -> Any:
    """One synchronous round's payloads as one: fragments joined along the env axis (per policy when keyed)."""
    if isinstance(payloads[0], dict):
        return {policy: Fragment.concat([p[policy] for p in payloads]) for policy in payloads[0]}
    return Fragment.concat(payloads)


class Episode(NamedTuple):
    """A finished training episode, as ``episodes.csv`` records it (one per agent in a multi-agent game)."""

    worker: int
    ret: float
    length: int
    agent: str = ""


@dataclass
class Sample:
    """What one ``Worker.sample`` call returns: the payload for the learner and what happened."""

    payload: Any
    env_steps: int
    worker: int
    episodes: list[Episode] = field(default_factory=list)


class Actor(Protocol):
    """The policy copy inside a worker."""

    def initial_state(self, num_envs: int) -> State:
        """The state before an episode's first step, for ``num_envs`` envs (``{}``: no memory)."""
        ...

    def act(self, obs: np.ndarray, state: State, episode_start: np.ndarray, explore: bool = True
            ) -> tuple[np.ndarray, State, Extras]:
        """Actions ``[E]`` for observations ``[E, ...]``, the state after them, and per-env extras.

        Rows where ``episode_start`` ``[E]`` is True begin an episode: their ``state`` rows are replaced by
        the initial state first. ``explore=False`` is greedy."""
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

    def metrics(self) -> dict[str, float]:
        """Numbers summarised since the last call, for the metrics log (``{}`` if the learner keeps none)."""
        ...
