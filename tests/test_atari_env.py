"""The env factory and the Atari pipeline: shapes, clipped vs raw rewards, life-long episodes, the time
limit, seeding, and the one-line errors for unknown ids and missing ROMs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import gymnasium
import numpy as np
import pytest

from envs.make import make, make_eval


def random_steps(env: gymnasium.Env, steps: int, seed: int = 0):
    """Yield ``(reward, terminated, truncated, info)`` for ``steps`` random actions, resetting as needed."""
    env.reset(seed=seed)
    env.action_space.seed(seed)
    for _ in range(steps):
        _, reward, terminated, truncated, info = env.step(env.action_space.sample())
        yield reward, terminated, truncated, info
        if terminated or truncated:
            env.reset()


@pytest.mark.parametrize("factory", [make, make_eval])
def test_observations_are_four_stacked_84x84_grayscale_frames(factory):
    env = factory("ALE/Pong-v5")
    assert env.observation_space.shape == (4, 84, 84)
    assert env.observation_space.dtype == np.uint8
    obs, _ = env.reset(seed=0)
    for _ in range(10):
        obs, *_ = env.step(env.action_space.sample())
    assert obs.shape == (4, 84, 84) and obs.dtype == np.uint8
    assert env.observation_space.contains(obs)
    assert obs.max() > obs.min()  # a picture, not a blank
    assert not np.array_equal(obs[0], obs[-1])  # frames from different times


def test_sticky_actions_keep_the_v5_default_and_can_be_overridden():
    assert make("ALE/Pong-v5").unwrapped.ale.getFloat("repeat_action_probability") == pytest.approx(0.25)
    env = make("ALE/Pong-v5", repeat_action_probability=0.0)
    assert env.unwrapped.ale.getFloat("repeat_action_probability") == 0.0


def test_training_clips_rewards_to_their_sign_and_keeps_the_raw_score_in_info():
    # Space Invaders pays 5 to 30 points an invader, so clipping is visible within a few hundred steps
    steps = list(random_steps(make("ALE/SpaceInvaders-v5"), 400))
    rewards = np.array([r for r, *_ in steps])
    raw = np.array([info["raw_reward"] for *_, info in steps])
    assert set(rewards) <= {-1.0, 0.0, 1.0}
    assert raw.max() >= 5
    np.testing.assert_array_equal(rewards, np.sign(raw))


def test_evaluation_reports_the_raw_score():
    steps = list(random_steps(make_eval("ALE/SpaceInvaders-v5"), 400))
    rewards = np.array([r for r, *_ in steps])
    raw = np.array([info["raw_reward"] for *_, info in steps])
    assert rewards.max() >= 5
    np.testing.assert_array_equal(rewards, raw)


def test_training_ends_an_episode_at_each_lost_life_but_resets_the_game_only_at_game_over():
    env = make("ALE/Breakout-v5", seed=0)
    _, info = env.reset()
    assert info["lives"] == 5
    ale = env.unwrapped.ale
    ends = []
    for _ in range(5000):
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        assert not truncated
        if terminated:
            ends.append((info["lives"], info["game_over"]))
            frame_before = ale.getEpisodeFrameNumber()
            _, reset_info = env.reset()
            if info["game_over"]:
                assert reset_info["lives"] == 5 and ale.getEpisodeFrameNumber() < frame_before
                break
            assert reset_info["lives"] == info["lives"]  # the same game goes on
            assert ale.getEpisodeFrameNumber() > frame_before
    assert ends == [(4, False), (3, False), (2, False), (1, False), (0, True)]


def test_evaluation_plays_whole_games_through_lost_lives():
    env = make_eval("ALE/Breakout-v5", seed=0)
    env.reset()
    lives_seen = set()
    for _ in range(5000):
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        lives_seen.add(info["lives"])
        if terminated or truncated:
            break
    assert terminated and info["game_over"] and info["lives"] == 0
    assert lives_seen == {0, 1, 2, 3, 4, 5}


def test_time_limit_counts_agent_steps_from_the_real_reset_across_lost_lives():
    env = make("ALE/Breakout-v5", seed=0, max_episode_steps=60)  # a random game lasts ~120 steps
    env.reset()
    steps, lives_lost = 0, 0
    while True:
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        steps += 1
        if truncated:
            break
        if terminated:
            assert not info["game_over"]
            lives_lost += 1
            env.reset()
    assert lives_lost >= 1  # life-episodes did not restart the count
    # the limit counts every agent step since the real reset: FIRE after it, then per lost life a
    # no-op and a FIRE inside reset()
    assert 1 + steps + 2 * lives_lost == 60


def test_a_seeded_env_reproduces_its_observations_and_actions():
    def rollout(seed: int) -> tuple[np.ndarray, list[int]]:
        env = make("ALE/Pong-v5", seed=seed)
        first, _ = env.reset()
        actions, obs = [], [first]
        for _ in range(50):
            actions.append(int(env.action_space.sample()))
            obs.append(env.step(actions[-1])[0])
        return np.stack(obs), actions

    obs_a, actions_a = rollout(3)
    obs_b, actions_b = rollout(3)
    assert actions_a == actions_b
    np.testing.assert_array_equal(obs_a, obs_b)


@pytest.mark.parametrize(
    ("env_id", "expected"),
    [
        ("CartPol-v1", "CartPole-v1"),
        ("ALE/Pongg-v5", "ALE/Pong-v5"),
        ("agentlab/cliffwalking-v0", "agentlab/CliffWalking-v0"),
    ],
)
def test_an_unknown_id_names_the_closest_registered_ids_on_one_line(env_id, expected):
    with pytest.raises(ValueError) as error:
        make(env_id)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"unknown env id {env_id!r}; did you mean: {expected}")


def test_a_missing_rom_is_a_one_line_error_with_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("ALE_ROMS_DIR", str(tmp_path))  # an empty ROM folder
    with pytest.raises(gymnasium.error.DependencyNotInstalled) as error:
        make("ALE/Pong-v5")
    message = str(error.value)
    assert "\n" not in message
    assert "ROM" in message and "pip install 'ale-py>=0.9'" in message


def test_make_builds_gridworld_and_classic_control_ids_unchanged():
    cliff = make("agentlab/CliffWalking-v0", seed=0)
    obs, _ = cliff.reset()
    assert cliff.observation_space.contains(obs)
    cartpole_a, cartpole_b = make("CartPole-v1", seed=7), make_eval("CartPole-v1", seed=7)
    np.testing.assert_array_equal(cartpole_a.reset()[0], cartpole_b.reset()[0])
    assert cartpole_a.spec.max_episode_steps == 500


def test_non_atari_ids_do_not_load_the_emulator():
    code = "import sys; from envs.make import make; make('CartPole-v1'); assert 'ale_py' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])
