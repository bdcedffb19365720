"""Observation normalisation (``normalize_obs``): the running moments, where they live, and what they buy.

``agentlab/OffsetCorridor-v0`` (``envs.corridor``) shows its observations as 10,000 + 10·one-hot(cell): the cells
differ by 0.1 % of the input's size. With ``normalize_obs`` every deep agent walks it within a few thousand
steps; without, none did in 20,000 (``benchmarks/normalization.py``), and DQN's control here does not in 6,000.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from agentlab import algorithms
from agentlab.core import Fragment
from agentlab.encoders import make_encoder
from agentlab.normalization import RunningNorm, batch_moments
from agentlab.train import train
from envs.corridor import Corridor

torch.set_num_threads(1)

ENV = "agentlab/OffsetCorridor-v0"
LENGTH = 6


def walk(algo: str, run_dir: Path, steps: int, **values: Any) -> Any:
    return train({"algo": algo, "env": ENV, "steps": steps, "seed": 0, "backend": "local", "eval_every": 1_000,
                  "eval_episodes": 3, "solve_return": -5.0, "checkpoint_every": steps, "run_dir": str(run_dir),
                  **values}, progress=False)


@pytest.mark.parametrize("algo", ["dqn", "rainbow", "a2c", "a3c", "ppo"])
def test_normalised_observations_make_an_offset_corridor_learnable(algo: str, tmp_path: Path) -> None:
    """The value-based agents with ``--set normalize_obs=true``; the actor-critics with their defaults, which
    normalise."""
    values = {"normalize_obs": True} if algo in ("dqn", "rainbow") else {}
    result = walk(algo, tmp_path / algo, 6_000, **values)
    assert result.solved_at is not None, f"{algo} with normalize_obs never walked the corridor in 6k steps"


def test_without_normalisation_dqn_does_not_walk_it(tmp_path: Path) -> None:
    assert walk("dqn", tmp_path / "raw", 6_000).solved_at is None


def test_running_moments_merge_to_those_of_all_batches() -> None:
    rng = np.random.default_rng(0)
    batches = [torch.as_tensor(rng.normal(5.0, 3.0, (n, 2))) for n in (1, 7, 50)]
    norm = RunningNorm(2)
    for b in batches:
        norm.update(batch_moments(b))
    everything = torch.cat(batches)
    np.testing.assert_allclose(norm.mean.numpy(), everything.mean(0).numpy(), rtol=1e-5)
    np.testing.assert_allclose(norm.var.numpy(), everything.var(0, unbiased=False).numpy(), rtol=1e-4)
    x = torch.tensor([[5.0, 5.0], [1e6, -1e6]])
    out = norm(x)
    expected = (x[0].double() - norm.mean) / norm.var.sqrt()
    np.testing.assert_allclose(out[0].numpy(), expected.numpy(), rtol=1e-5)
    assert out[1].tolist() == [10.0, -10.0]  # clipped


def test_the_moments_travel_with_the_weights_to_actor_and_target() -> None:
    dqn = algorithms.get("dqn")
    cfg = dqn.config_cls(normalize_obs=True, hidden_sizes=(8,))
    env = Corridor(offset=10_000.0, scale=10.0)
    space, actions = env.observation_space, env.action_space
    learner = dqn.make_learner(cfg, space, actions, 0, "cpu")
    env.reset(seed=0)
    obs = np.stack([env.obs()] * 4)[:, None] + np.arange(4, dtype=np.float32)[:, None, None]  # [T, 1, D]
    zeros = np.zeros((4, 1))
    learner.update(Fragment.feedforward(obs, zeros.astype(np.int64), zeros.astype(np.float32), obs,
                                        zeros.astype(bool), zeros.astype(bool), zeros.astype(np.int64), 0, 0))
    mean = obs.reshape(4, LENGTH).mean(0)
    for net in (learner.online, learner.target):
        np.testing.assert_allclose(net.encoder.norm.mean.numpy(), mean, rtol=1e-4)  # SB3's prior: 1e-4 of a count at 0
    actor = dqn.make_actor(cfg, space, actions, 0, 1, 0)
    actor.set_weights(learner.get_weights(), learner.version)
    probe = torch.as_tensor(obs[:, 0])
    with torch.no_grad():
        learner.online.eval()
        np.testing.assert_allclose(actor.net(probe).numpy(), learner.online(probe).numpy(), rtol=1e-6)


@pytest.mark.parametrize("space", [gym.spaces.Discrete(5), gym.spaces.Box(0, 255, (84, 84, 3), np.uint8)])
def test_one_hot_and_image_observations_keep_their_scale_under_normalize_obs(space: gym.Space) -> None:
    """The actor-critics normalise by default: a Discrete or image env builds, with no normaliser to feed."""
    assert make_encoder(space, "auto", normalize=True).norm is None
    assert make_encoder(gym.spaces.Box(-1, 1, (3,)), "auto", normalize=True).norm is not None


def test_the_corridor_passes_gymnasiums_checker() -> None:
    from gymnasium.utils.env_checker import check_env

    check_env(gym.make(ENV).unwrapped, skip_render_check=True)
