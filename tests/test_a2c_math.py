"""A2C/A3C math: n-step returns and GAE with a termination and a truncation inside the fragment, GAE two
ways, entropy, the loss terms on a hand case, A3C's gradients applied in arrival order, and the learning-rate
schedule on both paths."""

from __future__ import annotations

import io
import math

import gymnasium
import numpy as np
import pytest
import torch
from torch import nn

from agentlab.a2c import A2C, A3C, A2CConfig, A2CLearner, Gradients, losses
from agentlab.a2c.actor import A2CActor
from agentlab.a2c.losses import Batch, actor_critic_loss, gae_advantages, n_step_returns
from agentlab.core import Fragment
from agentlab.train import resolve

torch.set_num_threads(1)

GAMMA = 0.9
# One env, five steps: the episode terminates at t=1, a new one is truncated at t=3, a third runs on past t=4.
REWARDS = [1.0, 2.0, 3.0, 4.0, 5.0]
TERMINATED = [False, True, False, False, False]
TRUNCATED = [False, False, False, True, False]
VALUES = [0.5, 0.6, 0.7, 0.8, 0.9]  # V(obs[t])
FINAL_VALUES = [0.0, 100.0, 0.0, 10.0, 20.0]  # V(next_obs[t]) at ends; 100 (a termination) must be ignored
# R_4 = 5 + .9·20 = 23; R_3 = 4 + .9·10 = 13 (truncated: bootstrap); R_2 = 3 + .9·13 = 14.7;
# R_1 = 2 (terminated: no bootstrap); R_0 = 1 + .9·2 = 2.8.
RETURNS = [2.8, 2.0, 14.7, 13.0, 23.0]
# δ = r + γ(1−term)V' − V = [1.04, 1.4, 3.02, 12.2, 22.1]; with λ=.5 (γλ=.45), A_3 and A_1 are cut:
GAE_HALF = [1.04 + 0.45 * 1.4, 1.4, 3.02 + 0.45 * 12.2, 12.2, 22.1]


def column(values: list, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.tensor(values, dtype=dtype).view(-1, 1)  # [T] -> [T, E=1]


def hand_case() -> tuple[torch.Tensor, ...]:
    rewards, values = column(REWARDS), column(VALUES)
    terminated, truncated = column(TERMINATED, torch.bool), column(TRUNCATED, torch.bool)
    cut = terminated | truncated
    cut[-1] = True
    return rewards, values, losses.next_values(values, column(FINAL_VALUES), cut), terminated, truncated


def test_next_values_bootstrap_from_final_obs_at_episode_and_fragment_ends() -> None:
    *_, bootstrap, _, _ = hand_case()
    assert bootstrap.flatten().tolist() == pytest.approx([0.6, 100.0, 0.8, 10.0, 20.0])


def test_n_step_returns_hand_example() -> None:
    rewards, _, bootstrap, terminated, truncated = hand_case()
    returns = n_step_returns(rewards, bootstrap, terminated, truncated, GAMMA)
    assert returns.flatten().tolist() == pytest.approx(RETURNS, abs=1e-5)


def test_gae_hand_example_and_lambda_one_is_n_step_advantage() -> None:
    rewards, values, bootstrap, terminated, truncated = hand_case()
    half = gae_advantages(rewards, values, bootstrap, terminated, truncated, GAMMA, 0.5)
    assert half.flatten().tolist() == pytest.approx(GAE_HALF, abs=1e-5)
    one = gae_advantages(rewards, values, bootstrap, terminated, truncated, GAMMA, 1.0)
    n_step_advantages = [r - v for r, v in zip(RETURNS, VALUES, strict=True)]
    assert one.flatten().tolist() == pytest.approx(n_step_advantages, abs=1e-5)


def gae_reference(rewards, values, next_vals, terminated, truncated, gamma, lam):  # noqa: ANN001, ANN201
    """GAE by its definition, ``A_t = Σ_l (γλ)^l δ_{t+l}`` up to the episode's end, one scalar at a time."""
    steps, envs = len(rewards), len(rewards[0])
    out = [[0.0] * envs for _ in range(steps)]
    for e in range(envs):
        for t in range(steps):
            total, weight = 0.0, 1.0
            for k in range(t, steps):
                bootstrap = 0.0 if terminated[k][e] else gamma * next_vals[k][e]
                total += weight * (rewards[k][e] + bootstrap - values[k][e])
                if terminated[k][e] or truncated[k][e]:
                    break
                weight *= gamma * lam
            out[t][e] = total
    return out


@pytest.mark.parametrize("lam", [0.0, 0.7, 0.95, 1.0])
def test_gae_vectorised_matches_reference_loop_on_random_data(lam: float) -> None:
    rng = np.random.default_rng(0)
    steps, envs = 9, 4
    rewards, values, final_values = (rng.normal(size=(steps, envs)) for _ in range(3))
    terminated = rng.random((steps, envs)) < 0.2
    truncated = (rng.random((steps, envs)) < 0.2) & ~terminated
    cut = terminated | truncated
    cut[-1] = True
    # Within an episode the next value is V(obs[t+1]), as it is in a real fragment.
    next_vals = losses.next_values(*map(torch.tensor, (values, final_values, cut))).numpy()
    args = [torch.tensor(a) for a in (rewards, values, next_vals, terminated, truncated)]
    fast = gae_advantages(*args, gamma=0.97, lam=lam)
    slow = gae_reference(rewards.tolist(), values.tolist(), next_vals.tolist(), terminated.tolist(),
                         truncated.tolist(), 0.97, lam)
    np.testing.assert_allclose(fast.numpy(), np.array(slow), rtol=1e-10, atol=1e-10)
    if lam == 1.0:
        returns = n_step_returns(args[0], args[2], args[3], args[4], 0.97)
        np.testing.assert_allclose(fast.numpy(), (returns - args[1]).numpy(), rtol=1e-10, atol=1e-10)


def test_entropy_of_known_distributions() -> None:
    logits = torch.log(torch.tensor([[0.5, 0.25, 0.25], [0.25, 0.25, 0.25 + 1e-12]]))
    h = losses.entropy(logits)
    assert h[0].item() == pytest.approx(1.5 * math.log(2), abs=1e-6)  # −(½ log ½ + 2·¼ log ¼)
    assert h[1].item() == pytest.approx(math.log(3), abs=1e-6)  # uniform over 3
    assert losses.entropy(torch.tensor([[50.0, 0.0]])).item() == pytest.approx(0.0, abs=1e-12)


def test_policy_and_value_loss_tiny_case() -> None:
    log_probs = torch.log(torch.tensor([0.5, 0.25]))
    advantages = torch.tensor([2.0, -1.0])
    # −(log ½ · 2 + log ¼ · (−1)) / 2 = −(−2 log 2 + 2 log 2) / 2 = 0
    assert losses.policy_loss(log_probs, advantages).item() == pytest.approx(0.0, abs=1e-6)
    single = losses.policy_loss(torch.log(torch.tensor([0.5])), torch.tensor([3.0]))
    assert single.item() == pytest.approx(3 * math.log(2))
    values = torch.tensor([1.0, 2.0], requires_grad=True)
    loss = losses.value_loss(values, torch.tensor([3.0, 0.0]))
    assert loss.item() == pytest.approx((4 + 4) / 2)
    loss.backward()
    assert values.grad.tolist() == pytest.approx([-2.0, 2.0])  # d/dV mean((R − V)²) = −(R − V)


class ValueIsFirstFeature(nn.Module):
    """A stand-in network: ``V(o) = o[0]``, uniform logits over two actions."""

    def unroll(self, obs: torch.Tensor, state: dict, starts: torch.Tensor, keep: bool = False) -> tuple:
        return torch.zeros(*obs.shape[:2], 2), obs[..., 0], state, {}  # [T, E, 2], [T, E]

    def value_after(self, obs: torch.Tensor, state: dict) -> torch.Tensor:
        return obs[:, 0]  # [N]


def test_actor_critic_loss_bootstraps_truncation_from_final_obs_not_termination() -> None:
    obs = np.array(VALUES, np.float32).reshape(5, 1, 1)  # [T, E, 1]: V(obs[t]) = VALUES[t]
    next_obs = np.array([0.6, 100.0, 0.8, 10.0, 20.0], np.float32).reshape(5, 1, 1)
    actions = np.zeros((5, 1), np.int64)
    fragment = Fragment.feedforward(obs, actions, np.array(REWARDS, np.float32).reshape(5, 1), next_obs,
                        np.array(TERMINATED).reshape(5, 1), np.array(TRUNCATED).reshape(5, 1), actions, 0, 0)
    out = actor_critic_loss(ValueIsFirstFeature(), Batch.from_fragment(fragment), GAMMA, 1.0, 0.5, 0.01)
    advantages = [r - v for r, v in zip(RETURNS, VALUES, strict=True)]
    assert out.value_loss.item() == pytest.approx(sum(a * a for a in advantages) / 5, rel=1e-5)
    assert out.policy_loss.item() == pytest.approx(math.log(2) * sum(advantages) / 5, rel=1e-5)
    assert out.entropy.item() == pytest.approx(math.log(2))
    expected = out.policy_loss + 0.5 * out.value_loss - 0.01 * out.entropy
    assert out.loss.item() == pytest.approx(expected.item(), rel=1e-6)


OBS_SPACE = gymnasium.spaces.Box(-1.0, 1.0, (4,), np.float32)
ACTION_SPACE = gymnasium.spaces.Discrete(2)


def random_fragment(seed: int, steps: int = 5, envs: int = 3) -> Fragment:
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(steps, envs, 4)).astype(np.float32)
    next_obs = np.concatenate([obs[1:], rng.normal(size=(1, envs, 4)).astype(np.float32)])
    terminated = np.zeros((steps, envs), bool)
    terminated[2, 0] = True
    actions = rng.integers(0, 2, (steps, envs))
    return Fragment.feedforward(obs, actions, rng.normal(size=(steps, envs)).astype(np.float32), next_obs, terminated,
                    np.zeros((steps, envs), bool), actions, 0, 0)


def a3c_setup(optimizer: str) -> tuple[A2CConfig, A2CLearner, list[A2CActor]]:
    config = A2CConfig(optimizer=optimizer, learning_rate=0.05, lr_end=1.0, max_grad_norm=0.0, entropy_coef=0.01)
    learner = A3C.make_learner(config, OBS_SPACE, ACTION_SPACE, seed=0, device="cpu")
    actors = [A3C.make_actor(config, OBS_SPACE, ACTION_SPACE, i, 2, seed=0) for i in range(2)]
    return config, learner, actors


def two_gradients_on_version_zero(learner: A2CLearner, actors: list[A2CActor]) -> list[Gradients]:
    for actor in actors:
        actor.set_weights(learner.get_weights(), learner.version)
    return [actor.process(random_fragment(seed=i)) for i, actor in enumerate(actors)]


def test_a3c_applies_gradients_in_arrival_order_and_records_staleness() -> None:
    config, learner, actors = a3c_setup("sgd")
    theta = [p.detach().clone() for p in learner.network.parameters()]
    grads = two_gradients_on_version_zero(learner, actors)
    assert [g.version for g in grads] == [0, 0] and [g.worker for g in grads] == [0, 1]
    staleness = [learner.update(grads[1])["staleness"], learner.update(grads[0])["staleness"]]
    assert staleness == [0.0, 1.0]  # the second gradient was made on weights one update old
    assert learner.version == 2
    assert learner.metrics()["staleness"] == 0.5  # the logged mean since the last log
    params = learner.network.parameters()
    for p, p0, g1, g0 in zip(params, theta, grads[1].grads, grads[0].grads, strict=True):
        expected = p0 - config.learning_rate * torch.from_numpy(g1)  # worker 1's gradient arrived first
        expected = expected - config.learning_rate * torch.from_numpy(g0)
        torch.testing.assert_close(p.detach(), expected, rtol=0, atol=1e-7)


def test_a3c_arrival_order_matters_for_rmsprop_and_follows_it() -> None:
    """RMSprop's second-moment state makes the order matter; the learner must follow arrival order."""
    finals = []
    for order in ([0, 1], [1, 0]):
        config, learner, actors = a3c_setup("rmsprop")
        theta = [p.detach().clone() for p in learner.network.parameters()]
        grads = two_gradients_on_version_zero(learner, actors)
        for i in order:
            learner.update(grads[i])
        a, eps, lr = config.rms_alpha, config.eps, config.learning_rate
        params = learner.network.parameters()
        for p, p0, *gs in zip(params, theta, grads[0].grads, grads[1].grads, strict=True):
            square, expected = torch.zeros_like(p0), p0.clone()
            for i in order:  # RMSprop by hand: v ← αv + (1−α)g², θ ← θ − lr·g/(√v + ε)
                g = torch.from_numpy(gs[i])
                square = a * square + (1 - a) * g * g
                expected = expected - lr * g / (square.sqrt() + eps)
            torch.testing.assert_close(p.detach(), expected, rtol=1e-5, atol=1e-6)
        finals.append(torch.cat([p.detach().flatten() for p in learner.network.parameters()]))
    assert not torch.allclose(finals[0], finals[1])


def test_a3c_actor_gradient_equals_a2c_learner_gradient() -> None:
    """Shared code: an actor's gradient gives the same step as the learner differentiating the fragment (raw inputs:
    an A3C actor normalises by the statistics it was sent, before its fragment's, where A2C's learner merges first)."""
    config = A2CConfig(optimizer="sgd", learning_rate=0.1, max_grad_norm=0.5, entropy_coef=0.01,
                       gae_lambda=0.9, normalize_obs=False, normalize_reward=False)
    a2c = A2C.make_learner(config, OBS_SPACE, ACTION_SPACE, seed=3, device="cpu")
    a3c = A3C.make_learner(config, OBS_SPACE, ACTION_SPACE, seed=3, device="cpu")
    actor = A3C.make_actor(config, OBS_SPACE, ACTION_SPACE, 0, 1, seed=3)
    actor.set_weights(a3c.get_weights(), a3c.version)
    fragment = random_fragment(seed=7)
    m2, m3 = a2c.update(fragment), a3c.update(actor.process(fragment))
    assert A2C.make_actor(config, OBS_SPACE, ACTION_SPACE, 0, 1, seed=3).process(fragment) is fragment
    for key in ("policy_loss", "value_loss", "entropy", "grad_norm"):
        assert m2[key] == pytest.approx(m3[key], rel=1e-5)
    assert m2["grad_norm"] > config.max_grad_norm  # so clipping was exercised on both paths
    for name, w in a2c.get_weights().items():
        np.testing.assert_allclose(w, a3c.get_weights()[name], rtol=1e-5, atol=1e-6)


def test_state_dict_round_trips_through_weights_only_load() -> None:
    config = A2CConfig()
    learner = A2C.make_learner(config, OBS_SPACE, ACTION_SPACE, seed=1, device="cpu")
    learner.update(random_fragment(seed=1))
    buffer = io.BytesIO()
    torch.save(learner.state_dict(), buffer)
    buffer.seek(0)
    restored = A2C.make_learner(config, OBS_SPACE, ACTION_SPACE, seed=2, device="cpu")
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    assert restored.version == 1 and restored.env_steps == learner.env_steps > 0  # the schedule's clock came too
    for name, w in learner.get_weights().items():
        np.testing.assert_array_equal(w, restored.get_weights()[name])
    fragment = random_fragment(seed=2)
    assert learner.update(fragment) == pytest.approx(restored.update(fragment))  # optimizer state came too


def test_the_learning_rate_falls_linearly_to_its_end_on_the_a2c_and_a3c_paths() -> None:
    config = A2CConfig(learning_rate=1e-3, lr_end=0.1, lr_decay_steps=100)
    assert [config.lr_at(s) for s in (0, 50, 100, 500)] == pytest.approx([1e-3, 5.5e-4, 1e-4, 1e-4])
    fragment = random_fragment(seed=0)  # 5 steps of 3 envs
    a2c = A2C.make_learner(config, OBS_SPACE, ACTION_SPACE, seed=0, device="cpu")
    a3c = A3C.make_learner(config, OBS_SPACE, ACTION_SPACE, seed=0, device="cpu")
    actor = A3C.make_actor(config, OBS_SPACE, ACTION_SPACE, 0, 1, seed=0)
    for k in range(1, 4):
        actor.set_weights(a3c.get_weights(), a3c.version)
        a2c.update(fragment), a3c.update(actor.process(fragment))
        for learner in (a2c, a3c):  # the step just taken used the rate at the steps counted so far, this one's too
            assert learner.env_steps == 15 * k
            assert learner.optimizer.param_groups[0]["lr"] == pytest.approx(1e-3 * (1 - 0.9 * 15 * k / 100))


def test_a_run_anneals_over_its_budget_unless_its_preset_holds_the_rate() -> None:
    acrobot = resolve({"algo": "a2c", "env": "Acrobot-v1", "steps": 30_000})[1]  # no row names Acrobot
    assert (acrobot.lr_end, acrobot.lr_decay_steps) == (0.0, 30_000)
    assert resolve({"algo": "a3c", "env": "CartPole-v1", "steps": 30_000})[1].lr_end == 1.0  # measured constant


def test_actor_greedy_is_argmax_and_exploring_samples_the_policy() -> None:
    config = A2CConfig()
    learner = A2C.make_learner(config, OBS_SPACE, ACTION_SPACE, seed=0, device="cpu")
    with torch.no_grad():
        learner.network.policy_head.bias.copy_(torch.tensor([0.0, math.log(3.0)]))  # π ≈ (¼, ¾)
        learner.network.policy_head.weight.zero_()
    actor = A2C.make_actor(config, OBS_SPACE, ACTION_SPACE, 0, 1, seed=0)
    actor.set_weights(learner.get_weights(), 0)
    obs = np.zeros((4000, 4), np.float32)
    assert (actor.act(obs, {}, np.zeros(len(obs), bool), explore=False)[0] == 1).all()
    assert actor.act(obs, {}, np.zeros(len(obs), bool), explore=True)[0].mean() == pytest.approx(0.75, abs=0.03)


def test_separate_value_encoder_keeps_value_gradients_off_the_policy_features() -> None:
    from agentlab.a2c.networks import make_network

    space, actions = gymnasium.spaces.Box(-1, 1, (4,), np.float32), gymnasium.spaces.Discrete(2)
    obs = torch.randn(8, 4)
    for shared in (True, False):
        net = make_network(space, actions, A2CConfig(hidden_sizes=(16,), activation="tanh", shared_encoder=shared))
        assert isinstance(net.encoder.body.body[1], nn.Tanh)
        _, value = net(obs)
        value.sum().backward()
        policy_grad = net.encoder.body.body[0].weight.grad
        assert (policy_grad is not None and policy_grad.abs().sum() > 0) == shared


def test_unknown_activation_is_a_one_line_config_error() -> None:
    from agentlab.a2c.networks import make_network
    from agentlab.config import ConfigError

    space, actions = gymnasium.spaces.Box(-1, 1, (4,), np.float32), gymnasium.spaces.Discrete(2)
    with pytest.raises(ConfigError, match="activation 'gelu' is not one of relu, tanh"):
        make_network(space, actions, A2CConfig(activation="gelu"))


@pytest.mark.parametrize("orthogonal", [True, False])
def test_hidden_layers_of_both_trunks_start_orthogonal_when_asked_as_sb3s_a2c(orthogonal):
    obs_space = gymnasium.spaces.Box(-1.0, 1.0, (4,), np.float32)
    config = A2CConfig(hidden_sizes=(64, 64), shared_encoder=False, orthogonal_init=orthogonal)
    network = A2CLearner(config, obs_space, gymnasium.spaces.Discrete(2), seed=0).network
    for trunk in (network.encoder, network.value_encoder):
        hidden = trunk.body.body[2].weight.detach()  # the second 64×64 layer
        gram_is_2 = np.allclose((hidden @ hidden.T).numpy(), 2.0 * np.eye(64), atol=1e-4)  # gain √2
        assert gram_is_2 == orthogonal
        assert (float(trunk.body.body[0].bias.detach().abs().max()) == 0.0) == orthogonal
