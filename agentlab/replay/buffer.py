"""Replay storage with uniform or proportional prioritized sampling.

Experience replay: Lin (1992), as used by DQN (Mnih et al. 2015). Prioritized replay, proportional
variant: Schaul et al. 2016, "Prioritized Experience Replay", Algorithm 1: ``P(i) = p_i^α / Σ_k p_k^α``
with ``p_i = |δ_i| + ε`` (eq. 1), importance weights ``w_i = (N · P(i))^-β / max_j w_j`` with β annealed
from β₀ up to 1 (Sec. 3.4), new transitions at the maximum priority so far, and sampling stratified
into ``B`` equal segments of the priority total (Appendix B.2.1).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from agentlab.config import ConfigError
from agentlab.replay.frames import FrameStorage, frame_storage_nbytes
from agentlab.replay.nstep import Transitions
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


class ReplayBuffer:
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
        self.alpha, self.beta0, self.beta_steps, self.priority_eps = alpha, beta0, beta_steps, priority_eps
        self._rng = np.random.default_rng(seed)
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
        self._tree = SumTree(capacity) if prioritized else None
        self.max_priority = 1.0
        """The largest ``p = |priority| + ε`` seen; new transitions enter with ``max_priority ** α``."""
        self.learner_steps = 0
        """Calls to ``sample``: the clock of the β schedule."""
        self._added = 0  # transitions ever added; the next goes to slot _added % capacity
        self._size = 0  # live transitions: slots of the last _size additions
        self._priority_updates: list[tuple[int, float]] = []  # tree writes during one frame-storage add

    def __len__(self) -> int:
        return self._size

    @property
    def beta(self) -> float:
        """β, linear from β₀ at step 0 to 1 at ``beta_steps``, then 1."""
        progress = min(1.0, self.learner_steps / self.beta_steps) if self.beta_steps > 0 else 1.0
        return self.beta0 + (1.0 - self.beta0) * progress

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
        if self._tree is not None:
            self._tree.update_batch(slots, self.max_priority**self.alpha)

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
            self._priority_updates.append((int(slots[i]), self.max_priority**self.alpha))
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
        if self._tree is None:
            oldest = self._added - self._size
            indices = (oldest + self._rng.integers(self._size, size=batch_size)) % self.capacity  # [B]
            weights = np.ones(batch_size, np.float32)
        else:
            indices, weights = self._sample_prioritized(batch_size)
        self.learner_steps += 1
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

    def _sample_prioritized(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        assert self._tree is not None
        total = self._tree.total
        # One uniform draw in each of B equal segments of [0, total): stratified sampling.
        prefix_sums = (np.arange(batch_size) + self._rng.random(batch_size)) * (total / batch_size)  # [B]
        indices = self._tree.find_batch(prefix_sums)  # [B]
        probs = self._tree.get(indices) / total  # [B] P(i) = p_i^α / Σ_k p_k^α
        weights = (self._size * probs) ** -self.beta  # [B] w_i = (N · P(i))^-β
        return indices, (weights / weights.max()).astype(np.float32)  # normalised by the batch's max w

    def update_priorities(self, indices: np.ndarray, priorities: np.ndarray) -> None:
        """Set ``p = |priority| + ε`` (``|δ|`` or a per-sample loss) for sampled slots; no-op when uniform.

        Slots not live (evicted by a full frame ring, or never filled) are skipped, so a stale priority
        never revives them. A slot overwritten by a newer transition cannot be told apart from its old
        self: update priorities before adding more transitions.
        """
        if self._tree is None:
            return
        indices = np.asarray(indices, np.int64)
        p = np.abs(np.asarray(priorities, np.float64)) + self.priority_eps  # [B]
        if not np.all(np.isfinite(p)):
            raise ValueError("priorities must be finite")
        live = (self._added - 1 - indices) % self.capacity < self._size  # [B] among the last _size slots
        self._tree.update_batch(indices[live], p[live] ** self.alpha)
        if live.any():
            self.max_priority = max(self.max_priority, float(p[live].max()))

    def state_dict(self, contents: bool = True) -> dict[str, Any]:
        """The β clock, max priority and RNG, and with ``contents`` every stored transition and priority."""
        state: dict[str, Any] = {
            "learner_steps": self.learner_steps,
            "max_priority": self.max_priority,
            "rng": self._rng.bit_generator.state,
        }
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
        self.learner_steps = int(state["learner_steps"])
        self.max_priority = float(state["max_priority"])
        self._rng.bit_generator.state = state["rng"]
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
