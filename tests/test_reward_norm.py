"""Reward scaling (``normalize_reward``): SB3's ``VecNormalize`` reward half, by hand, in a checkpoint, and learning."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agentlab.a2c import A2CConfig, A2CLearner
from agentlab.a2c.actor import A2CActor
from agentlab.core import Fragment
from agentlab.normalization import RewardScale
from agentlab.ppo import PPOConfig, PPOLearner

torch.set_num_threads(1)


def test_returns_are_discounted_per_env_and_restart_after_an_episode_ends() -> None:
    scale = RewardScale(gamma=0.5)
    rewards = np.array([[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]])
    terminated = np.array([[False, False], [True, False], [False, False]])
    truncated = np.array([[False, False], [False, False], [False, True]])
    scaled = scale(rewards, terminated, truncated)
    # G of env 0: 1, 1.5, then 1 (restarted after the termination); env 1: 2, 3, 3.5 (truncated after the last).
    seen = np.array([1.0, 1.5, 1.0, 2.0, 3.0, 3.5])
    np.testing.assert_allclose(scale.var, seen.var(), rtol=1e-3)  # the prior count (1e-4) is all that differs
    np.testing.assert_allclose(scaled, rewards / np.sqrt(seen.var()), rtol=1e-3)
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scale.returns, [1.0, 0.0])  # carried to the next fragment; env 1 restarts
    scale(np.array([[4.0, 4.0]]), np.zeros((1, 2), bool), np.zeros((1, 2), bool))
    np.testing.assert_allclose(scale.returns, [0.5 * 1.0 + 4.0, 4.0])


def test_running_variance_is_that_of_every_return_seen() -> None:
    rng = np.random.default_rng(0)
    scale = RewardScale(gamma=0.9)
    seen = []
    for _ in range(5):
        rewards = rng.normal(3.0, 2.0, (7, 3))
        before = scale.returns.copy() if len(scale.returns) else np.zeros(3)
        scale(rewards, np.zeros((7, 3), bool), np.zeros((7, 3), bool))
        for t in range(7):
            before = 0.9 * before + rewards[t]
            seen.append(before.copy())
    np.testing.assert_allclose(scale.var, np.var(seen), rtol=1e-4)


def test_rewards_are_clipped_when_the_returns_barely_vary() -> None:
    scale = RewardScale(gamma=0.0)
    scaled = scale(np.full((50, 1), 5.0), np.zeros((50, 1), bool), np.zeros((50, 1), bool))
    assert scale.var < 1e-3 and float(scaled.max()) == 10.0  # 5 / √(≈0) clipped to the bound


def fragment(seed: int, steps: int = 8, envs: int = 2) -> Fragment:
    rng = np.random.default_rng(seed)
    done = rng.random((steps, envs)) < 0.2
    return Fragment.feedforward(
        rng.normal(size=(steps, envs, 4)).astype(np.float32), rng.integers(0, 2, (steps, envs)),
        rng.normal(0.0, 100.0, (steps, envs)).astype(np.float32), rng.normal(size=(steps, envs, 4)).astype(np.float32),
        done, np.zeros_like(done), rng.integers(0, 2, (steps, envs)), 0, 0)


@pytest.mark.parametrize("kind", ["a2c", "ppo"])
def test_the_scale_is_checkpointed_with_the_learner(kind: str, tmp_path) -> None:
    import gymnasium as gym

    obs_space, actions = gym.spaces.Box(-np.inf, np.inf, (4,), np.float32), gym.spaces.Discrete(2)
    make = (lambda: A2CLearner(A2CConfig(normalize_reward=True), obs_space, actions, seed=0)) if kind == "a2c" else \
        (lambda: PPOLearner(PPOConfig(normalize_reward=True, epochs=1, minibatch_size=8), obs_space, actions, seed=0))
    learner = make()
    learner.update(fragment(1))
    torch.save(learner.state_dict(), tmp_path / "learner.pt")
    restored = make()
    restored.load_state_dict(torch.load(tmp_path / "learner.pt", weights_only=True))
    assert restored.reward_scale.var == learner.reward_scale.var != 1.0
    a, b = learner.update(fragment(2)), restored.update(fragment(2))
    assert a == b  # the same scaled rewards, so the same update


def test_value_targets_are_on_the_scaled_rewards() -> None:
    import gymnasium as gym

    obs_space, actions = gym.spaces.Box(-np.inf, np.inf, (4,), np.float32), gym.spaces.Discrete(2)
    losses = {}
    for on in (False, True):
        learner = A2CLearner(A2CConfig(normalize_reward=on), obs_space, actions, seed=0)
        losses[on] = learner.update(fragment(3))["value_loss"]
    assert losses[True] < losses[False] / 100  # rewards of σ 100 scaled to about unit returns


def test_an_a3c_actor_scales_its_own_rollouts() -> None:
    import gymnasium as gym

    obs_space, actions = gym.spaces.Box(-np.inf, np.inf, (4,), np.float32), gym.spaces.Discrete(2)
    config = A2CConfig(normalize_reward=True)
    a3c = A2CActor(config, obs_space, actions, 0, seed=0, ship_gradients=True)
    a2c = A2CActor(config, obs_space, actions, 0, seed=0, ship_gradients=False)
    assert a2c.reward_scale is None and a2c.process(fragment(4)).rewards.std() > 50  # the learner scales A2C's
    gradients = a3c.process(fragment(4))
    assert a3c.reward_scale.var != 1.0 and gradients.value_loss < 100
