"""Transition storage with uniform or proportional prioritized sampling (``sampler``).

Experience replay: Lin (1992), as used by DQN (Mnih et al. 2015); prioritized replay: Schaul et al. 2016.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from agentlab.config import ConfigError
from agentlab.replay.frames import FrameStorage, frame_storage_nbytes
from agentlab.replay.nstep import Transitions
from agentlab.replay.sampler import SampledStorage, Sampler
from agentlab.replay.sum_tree import SumTree


class ReplayBatch(NamedTuple):
    """A sampled batch, leading dim ``B``; fields as in ``Transitions``."""

    obs: np.ndarray
    """``[B, *obs_shape]``."""
    action: np.ndarray
    """``[B]`` int64."""
    reward: np.ndarray
    """``[B]`` float32 n-step discounted return."""
    next_obs: np.ndarray
    """``[B, *obs_shape]``."""
    discount: np.ndarray
    """``[B]`` float32 γ^k, 0 after termination."""
    weights: np.ndarray
    """``[B]`` float32 importance weights (all ones for uniform sampling)."""
    indices: np.ndarray
    """``[B]`` int64 slots, to pass back to ``update_priorities``."""


def replay_nbytes(capacity: int, obs_shape: tuple, obs_dtype: Any, prioritized: bool = False, frame_stack: int = 0,
                  frame_capacity: int | None = None) -> int:
    """Bytes ``ReplayBuffer`` with these arguments will hold (its ``nbytes``), computed without allocating.

    Observations: ``obs`` and ``next_obs`` whole, or frames once (``FrameStorage``); then int64 actions,
    float32 rewards and discounts, and a float64 sum-tree of ``2 * 2^ceil(log2 capacity)`` nodes if prioritized.
    """
    obs_shape = tuple(obs_shape)
    if frame_stack:
        if len(obs_shape) != 3 or obs_shape[0] != frame_stack or np.dtype(obs_dtype) != np.uint8:
            raise ConfigError(f"frame_stack={frame_stack} needs uint8 [{frame_stack}, H, W] observations, got "
                              f"{np.dtype(obs_dtype)} {list(obs_shape)}; use --set frame_stack=0 (or -1: auto)")
        stored = frame_storage_nbytes(capacity, obs_shape[1:], frame_stack, frame_capacity)
    else:
        stored = 2 * capacity * int(np.prod(obs_shape, dtype=np.int64)) * np.dtype(obs_dtype).itemsize
    tree = 2 * (1 << (capacity - 1).bit_length()) * 8 if prioritized else 0
    return stored + capacity * (8 + 4 + 4) + tree


class ReplayBuffer(SampledStorage):
    """A FIFO of the newest ``capacity`` transitions.

    With ``frame_stack = k > 0`` observations are ``[k, H, W]`` uint8 stacks kept as single frames
    (``FrameStorage``) in a ring of ``frame_capacity`` frames (default ``capacity * 33/32 + 4096``);
    if that ring fills first (episodes shorter than ~32 steps), the oldest transitions leave early, so
    ``len`` can stay a little below ``capacity``.
    """

    def __init__(
        self,
        capacity: int,
        obs_shape: tuple,
        obs_dtype: Any,
        seed: int,
        prioritized: bool = False,
        alpha: float = 0.5,
        beta0: float = 0.4,
        beta_steps: int = 100_000,
        priority_eps: float = 1e-6,
        frame_stack: int = 0,
        frame_capacity: int | None = None,
    ):
        self.capacity = capacity
        self.obs_shape = tuple(obs_shape)
        self.sampler = Sampler(capacity, seed, prioritized, alpha, beta0, beta_steps, priority_eps)
        self._frames: FrameStorage | None = None
        if frame_stack:
            stacked = len(self.obs_shape) == 3 and self.obs_shape[0] == frame_stack
            if not stacked or np.dtype(obs_dtype) != np.uint8:
                raise ValueError(f"frame_stack={frame_stack} needs uint8 [k, H, W]: {obs_shape} {obs_dtype}")
            self._frames = FrameStorage(capacity, self.obs_shape[1:], frame_stack, frame_capacity)
        else:
            self._obs = np.zeros((capacity, *self.obs_shape), obs_dtype)  # [C, *obs_shape]
            self._next_obs = np.zeros((capacity, *self.obs_shape), obs_dtype)  # [C, *obs_shape]
        self._action = np.zeros(capacity, np.int64)
        self._reward = np.zeros(capacity, np.float32)
        self._discount = np.zeros(capacity, np.float32)
        self._added = 0  # transitions ever added; the next goes to slot _added % capacity
        self._size = 0  # live transitions: slots of the last _size additions
        self._priority_updates: list[tuple[int, float]] = []  # tree writes during one frame-storage add

    @property
    def learner_steps(self) -> int:
        return self.sampler.learner_steps

    @learner_steps.setter
    def learner_steps(self, steps: int) -> None:
        self.sampler.learner_steps = steps

    @property
    def _tree(self) -> SumTree | None:
        return self.sampler.tree

    @property
    def nbytes(self) -> int:
        """Bytes of every array the buffer holds."""
        arrays = [self._action, self._reward, self._discount]
        arrays += [self._tree._nodes] if self._tree is not None else []
        stored = self._frames.nbytes if self._frames is not None else self._obs.nbytes + self._next_obs.nbytes
        return stored + sum(a.nbytes for a in arrays)

    def add(self, transitions: Transitions) -> None:
        """Append transitions, evicting the oldest beyond ``capacity``."""
        if len(transitions.action) > self.capacity:  # only the newest fit
            transitions = Transitions(*(x[-self.capacity :] for x in transitions))
        if self._frames is None:
            self._add_arrays(transitions)
        else:
            self._add_frames(transitions)

    def _add_arrays(self, t: Transitions) -> None:
        slots = (self._added + np.arange(len(t.action))) % self.capacity  # [B] overwrite the oldest
        self._obs[slots] = t.obs
        self._next_obs[slots] = t.next_obs
        self._write_scalars(slots, t)
        self._added += len(slots)
        self._size = min(self._size + len(slots), self.capacity)
        self.sampler.added(slots)

    def _add_frames(self, t: Transitions) -> None:
        assert self._frames is not None
        slots = np.empty(len(t.action), np.int64)
        for i in range(len(t.action)):
            if self._size == self.capacity:
                self._evict_oldest()
            slots[i] = self._added % self.capacity
            self._frames.put(int(slots[i]), int(t.stream[i]), t.obs[i], t.next_obs[i], self._evict_oldest)
            self._added += 1
            self._size += 1
            self._priority_updates.append((int(slots[i]), self.sampler.new_priority))
        self._write_scalars(slots, t)
        if self._tree is not None and self._priority_updates:  # in order: evicted after added ends at zero
            indices, values = zip(*self._priority_updates, strict=True)
            self._tree.update_batch(np.array(indices), np.array(values))
        self._priority_updates.clear()

    def _evict_oldest(self) -> None:
        """Drop the oldest live transition (frame storage only: array slots are simply overwritten)."""
        if self._size == 0:
            raise RuntimeError("frame ring too small for one transition; raise frame_capacity")
        slot = (self._added - self._size) % self.capacity
        self._frames.release(slot)
        self._size -= 1
        self._priority_updates.append((slot, 0.0))

    def _write_scalars(self, slots: np.ndarray, t: Transitions) -> None:
        self._action[slots] = t.action
        self._reward[slots] = t.reward
        self._discount[slots] = t.discount

    def sample(self, batch_size: int) -> ReplayBatch:
        """A batch of live transitions; also advances the β schedule by one learner step."""
        if self._size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        indices, weights = self.sampler.sample(batch_size, self._added, self._size)
        if self._frames is None:
            obs, next_obs = self._obs[indices], self._next_obs[indices]
        else:
            obs, next_obs = self._frames.get(indices)  # [B, k, H, W] each
        return ReplayBatch(
            obs=obs,
            action=self._action[indices],
            reward=self._reward[indices],
            next_obs=next_obs,
            discount=self._discount[indices],
            weights=weights,
            indices=indices.astype(np.int64),
        )

    def state_dict(self, contents: bool = True) -> dict[str, Any]:
        """The β clock, max priority and RNG, and with ``contents`` every stored transition and priority."""
        state: dict[str, Any] = self.sampler.state_dict()
        if contents:
            filled = min(self._added, self.capacity)  # slots are filled in order from 0
            arrays = {"action": self._action, "reward": self._reward, "discount": self._discount}
            if self._frames is None:
                arrays.update(obs=self._obs, next_obs=self._next_obs)
            state["contents"] = {
                "added": self._added, "size": self._size,
                **{name: a[:filled] for name, a in arrays.items()},
                "tree": None if self._tree is None else self._tree.state_dict(),
                "frames": None if self._frames is None else self._frames.state_dict(),
            }
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore ``state_dict``; without ``contents`` the buffer stays as it is (empty after a restart)."""
        self.sampler.load_state_dict(state)
        contents = state.get("contents")
        if contents is None:
            return
        filled = len(contents["action"])
        if filled > self.capacity:
            raise ValueError(f"the checkpoint's replay holds {filled} transitions; this buffer has room for "
                             f"{self.capacity}: resume with the run's own buffer_size")
        self._added, self._size = int(contents["added"]), int(contents["size"])
        for name in ("action", "reward", "discount") + (("obs", "next_obs") if self._frames is None else ()):
            getattr(self, f"_{name}")[:filled] = contents[name]
        if self._tree is not None:
            self._tree.load_state_dict(contents["tree"])
        if self._frames is not None:
            self._frames.load_state_dict(contents["frames"])
