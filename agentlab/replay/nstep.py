"""n-step transitions, accumulated at insert time (Dopamine's split: accumulator before storage).

The n-step target of Sutton (1988) as used by Rainbow (Hessel et al. 2018, eq. 2):
``R_t^(k) = sum_{j<k} γ^j r_{t+j}`` bootstrapped with ``γ^k max_a q(s_{t+k}, a)``. An episode that
ends inside the k steps shortens the sum: termination removes the bootstrap (discount 0), truncation
keeps it from the true final observation, since the state there still has a value.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from agentlab.core import Fragment


class Transitions(NamedTuple):
    """A batch of n-step transitions, leading dim ``B``."""

    obs: np.ndarray
    """``[B, *obs_shape]`` s_t."""
    action: np.ndarray
    """``[B]`` int64 a_t."""
    reward: np.ndarray
    """``[B]`` float32 ``r_t + γ r_{t+1} + ... + γ^{k-1} r_{t+k-1}``."""
    next_obs: np.ndarray
    """``[B, *obs_shape]`` s_{t+k} (the true final observation when the episode ended)."""
    discount: np.ndarray
    """``[B]`` float32 γ^k, or 0 when the episode terminated within the k steps."""
    stream: np.ndarray
    """``[B]`` int64 env stream (``worker * envs_per_worker + env``) that produced it."""

    @staticmethod
    def concat(parts: list[Transitions]) -> Transitions:
        return Transitions(*(np.concatenate([getattr(p, f) for p in parts]) for f in Transitions._fields))


class _Pending(NamedTuple):
    """The last steps of one stream whose n-step transition is not known yet (at most n-1, no episode end)."""

    obs: np.ndarray
    action: np.ndarray
    reward: np.ndarray


class NStepAccumulator:
    """Turns time-major fragments into n-step transitions, carrying each stream's tail across calls.

    Fragments of one stream must arrive in order; streams may interleave freely. Transitions of a
    stream come out in order of their start step, which ``FrameStorage`` relies on to find shared frames.
    """

    def __init__(self, n: int, gamma: float):
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        self.n = n
        self.gamma = gamma
        self._pending: dict[int, _Pending] = {}

    def add(self, fragment: Fragment, stream_offset: int) -> Transitions:
        """The transitions this fragment completes; its env ``e`` is stream ``stream_offset + e``."""
        num_envs = fragment.rewards.shape[1]
        return Transitions.concat([self._add_stream(fragment, e, stream_offset + e) for e in range(num_envs)])

    def _add_stream(self, fragment: Fragment, env: int, stream: int) -> Transitions:
        n, gamma = self.n, self.gamma
        steps = fragment.rewards.shape[0]
        pending = self._pending.get(stream)
        if pending is None:
            obs_shape = fragment.obs.shape[2:]
            pending = _Pending(
                np.empty((0, *obs_shape), fragment.obs.dtype), np.empty(0, np.int64), np.empty(0, np.float64)
            )
        num_pending = len(pending.reward)
        # The stream's timeline: pending steps (never ended) followed by this fragment's steps.
        obs = np.concatenate([pending.obs, fragment.obs[:, env]])  # [L, *obs_shape]
        action = np.concatenate([pending.action, fragment.actions[:, env].astype(np.int64)])  # [L]
        reward = np.concatenate([pending.reward, fragment.rewards[:, env].astype(np.float64)])  # [L]
        never = np.zeros(num_pending, bool)  # pending steps did not end their episode
        terminated = np.concatenate([never, fragment.terminated[:, env].astype(bool)])  # [L]
        done = terminated | np.concatenate([never, fragment.truncated[:, env].astype(bool)])  # [L]
        length = num_pending + steps

        # The last step of the transition starting at i: n steps on, or the episode's end if sooner.
        done_at = np.where(done, np.arange(length), length + n)  # [L]
        next_done = np.minimum.accumulate(done_at[::-1])[::-1]  # [L] first episode end at or after i
        start = np.arange(length)  # [L]
        last = np.minimum(start + n - 1, next_done)  # [L]
        ready = last < length  # [L] all its steps are known
        start, last = start[ready], last[ready]  # [B]
        num_rewards = last - start + 1  # [B] k

        # R = sum_{j<k} γ^j r_{t+j}: a loop over the n offsets, vectorised over start steps.
        padded = np.concatenate([reward, np.zeros(n)])  # [L + n]
        n_step_reward = np.zeros(len(start))  # [B]
        for j in range(n):
            n_step_reward += np.where(j < num_rewards, gamma**j * padded[start + j], 0.0)
        discount = np.where(terminated[last], 0.0, gamma**num_rewards)  # [B]

        next_obs = fragment.next_obs[last - num_pending, env]  # [B, *obs_shape]  last >= num_pending always
        keep = ~ready  # the tail still waiting for later steps: fewer than n, none ended
        self._pending[stream] = _Pending(obs[keep], action[keep], reward[keep])
        return Transitions(
            obs=obs[start],
            action=action[start],
            reward=n_step_reward.astype(np.float32),
            next_obs=next_obs,
            discount=discount.astype(np.float32),
            stream=np.full(len(start), stream, np.int64),
        )

    def state_dict(self) -> dict[int, dict[str, np.ndarray]]:
        """Each stream's steps still waiting for their n-step transition."""
        return {stream: p._asdict() for stream, p in self._pending.items()}

    def load_state_dict(self, state: dict[int, dict[str, np.ndarray]]) -> None:
        self._pending = {int(stream): _Pending(**p) for stream, p in state.items()}
