"""Sequence replay for agents with memory (R2D2: Kapturowski et al. 2019, Sec. 3), in Dopamine's parts.

``SequenceAccumulator`` cuts each env stream into sequences of ``length`` steps, adjacent ones sharing
``overlap`` steps, that never cross an episode: an episode's last sequence is cut at its end and padded
(``mask`` False). Each keeps the actor's stored state at its first step and at ``burn_in``, so the learner
can start the network there and measure how stale the stored state is. ``SequenceBuffer`` stores them and
samples with the same ``Sampler`` (and sum-tree) as transition replay.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from agentlab.core import Fragment
from agentlab.replay.sampler import SampledStorage, Sampler

STATE_PREFIX = "state."
"""Extras named ``state.<name>``: the actor's state each step was acted from (the DQN actor with memory)."""


class Sequences(NamedTuple):
    """A batch of stored sequences, leading dim ``B``; ``L`` steps each."""

    obs: np.ndarray
    """``[B, L + 1, *obs_shape]``: the observation of each step, then the one after the last real step (the
    true final observation if the episode ended); zeros after it."""
    action: np.ndarray
    """``[B, L]`` int64."""
    reward: np.ndarray
    """``[B, L]`` float32."""
    terminated: np.ndarray
    """``[B, L]`` bool: the step ended its episode by termination (no bootstrap beyond it)."""
    mask: np.ndarray
    """``[B, L]`` bool: real steps; False is padding after the episode's end."""
    episode_start: np.ndarray
    """``[B]`` bool: ``obs[:, 0]`` begins its episode, so the true state there is the initial one."""
    state: dict[str, np.ndarray]
    """``[B, ...]``: the actor's state going into ``obs[:, 0]``."""
    burn_in_state: dict[str, np.ndarray]
    """``[B, ...]``: the actor's state going into ``obs[:, burn_in]`` (for the stored-state discrepancy)."""
    weights: np.ndarray
    """``[B]`` float32 importance weights (ones when uniform)."""
    indices: np.ndarray
    """``[B]`` int64 slots, for ``update_priorities``."""


class _Stream:
    """One env stream's steps since the start of its current (not yet emitted) sequence."""

    def __init__(self) -> None:
        self.obs: list[np.ndarray] = []
        self.action: list[int] = []
        self.reward: list[float] = []
        self.terminated: list[bool] = []
        self.state: list[dict[str, np.ndarray]] = []
        self.episode_start = False  # obs[0] begins the episode
        self.covered = 0  # leading steps already in an emitted sequence (the overlap)

    def keep_last(self, count: int) -> None:
        for steps in (self.obs, self.action, self.reward, self.terminated, self.state):
            del steps[:len(steps) - count]
        self.episode_start, self.covered = False, count


class SequenceAccumulator:
    """Turns time-major fragments into sequences, carrying each stream's unfinished one across calls."""

    def __init__(self, length: int, overlap: int, burn_in: int):
        if not 0 <= overlap < length or not 0 <= burn_in < length:
            raise ValueError(f"need 0 <= overlap, burn_in < length; got {overlap}, {burn_in}, {length}")
        self.length, self.overlap, self.burn_in = length, overlap, burn_in
        self._streams: dict[int, _Stream] = {}

    def add(self, fragment: Fragment, stream_offset: int) -> list[dict[str, Any]]:
        """The sequences this fragment completes (one dict of arrays each); env ``e`` is stream ``offset + e``."""
        names = [name for name in fragment.extras if name.startswith(STATE_PREFIX)]
        if not names:
            raise ValueError("sequence replay needs the actor's state at every step (extras 'state.*'): "
                             "an actor with memory reports it")
        done = fragment.terminated | fragment.truncated
        out = []
        for e in range(fragment.rewards.shape[1]):
            stream = self._streams.setdefault(stream_offset + e, _Stream())
            for t in range(fragment.rewards.shape[0]):
                if fragment.episode_start[t, e]:
                    stream.keep_last(0)  # a new episode: nothing before it belongs to its sequences
                    stream.episode_start = True
                stream.obs.append(fragment.obs[t, e])
                stream.action.append(int(fragment.actions[t, e]))
                stream.reward.append(float(fragment.rewards[t, e]))
                stream.terminated.append(bool(fragment.terminated[t, e]))
                stream.state.append({name[len(STATE_PREFIX):]: fragment.extras[name][t, e] for name in names})
                if done[t, e]:
                    if len(stream.obs) > stream.covered:  # steps no sequence holds yet
                        out.append(self._emit(stream, fragment.next_obs[t, e]))
                    stream.keep_last(0)
                elif len(stream.obs) == self.length:
                    out.append(self._emit(stream, fragment.next_obs[t, e]))
                    stream.keep_last(self.overlap)
        return out

    def _emit(self, stream: _Stream, last_next_obs: np.ndarray) -> dict[str, Any]:
        steps, length = len(stream.obs), self.length
        obs = np.zeros((length + 1, *last_next_obs.shape), last_next_obs.dtype)
        obs[:steps] = stream.obs
        obs[steps] = last_next_obs
        pad = length - steps

        def padded(values: list, dtype: Any) -> np.ndarray:
            return np.concatenate([np.asarray(values, dtype), np.zeros(pad, dtype)])

        burn_in = min(self.burn_in, steps - 1)
        return {"obs": obs, "action": padded(stream.action, np.int64), "reward": padded(stream.reward, np.float32),
                "terminated": padded(stream.terminated, bool), "mask": padded([True] * steps, bool),
                "episode_start": stream.episode_start, "state": stream.state[0],
                "burn_in_state": stream.state[burn_in]}

    def state_dict(self) -> dict[int, dict[str, Any]]:
        return {key: vars(stream) for key, stream in self._streams.items()}

    def load_state_dict(self, state: dict[int, dict[str, Any]]) -> None:
        self._streams = {}
        for key, saved in state.items():
            stream = _Stream()
            vars(stream).update(saved)
            self._streams[int(key)] = stream


class SequenceBuffer(SampledStorage):
    """A FIFO of the newest ``capacity`` sequences, sampled uniformly or by priority (``Sampler``)."""

    def __init__(self, capacity: int, length: int, obs_shape: tuple, obs_dtype: Any, seed: int,
                 prioritized: bool = False, alpha: float = 0.5, beta0: float = 0.4, beta_steps: int = 100_000,
                 priority_eps: float = 1e-6):
        self.capacity, self.length = capacity, length
        self.sampler = Sampler(capacity, seed, prioritized, alpha, beta0, beta_steps, priority_eps)
        self._arrays = {"obs": np.zeros((capacity, length + 1, *obs_shape), obs_dtype),
                        "action": np.zeros((capacity, length), np.int64),
                        "reward": np.zeros((capacity, length), np.float32),
                        "terminated": np.zeros((capacity, length), bool),
                        "mask": np.zeros((capacity, length), bool),
                        "episode_start": np.zeros(capacity, bool)}
        self._states: dict[str, dict[str, np.ndarray]] = {}  # "state" / "burn_in_state" → name → [C, ...]
        self._added = 0
        self._size = 0

    @property
    def nbytes(self) -> int:
        arrays = [*self._arrays.values(), *(a for part in self._states.values() for a in part.values())]
        return sum(a.nbytes for a in arrays) + (0 if self.sampler.tree is None else self.sampler.tree._nodes.nbytes)

    def add(self, sequences: list[dict[str, Any]]) -> None:
        """Append sequences (``SequenceAccumulator.add``'s), evicting the oldest beyond ``capacity``."""
        sequences = sequences[-self.capacity:]
        if not sequences:
            return
        slots = (self._added + np.arange(len(sequences))) % self.capacity
        for name, array in self._arrays.items():
            array[slots] = np.stack([s[name] for s in sequences])
        for part in ("state", "burn_in_state"):
            stored = self._states.setdefault(part, {
                name: np.zeros((self.capacity, *np.shape(value)), np.asarray(value).dtype)
                for name, value in sequences[0][part].items()})
            for name, array in stored.items():
                array[slots] = np.stack([s[part][name] for s in sequences])
        self._added += len(slots)
        self._size = min(self._size + len(slots), self.capacity)
        self.sampler.added(slots)

    def sample(self, batch_size: int) -> Sequences:
        if self._size == 0:
            raise ValueError("cannot sample from an empty sequence replay")
        indices, weights = self.sampler.sample(batch_size, self._added, self._size)
        states = {part: {name: a[indices] for name, a in stored.items()} for part, stored in self._states.items()}
        return Sequences(**{name: a[indices] for name, a in self._arrays.items()}, **states, weights=weights,
                         indices=indices.astype(np.int64))

    def state_dict(self, contents: bool = True) -> dict[str, Any]:
        state: dict[str, Any] = self.sampler.state_dict()
        if contents:
            filled = min(self._added, self.capacity)
            state["contents"] = {"added": self._added, "size": self._size,
                                 "arrays": {name: a[:filled] for name, a in self._arrays.items()},
                                 "states": {part: {name: a[:filled] for name, a in stored.items()}
                                            for part, stored in self._states.items()},
                                 "tree": None if self.sampler.tree is None else self.sampler.tree.state_dict()}
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sampler.load_state_dict(state)
        contents = state.get("contents")
        if contents is None:
            return
        filled = len(contents["arrays"]["action"])
        if filled > self.capacity:
            raise ValueError(f"the checkpoint's replay holds {filled} sequences; this buffer has room for "
                             f"{self.capacity}: resume with the run's own buffer_size")
        self._added, self._size = int(contents["added"]), int(contents["size"])
        for name, saved in contents["arrays"].items():
            self._arrays[name][:filled] = saved
        self._states = {}
        for part, saved in contents["states"].items():
            self._states[part] = {name: np.zeros((self.capacity, *a.shape[1:]), a.dtype) for name, a in saved.items()}
            for name, a in saved.items():
                self._states[part][name][:filled] = a
        if self.sampler.tree is not None:
            self.sampler.tree.load_state_dict(contents["tree"])
