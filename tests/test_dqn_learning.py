"""DQN and Rainbow learn: known Q values on a tiny MDP, CartPole through the driver, an Atari smoke run."""

from __future__ import annotations

import io

import gymnasium as gym
import numpy as np
import pytest
import torch

from agentlab.core import Fragment
from agentlab.dqn.config import DQNConfig
from agentlab.dqn.learner import DQNLearner
from agentlab.presets import RAINBOW_FLAGS

OBS = np.eye(2, dtype=np.float32)  # s0, s1 one-hot
GAMMA = 0.9


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


def chain_fragment(rng: np.random.Generator, length: int, worker: int = 0) -> Fragment:
    """Uniformly random play of a two-state MDP with both kinds of episode end.

    s0: action 0 → s1 (r 0); action 1 → terminated (r 1). s1: any action → s1 with r 1 and the episode
    truncated (a time limit). Truncation must bootstrap: Q(s1, ·) = 1 / (1 − γ) = 10, Q(s0, 0) = 9,
    Q(s0, 1) = 1; a learner that treated truncation as termination would find Q(s1, ·) = 1.
    """
    obs, actions, rewards, next_obs, terminated, truncated = [], [], [], [], [], []
    state = 0
    for _ in range(length):
        action = int(rng.integers(2))
        if state == 0:
            nxt, reward, term, trunc = (1, 0.0, False, False) if action == 0 else (0, 1.0, True, False)
        else:
            nxt, reward, term, trunc = 1, 1.0, False, True
        obs.append(OBS[state]), actions.append(action), rewards.append(reward), next_obs.append(OBS[nxt])
        terminated.append(term), truncated.append(trunc)
        state = 0 if (term or trunc) else nxt
    col = lambda x, dtype: np.asarray(x, dtype).reshape(length, 1, *np.shape(x)[1:])  # noqa: E731
    return Fragment.feedforward(col(obs, np.float32), col(actions, np.int64), col(rewards, np.float32),
                    col(next_obs, np.float32), col(terminated, bool), col(truncated, bool),
                    col(actions, np.int64), version=0, worker=worker)


@pytest.mark.parametrize("flags", [{}, {"double": True, "dueling": True}, RAINBOW_FLAGS],
                         ids=["dqn", "double_dueling", "rainbow"])
def test_learner_finds_known_q_values(flags: dict) -> None:
    cfg = DQNConfig(**flags, gamma=GAMMA, lr=3e-3, batch_size=32, learning_starts=200, replay_ratio=1.0,
                    target_update_period=50, hidden_sizes=(32,), head_hidden=(32,) if flags else (),
                    v_min=0.0, v_max=12.0, support_spacing="linear", noisy_sigma0=0.1, beta_steps=1_000, loss="mse")
    space = gym.spaces.Box(0, 1, (2,), np.float32)
    learner = DQNLearner(cfg, space, gym.spaces.Discrete(2), seed=0)
    rng = np.random.default_rng(0)
    for i in range(60):
        metrics = learner.update(chain_fragment(rng, 50, worker=i % 2))
    assert learner.version == int((learner.env_steps - cfg.learning_starts) * cfg.replay_ratio)  # = 2800
    assert np.isfinite(metrics["loss"]) and metrics["buffer"] == 3000
    learner.online.eval()
    with torch.no_grad():
        q = learner.online.q_values(learner.online(torch.from_numpy(OBS))).numpy()
    np.testing.assert_allclose(q, [[9.0, 1.0], [10.0, 10.0]], atol=0.6)


def test_the_optimizer_follows_the_learning_rate_schedule() -> None:
    cfg = DQNConfig(lr=1e-3, lr_end=0.1, lr_decay_steps=1_000, learning_starts=100, batch_size=16, hidden_sizes=(8,))
    space = gym.spaces.Box(0, 1, (2,), np.float32)
    learner = DQNLearner(cfg, space, gym.spaces.Discrete(2), seed=0)
    rng = np.random.default_rng(0)
    rates = []
    for _ in range(3):
        learner.update(chain_fragment(rng, 500))
        rates.append(learner.optimizer.param_groups[0]["lr"])
    assert rates == pytest.approx([5.5e-4, 1e-4, 1e-4])  # 1e-3 · (1 − 0.9 · min(1, steps / 1,000))


def test_state_dict_loads_weights_only_and_resumes_counters() -> None:
    cfg = DQNConfig(**RAINBOW_FLAGS, learning_starts=64, batch_size=16, hidden_sizes=(8,), head_hidden=(8,))
    space = gym.spaces.Box(0, 1, (2,), np.float32)
    learner = DQNLearner(cfg, space, gym.spaces.Discrete(2), seed=1)
    learner.update(chain_fragment(np.random.default_rng(1), 200))
    buffer = io.BytesIO()
    torch.save(learner.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    fresh = DQNLearner(cfg, space, gym.spaces.Discrete(2), seed=2)
    fresh.load_state_dict(state)
    assert (fresh.version, fresh.env_steps, fresh.replay.beta) == (learner.version, 200, learner.replay.beta)
    assert fresh.version == int((200 - 64) * cfg.replay_ratio)
    weights, restored = learner.get_weights(), fresh.get_weights()
    assert all(np.array_equal(weights["params"][k], restored["params"][k]) for k in weights["params"])
    assert fresh.optimizer.state_dict()["state"][0]["step"] == learner.version


def _train(algo: str, env: str, **values: object):
    from agentlab.train import train

    return train({"algo": algo, "env": env, "backend": "local", "workers": 1, **values}, progress=False)


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["dqn", "rainbow"])
def test_cartpole_reaches_greedy_200(algo: str, tmp_path) -> None:
    result = _train(algo, "CartPole-v1", steps=30_000, seed=0, eval_every=2_000, eval_episodes=10,
                    solve_return=200, run_dir=str(tmp_path / algo))
    assert result.solved_at is not None, f"{algo} never reached a greedy mean return of 200"


def test_atari_rainbow_smoke(tmp_path) -> None:
    pytest.importorskip("ale_py")
    result = _train("rainbow", "ALE/Pong-v5", steps=400, seed=0, fragment_length=50, device="cpu",
                    buffer_size=1_000, learning_starts=200, batch_size=8, replay_ratio=0.25, head_hidden=(32,),
                    checkpoint_every=400, run_dir=str(tmp_path / "pong"))
    learner = result.learner
    assert result.env_steps == 400 and learner.version == 50  # (400 − 200) / 4 learner steps
    assert learner.replay.beta > learner.cfg.beta0
    assert learner.online.encoder.features_dim == 64 * 7 * 7
