"""The worker's vector envs: same dynamics as the single envs, no auto-reset, partial resets."""

import gymnasium as gym
import numpy as np
import pytest

import envs
from agentlab.worker import Worker
from envs.vector import CartPoleBatch, EnvList, GridBatch, make_vector


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


@pytest.mark.parametrize("env_id, steps", [("agentlab/CliffWalking-v0", 3000), ("agentlab/ShortcutMaze-v0", 8000),
                                           ("agentlab/GridWorld-v0", 3000)])
def test_grid_batch_matches_single_gridworlds_through_cliffs_goals_time_limits_and_map_changes(env_id, steps):
    batch = make_vector(env_id, 3, seed=0)
    assert isinstance(batch, GridBatch)
    singles = [envs.make(env_id) for _ in range(3)]
    obs = batch.reset(seed=0)[0]
    assert [s.reset(seed=0)[0] for s in singles] == list(obs)
    rng = np.random.default_rng(0)
    counts = {"terminated": 0, "truncated": 0, "cliff": 0}
    safe_path = [0] + [1] * 11 + [2]  # Cliff Walking's goal in 13 steps: random walks only fall or time out
    for t in range(steps):
        actions = rng.integers(4, size=3)
        actions[0] = safe_path[t % 13] if env_id == "agentlab/CliffWalking-v0" else actions[0]
        obs, rewards, terminated, truncated, info = batch.step(actions)
        for i, env in enumerate(singles):
            o, r, term, trunc, single_info = env.step(int(actions[i]))
            assert (obs[i], rewards[i], terminated[i], truncated[i], info["move"][i]) == \
                (o, r, term, trunc, single_info["move"])
        counts["terminated"] += int(terminated.sum())
        counts["truncated"] += int(truncated.sum())
        counts["cliff"] += int((rewards == -100).sum())
        done = terminated | truncated
        if done.any():
            obs = batch.reset(options={"reset_mask": done})[0]
            for i in np.flatnonzero(done):
                assert singles[i].reset()[0] == obs[i]
    assert counts["terminated"] > 0
    if env_id == "agentlab/CliffWalking-v0":  # the maze's limit (100,000 steps) is never reached
        assert counts["truncated"] > 0 and counts["cliff"] > 0


def test_grid_batch_slips_to_one_of_the_other_moves_uniformly():
    env_id = "bench/SlipperyGrid-v0"
    if env_id not in gym.registry:
        gym.register(env_id, entry_point="envs.gridworld:GridWorld", max_episode_steps=100,
                     kwargs={"map": "open_5x5", "slip": 0.4})
    batch = make_vector(env_id, 1000, seed=0)
    batch.reset(seed=0)
    moves = batch.step(np.ones(1000, np.int64))[4]["move"]
    counts = np.bincount(moves, minlength=4) / 1000
    assert abs(counts[1] - 0.6) < 0.05 and np.all(np.abs(counts[[0, 2, 3]] - 0.4 / 3) < 0.04)
    with pytest.raises(ValueError, match="invalid actions"):
        batch.step(np.full(1000, 4))


def test_env_list_steps_without_auto_reset_and_resets_only_the_masked_envs():
    batch = make_vector("agentlab/GridWorldImage-v0", 2, seed=0)
    assert isinstance(batch, EnvList)
    obs = batch.reset(seed=0)[0]
    start = obs.copy()
    obs = batch.step(np.array([1, 2]))[0]
    assert not np.array_equal(obs, start)
    moved = obs.copy()
    obs = batch.reset(options={"reset_mask": np.array([True, False])})[0]
    np.testing.assert_array_equal(obs[0], start[0])
    np.testing.assert_array_equal(obs[1], moved[1])


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
