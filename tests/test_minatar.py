"""MinAtar under our ids: every id passes gymnasium's check_env, observations are float32 grids, seeding
replays episodes, the ids build inside a Ray worker, and the CLI trains on them."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import envs
from agentlab import run
from agentlab.config import ConfigError
from agentlab.encoders import make_encoder
from agentlab.train import train
from envs.minatar import GAMES, register_minatar

pytestmark = pytest.mark.filterwarnings("ignore:.*is out of date:DeprecationWarning")  # gymnasium on -v0 ids

IDS = [f"MinAtar/{name}-{version}" for name in GAMES for version in ("v0", "v1")]
CHANNELS = {"Asterix": 4, "Breakout": 4, "Freeway": 7, "Seaquest": 10, "SpaceInvaders": 6}


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("env_id", IDS)
def test_ids_pass_check_env(env_id):
    env = envs.make(env_id)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    assert not [str(w.message) for w in caught]  # check_env reports soft failures as warnings
    name = env_id.split("/")[1].split("-")[0]
    assert env.observation_space.shape == (10, 10, CHANNELS[name])
    assert env.observation_space.dtype == np.float32
    assert env.action_space.n == (6 if env_id.endswith("v0") else len(env.unwrapped.game.minimal_action_set()))


def test_observations_are_float_grids_not_bools():
    env = envs.make("MinAtar/Breakout-v1", seed=0)
    obs, _ = env.reset()
    raw = env.unwrapped.game.state()
    assert raw.dtype == bool and obs.dtype == np.float32
    np.testing.assert_array_equal(obs, raw.astype(np.float32))
    assert set(np.unique(obs)) <= {0.0, 1.0} and obs.sum() > 0  # the paddle, the ball and the bricks are drawn


def rollout(env: gymnasium.Env, steps: int, seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    obs, _ = env.reset(seed=seed)
    frames, rewards = [obs], []
    actions = np.random.default_rng(0).integers(env.action_space.n, size=steps)
    for action in actions:
        obs, reward, terminated, truncated, _ = env.step(int(action))
        frames.append(obs)
        rewards.append(reward)
        if terminated or truncated:
            obs, _ = env.reset()
            frames.append(obs)
    return np.stack(frames), np.array(rewards)


def test_seeding_replays_episodes():
    a = gymnasium.make("MinAtar/Asterix-v1")
    b = gymnasium.make("MinAtar/Asterix-v1")
    frames_a, rewards_a = rollout(a, 300, seed=3)
    frames_b, rewards_b = rollout(b, 300, seed=3)  # unseeded resets in between continue the seeded stream
    np.testing.assert_array_equal(frames_a, frames_b)
    np.testing.assert_array_equal(rewards_a, rewards_b)
    frames_c, _ = rollout(a, 300, seed=4)
    assert frames_c.shape != frames_a.shape or not np.array_equal(frames_c, frames_a)


@pytest.mark.parametrize("name", list(GAMES))
def test_saved_state_continues_the_episode(name):
    # envs.state (what a resumed run saves) asks MinAtarEnv.get_state: the game, its RandomState, sticky action.
    from envs import state

    env, copy_ = envs.make(f"MinAtar/{name}-v1"), envs.make(f"MinAtar/{name}-v1")
    env.reset(seed=0)
    copy_.reset(seed=7)
    rng = np.random.default_rng(1)
    for action in rng.integers(env.action_space.n, size=25):
        env.step(int(action))
    saved = state.get_state(env)
    assert saved is not None
    state.set_state(copy_, saved)
    for action in rng.integers(env.action_space.n, size=40):  # sticky actions draw from the restored RandomState
        a, b = env.step(int(action)), copy_.step(int(action))
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1:3] == b[1:3]


def test_import_envs_registers_the_ids_in_a_fresh_process():
    code = ("import envs, gymnasium; env = gymnasium.make('MinAtar/SpaceInvaders-v1'); "
            "print(env.observation_space.dtype, env.observation_space.shape)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["float32", "(10,", "10,", "6)"]


def test_our_ids_replace_the_package_registration():
    from minatar.gym import register_envs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Overriding environment": ours, registered by earlier tests
        register_envs()  # minatar's own ids: bool observations, no seeding
    assert gymnasium.spec("MinAtar/Breakout-v1").entry_point == "minatar.gym:BaseEnv"
    register_minatar()
    env = gymnasium.make("MinAtar/Breakout-v1")
    assert env.observation_space.dtype == np.float32


def test_minatar_cnn_encoder_shapes_and_bad_input():
    space = envs.make("MinAtar/Seaquest-v1").observation_space
    encoder = make_encoder(space, "minatar_cnn")
    features = encoder(torch.zeros(5, 10, 10, 10))
    assert features.shape == (5, 128) and encoder.features_dim == 128
    assert encoder.body.conv.out_channels == 16 and encoder.body.conv.kernel_size == (3, 3)
    with pytest.raises(ConfigError, match="minatar_cnn"):
        make_encoder(gymnasium.spaces.Box(0, 1, (4,), np.float32), "minatar_cnn")
    with pytest.raises(ConfigError, match="minatar_cnn"):
        make_encoder(gymnasium.spaces.Box(0, 255, (84, 84, 3), np.uint8), "minatar_cnn")


def test_ids_build_inside_ray_workers(tmp_path, monkeypatch):
    # A Ray worker never runs this file's imports: envs.make has to register the ids there itself.
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    result = train({"algo": "ppo", "env": "MinAtar/Breakout-v1", "backend": "ray", "workers": 2,
                    "envs_per_worker": 2, "fragment_length": 16, "minibatch_size": 32, "epochs": 1,
                    "steps": 128, "run_dir": str(tmp_path / "ray")}, progress=False)
    assert result.env_steps >= 128
    assert result.learner.version >= 2


@pytest.mark.parametrize("algo,extra", [
    ("ppo", []),
    ("a2c", []),
    ("dqn", ["--set", "buffer_size=2000", "--set", "learning_starts=500", "--set", "replay_ratio=0.25"]),
    ("rainbow", ["--set", "buffer_size=2000", "--set", "learning_starts=500"]),
])
def test_cli_smoke_run(tmp_path, algo, extra):
    run_dir = tmp_path / algo
    code = run.main(["--algo", algo, "--env", "MinAtar/Breakout-v1", "--steps", "2048", "--backend", "local",
                     "--run-dir", str(run_dir), "--quiet", "--set", "eval_episodes=2", *extra])
    assert code == 0
    assert json.loads((run_dir / "eval.json").read_text())["episodes"] == 2
    assert (run_dir / "metrics.csv").read_text().count("\n") > 1
