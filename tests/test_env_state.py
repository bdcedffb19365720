"""envs.state: an env's state mid-episode, saved and put back, continues exactly as the original would."""

import io

import gymnasium
import numpy as np
import pytest

import envs
from envs.state import get_state, set_state
from envs.vector import make_vector


def play(env, actions, vector: bool) -> list:
    """Every step's (obs, reward, terminated, truncated), resetting ended episodes as a worker does."""
    out = []
    for action in actions:
        obs, reward, terminated, truncated, _ = env.step(action)
        out.append((np.array(obs), np.array(reward), np.array(terminated), np.array(truncated)))
        done = np.asarray(terminated) | np.asarray(truncated)
        if vector and done.any():
            out.append((env.reset(options={"reset_mask": done})[0].copy(),))
        elif not vector and done:
            out.append((np.array(env.reset()[0]),))
    return out


@pytest.mark.parametrize("env_id, vector", [
    ("CartPole-v1", False), ("MountainCar-v0", False), ("Acrobot-v1", False), ("FrozenLake-v1", False),
    ("Taxi-v4", False), ("agentlab/CliffWalking-v0", False), ("agentlab/FourRoomsImage-v0", False),
    ("CartPole-v1", True), ("FrozenLake-v1", True), ("agentlab/CliffWalking-v0", True), ("ALE/Pong-v5", True),
])
def test_a_restored_env_continues_exactly(env_id, vector):
    make = (lambda: make_vector(env_id, 2, seed=0)) if vector else (lambda: envs.make(env_id))
    original = make()
    original.reset(seed=1)
    rng = np.random.default_rng(0)
    warmup = [original.action_space.sample() for _ in range(60)]
    play(original, warmup, vector)
    saved = get_state(original)
    assert saved is not None

    copy = make()
    copy.reset(seed=2)  # somewhere else entirely
    set_state(copy, saved)
    original.action_space.seed(int(rng.integers(1 << 30)))
    actions = [original.action_space.sample() for _ in range(300)]
    for a, b in zip(play(original, actions, vector), play(copy, actions, vector), strict=True):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)


class _HoldsAHandle(gymnasium.Wrapper):
    def __init__(self, env):
        super().__init__(env)
        self.handle = io.BytesIO()  # stands for a physics engine or a socket: not plain data


def test_an_env_holding_a_handle_is_reported_unsaveable():
    env = _HoldsAHandle(gymnasium.make("CartPole-v1"))
    env.reset(seed=0)
    assert get_state(env) is None
    assert get_state(env.env) is not None


def test_a_saved_state_does_not_fit_a_differently_built_env():
    saved = get_state(envs.make("CartPole-v1"))
    with pytest.raises(ValueError, match="layers"):
        set_state(_HoldsAHandle(envs.make("CartPole-v1")), saved)
