"""The worker's vector envs: same dynamics as the single envs, no auto-reset, partial resets."""

import gymnasium as gym
import numpy as np

from agentlab.worker import Worker
from envs.vector import CartPoleBatch, EnvList, make_vector


def balance(obs: np.ndarray) -> np.ndarray:
    """Push toward the way the pole is falling: keeps CartPole up for the whole 500 steps."""
    return (obs[:, 2] + obs[:, 3] > 0).astype(np.int64)


def test_cartpole_batch_matches_single_cartpole_v1_through_terminations_and_truncations():
    batch = make_vector("CartPole-v1", 3, seed=0)
    assert isinstance(batch, CartPoleBatch)
    singles = [gym.make("CartPole-v1") for _ in range(3)]
    obs = batch.reset(seed=0)[0]

    def sync(i: int) -> None:  # the single env restarts from the batch's new start state
        singles[i].reset()
        singles[i].unwrapped.state = batch.state[:, i].copy()

    for i in range(3):
        sync(i)
    rng = np.random.default_rng(0)
    ends = {"terminated": 0, "truncated": 0}
    for _ in range(1200):
        actions = balance(obs)
        actions[1:] = rng.integers(2, size=2)  # env 0 balances (reaches the limit), the others fall
        obs, rewards, terminated, truncated, _ = batch.step(actions)
        for i, env in enumerate(singles):
            o, r, term, trunc, _ = env.step(int(actions[i]))
            np.testing.assert_array_equal(obs[i], o)
            assert (rewards[i], terminated[i], truncated[i]) == (r, term, trunc)
        done = terminated | truncated
        ends["terminated"] += int(terminated.sum())
        ends["truncated"] += int(truncated.sum())
        if done.any():
            final = obs.copy()
            obs = batch.reset(options={"reset_mask": done})[0]
            np.testing.assert_array_equal(obs[~done], final[~done])  # the others are untouched
            assert np.all(np.abs(obs[done]) <= 0.05)
            for i in np.flatnonzero(done):
                sync(i)
    assert ends["truncated"] == 2 and ends["terminated"] > 20


def test_env_list_steps_without_auto_reset_and_resets_only_the_masked_envs():
    batch = make_vector("agentlab/GridWorld-v0", 2, seed=0)
    assert isinstance(batch, EnvList)
    obs = batch.reset(seed=0)[0]
    start = obs.copy()
    obs = batch.step(np.array([1, 2]))[0]
    assert not np.array_equal(obs, start)
    moved = obs.copy()
    obs = batch.reset(options={"reset_mask": np.array([True, False])})[0]
    assert obs[0] == start[0] and obs[1] == moved[1]


def test_cartpole_worker_fragment_keeps_final_observations_and_starts_new_episodes():
    worker = Worker("a2c", {}, "CartPole-v1", num_envs=16, fragment_length=200, worker_index=0, num_workers=1,
                    seed=0)
    sample = worker.sample()
    frag = sample.payload
    t, e = np.nonzero(frag.terminated)
    assert len(t) >= 16 and len(sample.episodes) == len(t)
    x, theta = frag.next_obs[t, e, 0], frag.next_obs[t, e, 2]
    assert np.all((np.abs(x) > 2.4) | (np.abs(theta) > 12 * 2 * np.pi / 360))  # the final state, not a reset
    inside = t < 199
    assert np.all(np.abs(frag.obs[t[inside] + 1, e[inside]]) <= 0.05)  # the next step begins an episode
    lengths = sorted(ep.length for ep in sample.episodes)
    assert lengths[0] >= 8 and sum(lengths) <= 16 * 200
