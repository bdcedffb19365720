"""Frame-stacked observations stored one frame at a time (Mnih et al. 2015, Methods: "replay memory").

A stack of ``k`` frames shares ``k - 1`` frames with the previous stack of its stream, and an n-step
``next_obs`` is a later stack of the same stream, so storing ``obs`` and ``next_obs`` whole costs
``2k`` frames per transition where about one is new. ``FrameStorage`` keeps every frame once in a ring
and each transition as ``2k`` pointers into it; stacks are rebuilt by one gather when sampling.

Sharing is found by content, frame by frame: each stream remembers its last few frames by hash, and a
frame is reused only after comparing its bytes, so a pointer always reproduces exactly the frame that
was inserted, whatever the order of stacks, the n of n-step, or the env's padding at resets.
Reference counts guard eviction: a frame still used by a live transition is never overwritten; the
oldest transitions are evicted first instead. Only frames younger than half the ring's slack
(``frame_capacity - capacity``) are reused, so the frames of a transition outlive it whenever the data
averages at most about ``1 + slack / (2 * capacity)`` new frames per transition (Atari with reset
padding: one per step plus one per episode).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np


def default_frame_capacity(capacity: int) -> int:
    """~1 frame per transition, plus one per episode start (1/32: episodes of 32+ steps), plus room for the
    frames written by all streams between two adds of one stream (max_age >= 2048)."""
    return capacity + capacity // 32 + 4096


def frame_storage_nbytes(capacity: int, frame_shape: tuple[int, ...], stack: int,
                         frame_capacity: int | None = None) -> int:
    """Bytes ``FrameStorage(capacity, frame_shape, stack, frame_capacity).nbytes`` will be, without allocating."""
    frames = default_frame_capacity(capacity) if frame_capacity is None else frame_capacity
    frame_bytes = int(np.prod(frame_shape, dtype=np.int64))  # uint8
    return frames * (frame_bytes + 4) + 2 * capacity * stack * 4  # frames and int32 refs, int32 obs/next pointers


class FrameStorage:
    """``obs`` and ``next_obs`` stacks ``[k, H, W]`` uint8 of ``capacity`` transition slots."""

    def __init__(
        self,
        capacity: int,
        frame_shape: tuple[int, ...],
        stack: int,
        frame_capacity: int | None = None,
        lookback: int = 32,
    ):
        if frame_capacity is None:
            frame_capacity = default_frame_capacity(capacity)
        if frame_capacity < capacity + 4 * stack:
            raise ValueError(f"frame_capacity must be at least capacity + 4 * stack, got {frame_capacity}")
        self.stack = stack
        self.lookback = lookback
        """Distinct frames remembered per stream: must cover ``k + n`` to share n-step next_obs frames."""
        self.max_age = (frame_capacity - capacity) // 2
        """Frames written since a frame, beyond which it is not reused (its slot is overwritten soon)."""
        self.frames = np.zeros((frame_capacity, *frame_shape), np.uint8)  # [F, H, W]
        self.refs = np.zeros(frame_capacity, np.int32)  # [F] live transitions' pointers to each frame
        self.obs_ptr = np.zeros((capacity, stack), np.int32)  # [C, k] frame slots of obs
        self.next_ptr = np.zeros((capacity, stack), np.int32)  # [C, k] frame slots of next_obs
        self.frames_written = 0
        self._recent: dict[int, OrderedDict[int, int]] = {}  # stream -> {hash of bytes: frame number}

    @property
    def nbytes(self) -> int:
        return self.frames.nbytes + self.refs.nbytes + self.obs_ptr.nbytes + self.next_ptr.nbytes

    def get(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``obs, next_obs`` ``[B, k, H, W]`` of transition ``slots`` ``[B]``."""
        return self.frames[self.obs_ptr[slots]], self.frames[self.next_ptr[slots]]

    def put(
        self, slot: int, stream: int, obs: np.ndarray, next_obs: np.ndarray, evict_oldest: Callable[[], None]
    ) -> None:
        """Store one transition's stacks ``[k, H, W]`` in ``slot``, which must not be live.

        ``evict_oldest`` drops the oldest live transition (calling ``release``) when a frame must be
        overwritten that it still uses.
        """
        recent = self._recent.setdefault(stream, OrderedDict())
        numbers = [self._frame_number(recent, frame, evict_oldest) for frame in (*obs, *next_obs)]
        slots = np.asarray(numbers) % len(self.frames)  # [2k]
        self.obs_ptr[slot], self.next_ptr[slot] = slots[: self.stack], slots[self.stack :]
        np.add.at(self.refs, slots, 1)

    def release(self, slot: int) -> None:
        """Drop an evicted transition's references."""
        np.subtract.at(self.refs, self.obs_ptr[slot], 1)
        np.subtract.at(self.refs, self.next_ptr[slot], 1)

    def _frame_number(
        self, recent: OrderedDict[int, int], frame: np.ndarray, evict_oldest: Callable[[], None]
    ) -> int:
        """The number of a stored frame equal to ``frame``: a recent one of the stream, else a new one."""
        data = frame.tobytes()
        key = hash(data)
        number = recent.get(key)
        if number is None or not self._reusable(number, data):
            number = self._write(frame, evict_oldest)
        recent[key] = number
        recent.move_to_end(key)
        if len(recent) > self.lookback:
            recent.popitem(last=False)
        return number

    def _reusable(self, number: int, data: bytes) -> bool:
        """Young enough to outlive this put's own writes (at most 2k <= max_age), and the same bytes."""
        young = number >= self.frames_written - self.max_age
        return young and self.frames[number % len(self.frames)].tobytes() == data

    def _write(self, frame: np.ndarray, evict_oldest: Callable[[], None]) -> int:
        slot = self.frames_written % len(self.frames)
        while self.refs[slot] > 0:  # a live transition still shows this frame: evict, oldest first
            evict_oldest()
        self.frames[slot] = frame
        self.frames_written += 1
        return self.frames_written - 1

    def state_dict(self) -> dict[str, Any]:
        """The ring and pointers; each stream's recent frames by number (their hashes differ per process)."""
        written = min(self.frames_written, len(self.frames))
        return {"frames": self.frames[:written], "refs": self.refs, "obs_ptr": self.obs_ptr,
                "next_ptr": self.next_ptr, "frames_written": self.frames_written,
                "recent": {stream: list(recent.values()) for stream, recent in self._recent.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.frames[: len(state["frames"])] = state["frames"]
        self.refs[:], self.obs_ptr[:], self.next_ptr[:] = state["refs"], state["obs_ptr"], state["next_ptr"]
        self.frames_written = int(state["frames_written"])
        self._recent = {
            int(stream): OrderedDict((hash(self.frames[n % len(self.frames)].tobytes()), int(n)) for n in numbers)
            for stream, numbers in state["recent"].items()}
