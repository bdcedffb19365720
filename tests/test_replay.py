"""Replay: n-step returns against hand-computed values, the sum-tree, PER sampling and weights, frames."""

from __future__ import annotations

import numpy as np
import pytest

from agentlab.core import Fragment
from agentlab.replay import FrameStorage, NStepAccumulator, ReplayBuffer, SumTree, Transitions

GAMMA = 0.9
FINAL = 100  # the final observation of an episode ending at step t has id FINAL + t

# One stream: rewards 1..5 in an episode that ends at step 4, then a second episode (steps 5..7).
REWARDS = [1.0, 2.0, 3.0, 4.0, 5.0, 10.0, 20.0, 30.0]


def _stream_steps(end: str) -> list[tuple[float, str]]:
    return [(r, end if t == 4 else "") for t, r in enumerate(REWARDS)]


def _fragment(steps_by_env: list[list[tuple[float, str]]], first: int, ids_offset: list[int]) -> Fragment:
    """Steps ``first..`` of each env: obs id = step + offset; next_obs id = obs id + 1 (+ FINAL at an end)."""
    steps = len(steps_by_env[0])
    t = np.arange(first, first + steps)
    obs = np.stack([t + off for off in ids_offset], axis=1).astype(np.float32)[..., None]  # [T, E, 1]
    rewards = np.array([[r for r, _ in env] for env in steps_by_env], np.float32).T  # [T, E]
    term = np.array([[e == "term" for _, e in env] for env in steps_by_env]).T  # [T, E]
    trunc = np.array([[e == "trunc" for _, e in env] for env in steps_by_env]).T
    next_obs = np.where((term | trunc)[..., None], obs + FINAL, obs + 1).astype(np.float32)
    actions = obs[..., 0].astype(np.int64)
    return Fragment.feedforward(obs, actions, rewards, next_obs, term, trunc, np.zeros_like(actions), 0, 0)


def _rows(t: Transitions) -> list[tuple[int, float, float, float]]:
    """``(start step, reward, discount, next_obs id)`` sorted by start step."""
    order = np.argsort(t.action, kind="stable")
    return [
        (int(t.action[i]), float(t.reward[i]), float(t.discount[i]), float(t.next_obs[i, 0])) for i in order
    ]


# (n, steps, expected rows).  R = Σ_{j<k} γ^j r_{t+j}, discount γ^k or 0 on termination.
NSTEP_CASES = [
    (
        3,
        _stream_steps("term"),
        [
            (0, 1 + 0.9 * 2 + 0.81 * 3, 0.729, 3),  # 5.23, a full 3-step return
            (1, 2 + 0.9 * 3 + 0.81 * 4, 0.729, 4),  # 7.94
            (2, 3 + 0.9 * 4 + 0.81 * 5, 0.0, 104),  # 10.65, the episode terminated at its last step
            (3, 4 + 0.9 * 5, 0.0, 104),  # 8.5, cut short by termination: no bootstrap
            (4, 5.0, 0.0, 104),
            (5, 10 + 0.9 * 20 + 0.81 * 30, 0.729, 8),  # 52.3, next episode; steps 6 and 7 still pending
        ],
    ),
    (
        3,
        _stream_steps("trunc"),
        [
            (0, 5.23, 0.729, 3),
            (1, 7.94, 0.729, 4),
            (2, 10.65, 0.729, 104),  # truncated: bootstrap from the true final obs
            (3, 8.5, 0.81, 104),  # γ^2 for the 2 steps taken
            (4, 5.0, 0.9, 104),
            (5, 52.3, 0.729, 8),
        ],
    ),
    (
        1,
        _stream_steps("term"),
        [(0, 1, 0.9, 1), (1, 2, 0.9, 2), (2, 3, 0.9, 3), (3, 4, 0.9, 4), (4, 5, 0.0, 104)]
        + [(5, 10, 0.9, 6), (6, 20, 0.9, 7), (7, 30, 0.9, 8)],
    ),
    (  # episodes shorter than n: one step (terminated), two steps (truncated), then three and more
        3,
        [(1, "term"), (2, ""), (3, "trunc"), (4, ""), (5, ""), (6, "term"), (7, ""), (8, "")],
        [
            (0, 1.0, 0.0, 100),
            (1, 2 + 0.9 * 3, 0.81, 102),  # 4.7
            (2, 3.0, 0.9, 102),
            (3, 4 + 0.9 * 5 + 0.81 * 6, 0.0, 105),  # 13.36
            (4, 5 + 0.9 * 6, 0.0, 105),  # 10.4
            (5, 6.0, 0.0, 105),
        ],
    ),
]
SPLITS = [[8], [3, 5], [1] * 8, [2, 2, 4], [5, 3]]


@pytest.mark.parametrize("n, steps, expected", NSTEP_CASES)
@pytest.mark.parametrize("split", SPLITS)
def test_nstep_returns_across_fragment_boundaries(n, steps, expected, split):
    acc = NStepAccumulator(n, GAMMA)
    parts, first = [], 0
    for length in split:
        parts.append(acc.add(_fragment([steps[first : first + length]], first, [0]), stream_offset=3))
        first += length
    out = Transitions.concat(parts)
    np.testing.assert_allclose(np.array(_rows(out)), np.array(expected, float), rtol=1e-6)
    assert out.obs[:, 0].tolist() == sorted(out.action.tolist())  # obs s_t belongs to start step t
    assert set(out.stream.tolist()) == {3}
    assert (out.reward.dtype, out.discount.dtype, out.action.dtype) == (np.float32, np.float32, np.int64)


def test_nstep_streams_interleaved():
    """Two workers of two envs each, fragments interleaved: each stream matches its solo result."""
    term, trunc = _stream_steps("term"), _stream_steps("trunc")
    acc = NStepAccumulator(3, GAMMA)
    out = []
    for first, length in [(0, 3), (3, 5)]:
        for offset, envs in [(0, [term, trunc]), (2, [trunc, term])]:
            fragment = _fragment([env[first : first + length] for env in envs], first, [0, 1000])
            out.append(acc.add(fragment, stream_offset=offset))
    out = Transitions.concat(out)
    expected = {0: NSTEP_CASES[0][2], 1: NSTEP_CASES[1][2], 2: NSTEP_CASES[1][2], 3: NSTEP_CASES[0][2]}
    for stream, rows in expected.items():
        got = np.array(_rows(Transitions(*(x[out.stream == stream] for x in out))))
        got[:, 0] %= 1000  # env 1 of each worker has ids offset by 1000
        got[:, 3] %= 1000
        np.testing.assert_allclose(got, np.array(rows, float), rtol=1e-6)


def test_sum_tree_hand_example():
    tree = SumTree(5)  # not a power of two
    tree.update_batch(np.arange(5), np.array([1.0, 2.0, 0.0, 3.0, 4.0]))
    assert tree.total == 10.0
    prefix = [0.0, 0.99, 1.0, 2.99, 3.0, 5.99, 6.0, 9.99, 10.0, 12.0]
    leaves = [0, 0, 1, 1, 3, 3, 4, 4, 4, 4]  # the zero leaf 2 is skipped; past the total: last positive leaf
    assert [tree.find(p) for p in prefix] == leaves
    assert tree.find_batch(np.array(prefix)).tolist() == leaves
    tree.update(1, 0.5)
    assert tree.total == 8.5 and tree.find(1.2) == 1 and tree.find(1.5) == 3
    tree.update_batch(np.array([0, 4, 0]), np.array([7.0, 1.0, 2.0]))  # repeated index: last wins
    assert tree.get(np.arange(5)).tolist() == [2.0, 0.5, 0.0, 3.0, 1.0] and tree.total == 6.5
    single = SumTree(1)
    single.update(0, 3.0)
    assert single.total == 3.0 and single.find(2.9) == 0
    with pytest.raises(ValueError):
        tree.update(0, float("nan"))


def _transitions(ids: list[int], obs_shape=(1,), stream: int = 0) -> Transitions:
    ids_arr = np.asarray(ids)
    obs = np.ones((len(ids), *obs_shape), np.float32) * ids_arr.reshape(-1, *[1] * len(obs_shape))
    return Transitions(
        obs=obs,
        action=ids_arr.astype(np.int64),
        reward=ids_arr.astype(np.float32),
        next_obs=obs + 1,
        discount=np.full(len(ids), 0.9, np.float32),
        stream=np.full(len(ids), stream, np.int64),
    )


def _prioritized(capacity: int, **kw) -> ReplayBuffer:
    return ReplayBuffer(capacity, (1,), np.float32, seed=0, prioritized=True, **kw)


def test_sampling_frequencies_match_priorities():
    buf = _prioritized(8, alpha=0.5, priority_eps=0.0)
    buf.add(_transitions([0, 1, 2, 3]))
    buf.update_priorities(np.arange(4), np.array([1.0, 4.0, 9.0, 16.0]))  # p^α = 1, 2, 3, 4
    counts = np.zeros(4)
    for _ in range(2000):
        counts += np.bincount(buf.sample(32).indices, minlength=4)
    np.testing.assert_allclose(counts / counts.sum(), [0.1, 0.2, 0.3, 0.4], atol=0.005)


def test_importance_weights_hand_example():
    buf = _prioritized(8, alpha=0.5, beta0=0.4, beta_steps=10, priority_eps=0.0)
    buf.add(_transitions([0, 1, 2, 3]))
    buf.update_priorities(np.arange(4), np.array([1.0, 4.0, 9.0, 16.0]))  # P = 0.1, 0.2, 0.3, 0.4
    # w_i = (N · P(i))^-β with N = 4, β = 0.4 at the first step:
    w = np.array([1.4426999059, 1.0933620739, 0.9296671848, 0.8286135043])
    for _ in range(20):
        batch = buf.sample(3)
        np.testing.assert_allclose(batch.weights, w[batch.indices] / w[batch.indices].max(), rtol=1e-6)
        buf.learner_steps = 0  # keep β at β₀
    assert batch.weights.dtype == np.float32
    uniform = ReplayBuffer(8, (1,), np.float32, seed=0)
    uniform.add(_transitions([0, 1, 2]))
    assert uniform.sample(5).weights.tolist() == [1.0] * 5


def test_beta_anneals_up_to_one_and_stays():
    buf = _prioritized(4, beta0=0.4, beta_steps=10)
    buf.add(_transitions([0, 1]))
    betas = []
    for _ in range(15):
        betas.append(buf.beta)
        buf.sample(2)
    np.testing.assert_allclose(betas, [0.4 + 0.06 * s for s in range(11)] + [1.0] * 4)


def test_new_transitions_enter_at_max_priority():
    buf = _prioritized(4, alpha=0.5, priority_eps=0.0)
    buf.add(_transitions([0, 1]))
    assert buf._tree.get(np.arange(2)).tolist() == [1.0, 1.0]  # initially 1.0
    buf.update_priorities(np.array([0, 1]), np.array([9.0, 0.25]))
    buf.add(_transitions([2]))
    np.testing.assert_allclose(buf._tree.get(np.arange(3)), [3.0, 0.5, 3.0])  # max p = 9 -> 9^0.5
    buf.update_priorities(np.array([0]), np.array([0.01]))
    buf.add(_transitions([3]))
    assert buf._tree.get(3) == 3.0  # the max seen so far, not the current max in the tree


@pytest.mark.parametrize("prioritized", [False, True])
def test_capacity_eviction_is_fifo(prioritized):
    buf = ReplayBuffer(5, (1,), np.float32, seed=0, prioritized=prioritized)
    buf.add(_transitions([]))
    buf.add(_transitions([0, 1, 2]))
    buf.add(_transitions([3, 4, 5, 6, 7]))
    assert len(buf) == 5
    seen = set()
    for _ in range(200):
        batch = buf.sample(8)
        np.testing.assert_array_equal(batch.obs[:, 0], batch.action)
        np.testing.assert_array_equal(batch.next_obs[:, 0], batch.action + 1)
        seen |= set(batch.action.tolist())
    assert seen == {3, 4, 5, 6, 7}
    buf.add(_transitions(list(range(10, 22))))  # more than capacity at once: the newest 5 stay
    assert {int(a) for a in buf.sample(200).action} == {17, 18, 19, 20, 21}


def test_update_priorities_skips_slots_not_live():
    buf = _prioritized(4, alpha=1.0, priority_eps=0.0)
    buf.add(_transitions([0, 1]))
    buf.update_priorities(np.array([1, 2, 3]), np.full(3, 5.0))  # slots 2 and 3 hold nothing yet
    assert buf._tree.get(np.arange(4)).tolist() == [1.0, 5.0, 0.0, 0.0]
    assert {int(i) for i in buf.sample(100).indices} == {0, 1}


def test_state_dict_restores_schedule_and_rng():
    buf = _prioritized(8)
    buf.add(_transitions([0, 1, 2, 3]))
    buf.sample(2)
    buf.update_priorities(np.array([1]), np.array([4.0]))
    state = buf.state_dict()
    expected = buf.sample(4)
    other = _prioritized(8)
    other.add(_transitions([0, 1, 2, 3]))
    other.update_priorities(np.array([1]), np.array([4.0]))
    other.load_state_dict(state)
    assert other.beta == pytest.approx(buf.beta - (1 - 0.4) / 100_000)
    np.testing.assert_array_equal(other.sample(4).indices, expected.indices)


class _StackedEnvs:
    """E streams of ``[k, H, W]`` uint8 stacks: each step shifts in a new frame; a reset repeats its frame.

    ``static`` is the chance that a new frame equals the previous one (a still screen), to exercise
    sharing of equal frames.
    """

    def __init__(self, num_envs, k, shape, episode_len, seed, static=0.0):
        self.rng = np.random.default_rng(seed)
        self.k, self.shape, self.episode_len, self.static = k, shape, episode_len, static
        self.stacks = np.stack([self._reset() for _ in range(num_envs)])  # [E, k, H, W]
        self.left = self.rng.integers(1, episode_len + 1, num_envs)

    def _reset(self):
        return np.repeat(self._frame()[None], self.k, axis=0)

    def _frame(self):
        return self.rng.integers(0, 256, self.shape, dtype=np.uint8)

    def fragment(self, steps: int) -> Fragment:
        obs, next_obs, term, trunc = [], [], [], []
        for _ in range(steps):
            obs.append(self.stacks.copy())
            for e, stack in enumerate(self.stacks):
                same = self.rng.random() < self.static
                self.stacks[e] = np.concatenate([stack[1:], stack[-1:] if same else self._frame()[None]])
            next_obs.append(self.stacks.copy())
            self.left -= 1
            ended = self.left == 0
            kind = self.rng.random(len(ended)) < 0.5
            term.append(ended & kind)
            trunc.append(ended & ~kind)
            for e in np.flatnonzero(ended):
                self.stacks[e] = self._reset()
                self.left[e] = self.rng.integers(1, self.episode_len + 1)
        actions = np.zeros((steps, len(self.stacks)), np.int64)
        rewards = np.ones((steps, len(self.stacks)), np.float32)
        term, trunc = np.stack(term), np.stack(trunc)
        return Fragment.feedforward(np.stack(obs), actions, rewards, np.stack(next_obs), term, trunc, actions, 0, 0)


def _live_slots(buf: ReplayBuffer) -> np.ndarray:
    return (buf._added - len(buf) + np.arange(len(buf))) % buf.capacity


# (capacity, frame_capacity, n, episode_len, static, rounds); frames are reused up to (80 - 0) // 2 = 40
# writes back, more than the 28 written between two adds of a stream. The last case starves the ring.
FRAME_CASES = [
    (60, 60 + 80, 3, 40, 0.0, 30),
    (60, 60 + 80, 1, 40, 0.0, 30),
    (60, 60 + 80, 3, 12, 0.3, 30),
    (60, None, 5, 40, 0.0, 10),
    (40, 40 + 16, 3, 2, 0.0, 20),
]


@pytest.mark.parametrize("capacity, frame_capacity, n, episode_len, static, rounds", FRAME_CASES)
def test_frame_storage_returns_inserted_stacks(capacity, frame_capacity, n, episode_len, static, rounds):
    k, shape = 4, (6, 5)
    envs = [_StackedEnvs(2, k, shape, episode_len, seed=s, static=static) for s in range(2)]
    acc = NStepAccumulator(n, GAMMA)
    buf = ReplayBuffer(capacity, (k, *shape), np.uint8, 0, True, frame_stack=k, frame_capacity=frame_capacity)
    inserted: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    episodes_ended = 0
    for _ in range(rounds):  # two workers of two envs, interleaved; wraps the buffer several times
        for worker, env in enumerate(envs):
            fragment = env.fragment(7)
            episodes_ended += fragment.episodes_ended
            t = acc.add(fragment, stream_offset=2 * worker)
            slots = (buf._added + np.arange(len(t.action))) % capacity
            buf.add(t)
            inserted.update({int(s): (t.obs[i], t.next_obs[i]) for i, s in enumerate(slots)})
            live = _live_slots(buf)
            obs, next_obs = buf._frames.get(live)
            np.testing.assert_array_equal(obs, np.stack([inserted[s][0] for s in live]))
            np.testing.assert_array_equal(next_obs, np.stack([inserted[s][1] for s in live]))
    assert buf._added > 4 * capacity
    batch = buf.sample(16)
    np.testing.assert_array_equal(batch.obs, np.stack([inserted[s][0] for s in batch.indices]))
    assert batch.obs.dtype == np.uint8 and batch.obs.shape == (16, k, *shape)
    frames = buf._frames
    np.testing.assert_array_equal(
        frames.refs,
        np.bincount(
            np.concatenate(
                [frames.obs_ptr[_live_slots(buf)].ravel(), frames.next_ptr[_live_slots(buf)].ravel()]
            ),
            minlength=len(frames.frames),
        ),
    )  # reference counts match the live transitions exactly
    if frame_capacity is None or frame_capacity > capacity + 4 * k:
        assert len(buf) == capacity
        # One frame per step, one per episode start, and up to n frames ahead per stream (next_obs of
        # the last transition); a still screen (static > 0) shares its repeated frames too.
        most = buf._added + episodes_ended + 4 * n
        least = most - 4 * n if static == 0 else buf._added // 2
        assert least <= frames.frames_written <= most
    else:
        assert 0 < len(buf) < capacity  # the frame ring filled first and evicted the oldest
        assert set(buf._tree.get(np.arange(capacity)).nonzero()[0]) == set(_live_slots(buf).tolist())


def test_frame_storage_rejects_a_ring_too_small():
    with pytest.raises(ValueError):
        FrameStorage(10, (4, 4), stack=4, frame_capacity=20)
    with pytest.raises(ValueError):
        ReplayBuffer(10, (3, 4, 4), np.uint8, seed=0, frame_stack=4)
