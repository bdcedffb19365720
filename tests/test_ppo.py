"""PPO: the clipped objective and value loss on hand values, advantage normalisation, the annealing
schedule, the recomputed old policy, checkpoints, bad input, and learning CartPole."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from agentlab.a2c.losses import Batch
from agentlab.config import ConfigError, validate
from agentlab.core import Fragment
from agentlab.ppo import PPOConfig, PPOLearner
from agentlab.ppo.losses import clipped_surrogate, clipped_value_loss, normalize, ppo_loss, rollout_targets
from agentlab.train import train

CARTPOLE_OBS = gym.spaces.Box(-np.inf, np.inf, (4,), np.float32)
TWO_ACTIONS = gym.spaces.Discrete(2)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def fragment(steps: int = 8, envs: int = 4, seed: int = 0, version: int = 0) -> Fragment:
    """Random CartPole-shaped data, one episode ending (terminated) and one truncated inside it."""
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(steps + 1, envs, 4)).astype(np.float32)
    terminated = np.zeros((steps, envs), bool)
    truncated = np.zeros((steps, envs), bool)
    terminated[2, 0] = True
    truncated[5, 1] = True
    actions = rng.integers(0, 2, size=(steps, envs))
    return Fragment.feedforward(obs[:-1], actions, np.ones((steps, envs), np.float32), obs[1:], terminated, truncated,
                    rng.integers(0, 2, size=(steps, envs)), version=version, worker=0)


def test_clipped_surrogate_on_hand_values():
    # ratios 0.5, 0.5, 1.0, 1.5 with advantages 1, −1, −1, 2 and ε = 0.2:
    # min(rA, clip(r)A) = min(0.5, 0.8), min(−0.5, −0.8), −1, min(3, 2.4) = 0.5, −0.8, −1, 2.4 → mean 0.275.
    ratios = torch.tensor([0.5, 0.5, 1.0, 1.5])
    advantages = torch.tensor([1.0, -1.0, -1.0, 2.0])
    old_log_probs = torch.tensor([-1.0, -2.0, -0.5, -0.3])
    log_probs = (old_log_probs + ratios.log()).requires_grad_()
    loss = clipped_surrogate(log_probs, old_log_probs, advantages, clip_range=0.2)
    assert loss.item() == pytest.approx(-0.275, abs=1e-6)
    loss.backward()
    # The gradient flows only through the unclipped branch where it is the minimum: d(−rA/4)/d log π = −rA/4.
    np.testing.assert_allclose(log_probs.grad.numpy(), [-0.125, 0.0, 0.25, 0.0], atol=1e-6)


def test_clipped_value_loss_on_hand_values():
    values = torch.tensor([1.0, 3.0, 2.2, 3.0])
    old_values = torch.tensor([2.0, 2.0, 2.0, 2.0])
    returns = torch.tensor([0.0, 4.0, 5.0, 0.0])
    # Clipped predictions (c = 0.5): 1.5, 2.5, 2.2 (inside the band), 2.5.
    # max((V − R)², (V_clip − R)²) = max(1, 2.25), max(1, 2.25), max(7.84, 7.84), max(9, 6.25).
    loss = clipped_value_loss(values, old_values, returns, clip=0.5)
    assert loss.item() == pytest.approx((2.25 + 2.25 + 7.84 + 9.0) / 4, abs=1e-6)
    unclipped = clipped_value_loss(values, old_values, returns, clip=0.0)
    assert unclipped.item() == pytest.approx((1.0 + 1.0 + 7.84 + 9.0) / 4, abs=1e-6)


def test_advantage_normalisation():
    out = normalize(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    std = np.sqrt(5 / 3)  # unbiased
    np.testing.assert_allclose(out.numpy(), np.array([-1.5, -0.5, 0.5, 1.5]) / std, rtol=1e-6)
    assert normalize(torch.tensor([3.0])).item() == 0.0  # one sample: centred, not divided by a zero spread


def test_ppo_loss_normalises_each_minibatch_and_starts_at_ratio_one():
    config = PPOConfig()
    learner = PPOLearner(config, CARTPOLE_OBS, TWO_ACTIONS, seed=0)
    rollout = rollout_targets(learner.network, Batch.from_fragment(fragment()), config.gamma, config.gae_lambda)
    minibatch = rollout.select(torch.arange(10))
    out = ppo_loss(learner.network, minibatch, 0.2, 0.0, 0.5, 0.0, normalize_advantage=True)
    # The old policy is recomputed by the network that acted: before any step π/π_old is exactly 1.
    assert out.approx_kl.item() == pytest.approx(0.0, abs=1e-7)
    assert out.clip_fraction.item() == 0.0
    # At ratio 1 the surrogate is −mean(Â), which is 0 for standardised advantages and not for raw ones.
    assert out.policy_loss.item() == pytest.approx(0.0, abs=1e-6)
    raw = ppo_loss(learner.network, minibatch, 0.2, 0.0, 0.5, 0.0, normalize_advantage=False)
    assert raw.policy_loss.item() == pytest.approx(-minibatch.advantages.mean().item(), rel=1e-5)


def test_rollout_targets_stop_at_termination():
    config = PPOConfig(gamma=0.5, gae_lambda=1.0)
    learner = PPOLearner(config, CARTPOLE_OBS, TWO_ACTIONS, seed=0)
    batch = Batch.from_fragment(fragment())
    rollout = rollout_targets(learner.network, batch, config.gamma, config.gae_lambda)
    returns = rollout.returns.view(8, 4)
    # Env 0 terminates at t = 2 with reward 1 a step: with λ = 1 the return there is 1, and at t = 0 1 + ½ + ¼.
    assert returns[2, 0].item() == pytest.approx(1.0, abs=1e-6)
    assert returns[0, 0].item() == pytest.approx(1.75, abs=1e-6)


def test_learning_rate_and_clip_anneal_to_zero_at_the_budget():
    config = PPOConfig(learning_rate=1e-3, clip_range=0.2, anneal_steps=64, anneal_clip=True, epochs=1,
                       minibatch_size=16)
    learner = PPOLearner(config, CARTPOLE_OBS, TWO_ACTIONS, seed=0)
    first = learner.update(fragment(seed=1))  # 32 of 64 steps
    assert first["lr"] == pytest.approx(5e-4) and first["clip_range"] == pytest.approx(0.1)
    second = learner.update(fragment(seed=2, version=1))  # 64 of 64
    assert second["lr"] == 0.0 and second["clip_range"] == 0.0
    assert learner.optimizer.param_groups[0]["lr"] == 0.0
    assert second["staleness"] == 0.0
    constant = PPOLearner(PPOConfig(learning_rate=1e-3, anneal_steps=0), CARTPOLE_OBS, TWO_ACTIONS, seed=0)
    assert constant.update(fragment())["lr"] == 1e-3


def test_update_runs_epochs_times_minibatches_and_changes_the_policy():
    config = PPOConfig(epochs=3, minibatch_size=8)
    learner = PPOLearner(config, CARTPOLE_OBS, TWO_ACTIONS, seed=0)
    before = {k: v.clone() for k, v in learner.network.state_dict().items()}
    steps = []
    learner.optimizer.register_step_post_hook(lambda optimizer, args, kwargs: steps.append(1))
    metrics = learner.update(fragment())
    assert len(steps) == 3 * (32 // 8)
    assert metrics["approx_kl"] > 0.0  # later minibatches see a moved policy
    changed = [k for k, v in learner.network.state_dict().items() if not torch.equal(v, before[k])]
    assert any(k.startswith("policy_head") for k in changed)


def test_orthogonal_init_of_hidden_layers():
    learner = PPOLearner(PPOConfig(hidden_sizes=(64, 64)), CARTPOLE_OBS, TWO_ACTIONS, seed=0)
    hidden = learner.network.encoder.body.body[2].weight.detach()  # the second 64×64 layer
    np.testing.assert_allclose((hidden @ hidden.T).numpy(), 2.0 * np.eye(64), atol=1e-4)  # gain √2
    assert float(learner.network.encoder.body.body[0].bias.detach().abs().max()) == 0.0


def test_checkpoint_round_trip(tmp_path):
    config = PPOConfig(epochs=2, minibatch_size=8, anneal_steps=1000)
    learner = PPOLearner(config, CARTPOLE_OBS, TWO_ACTIONS, seed=0)
    learner.update(fragment())
    torch.save(learner.state_dict(), tmp_path / "ppo.pt")
    restored = PPOLearner(config, CARTPOLE_OBS, TWO_ACTIONS, seed=5)
    restored.load_state_dict(torch.load(tmp_path / "ppo.pt", weights_only=True))
    a, b = learner.update(fragment(seed=3, version=1)), restored.update(fragment(seed=3, version=1))
    assert a == b and learner.env_steps == restored.env_steps == 64


def test_bad_input_is_one_line():
    with pytest.raises(ConfigError, match="anneal_steps"):
        validate(PPOConfig(anneal_clip=True, anneal_steps=0))
    with pytest.raises(ConfigError, match="Discrete action space"):
        train({"algo": "ppo", "env": "Pendulum-v1", "backend": "local", "steps": 64}, progress=False)
    with pytest.raises(ConfigError, match="clip_range"):
        train({"algo": "ppo", "env": "CartPole-v1", "backend": "local", "clip_range": -0.1}, progress=False)


def test_ppo_learns_cartpole_fast(tmp_path):
    # 10k steps of the zoo preset, 2 workers × 4 envs in-process: greedy returns far above random (~22).
    result = train({"algo": "ppo", "env": "CartPole-v1", "backend": "local", "seed": 0, "steps": 10_240,
                    "eval_episodes": 10, "run_dir": str(tmp_path / "run")}, progress=False)
    assert result.eval["mean_return"] >= 150


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_ppo_solves_cartpole(tmp_path, seed):
    result = train({"algo": "ppo", "env": "CartPole-v1", "backend": "local", "seed": seed, "eval_every": 5_000,
                    "eval_episodes": 20, "solve_return": 475, "run_dir": str(tmp_path / "run")}, progress=False)
    assert result.solved_at is not None and result.eval["mean_return"] >= 475
