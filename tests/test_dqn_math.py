"""Exact-value tests of the DQN family's math: C51 projection, losses, heads, noisy layers, targets."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch.nn import functional as F

from agentlab.dqn.actor import DQNActor, apex_floor
from agentlab.dqn.config import DQNConfig
from agentlab.dqn.losses import c51_loss, categorical_projection, support_atoms, td_loss, value_h, value_h_inverse
from agentlab.dqn.networks import NoisyLinear, QNetwork, build_q_network, dueling_combine, update_target
from agentlab.encoders import make_encoder
from agentlab.presets import RAINBOW_FLAGS

SUPPORT = torch.tensor([0.0, 1.0, 2.0, 3.0], dtype=torch.float64)  # v_min 0, v_max 3, Δz = 1
P_NEXT = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64)


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)

# Worked by hand: T̂z_j = r + γ z_j, clipped to [0, 3], mass p_j split between floor(b_j) and ceil(b_j).
PROJECTION_CASES = [
    # r, γ^k, projected m
    # T̂z = [0.5, 1, 1.5, 2]: 0.1 → ½ to atoms 0, 1; 0.2 lands on atom 1 (l = u); 0.3 → ½ to 1, 2; 0.4 on 2.
    (0.5, 0.5, [0.05, 0.4, 0.55, 0.0]),
    # T̂z = [2, 3, 4, 5] clipped to [2, 3, 3, 3]: everything beyond v_max piles on the top atom.
    (2.0, 1.0, [0.0, 0.0, 0.1, 0.9]),
    # T̂z = [−1.5, −0.5, 0.5, 1.5] clipped to [0, 0, 0.5, 1.5]: mass below v_min piles on atom 0.
    (-1.5, 1.0, [0.45, 0.35, 0.2, 0.0]),
    # Terminal (γ^k = 0): every atom moves to r = 1.25, split ¾ / ¼ between atoms 1 and 2.
    (1.25, 0.0, [0.0, 0.75, 0.25, 0.0]),
    # Terminal at exactly v_max, and far beyond it: a point mass on the top atom.
    (3.0, 0.0, [0.0, 0.0, 0.0, 1.0]),
    (10.0, 0.0, [0.0, 0.0, 0.0, 1.0]),
]


def test_categorical_projection_hand_worked() -> None:
    rewards = torch.tensor([c[0] for c in PROJECTION_CASES], dtype=torch.float64)
    discounts = torch.tensor([c[1] for c in PROJECTION_CASES], dtype=torch.float64)
    expected = torch.tensor([c[2] for c in PROJECTION_CASES], dtype=torch.float64)
    next_probs = P_NEXT.expand(len(PROJECTION_CASES), -1)
    projected = categorical_projection(next_probs, rewards, discounts, SUPPORT)
    torch.testing.assert_close(projected, expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(projected.sum(1), torch.ones(len(PROJECTION_CASES), dtype=torch.float64))


def test_categorical_projection_keeps_mass_on_51_atoms() -> None:
    support = torch.linspace(-10, 10, 51)
    probs = torch.rand(64, 51).softmax(1)
    rewards, discounts = torch.randn(64) * 5, torch.where(torch.rand(64) < 0.2, 0.0, 0.99**3)
    projected = categorical_projection(probs, rewards, discounts, support)
    torch.testing.assert_close(projected.sum(1), torch.ones(64))
    # The projection preserves the mean whenever no atom is clipped: E[m] = r + γ E[p].
    inside = (rewards - 10 * discounts >= -10) & (rewards + 10 * discounts <= 10)
    expected_mean = rewards + discounts * (probs * support).sum(1)
    torch.testing.assert_close((projected * support).sum(1)[inside], expected_mean[inside])


def test_c51_loss_is_cross_entropy_with_priorities() -> None:
    # Uniform predicted logits: log p_i = −log 4 for every atom, so CE = log 4 whatever the target.
    logits_t = torch.zeros(2, 3, 4, dtype=torch.float64, requires_grad=True)
    next_logits = torch.log(P_NEXT).expand(2, 3, 4)
    q_select = torch.tensor([[0.0, 1.0, 0.0], [2.0, 0.0, 0.0]], dtype=torch.float64)
    weights = torch.tensor([1.0, 0.5], dtype=torch.float64)
    loss, extras = c51_loss(logits_t, torch.tensor([0, 2]), torch.tensor([0.5, 1.25]),
                            torch.tensor([0.5, 0.0], dtype=torch.float64), next_logits, q_select, SUPPORT, weights)
    torch.testing.assert_close(extras["cross_entropy"], torch.full((2,), math.log(4), dtype=torch.float64))
    torch.testing.assert_close(extras["priority"], extras["cross_entropy"])
    torch.testing.assert_close(loss, torch.tensor(0.75 * math.log(4), dtype=torch.float64))
    loss.backward()
    # ∂CE/∂logits = p − m for the taken action: sample 0 target m = [0.05, 0.4, 0.55, 0] (first case above).
    torch.testing.assert_close(logits_t.grad[0, 0], 0.5 * (0.25 - torch.tensor([0.05, 0.4, 0.55, 0.0],
                                                                             dtype=torch.float64)))


def test_double_q_target_selection_and_huber_value() -> None:
    q_t = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    actions, rewards, discounts = torch.tensor([0, 1]), torch.tensor([1.0, 0.0]), torch.tensor([0.5, 0.0])
    q_next_target = torch.tensor([[10.0, 3.0, 7.0], [1.0, 1.0, 1.0]])
    q_next_online = torch.tensor([[1.0, 5.0, 2.0], [0.0, 0.0, 0.0]])
    # Double: online picks a* = 1, target evaluates 3 → y = 1 + 0.5·3 = 2.5, δ = 0.5 → Huber ½δ² = 0.125.
    # Sample 1 is terminal: y = 0, δ = 0.
    loss, extras = td_loss(q_t, actions, rewards, discounts, q_next_target, q_next_online)
    torch.testing.assert_close(extras["td_error"], torch.tensor([0.5, 0.0]))
    torch.testing.assert_close(loss, torch.tensor(0.125 / 2))
    # DQN: the target net both picks and evaluates → max = 10, y = 6, δ = 4 → Huber |δ| − ½ = 3.5.
    loss, extras = td_loss(q_t, actions, rewards, discounts, q_next_target, q_next_target)
    torch.testing.assert_close(extras["td_error"], torch.tensor([4.0, 0.0]))
    torch.testing.assert_close(extras["priority"], torch.tensor([4.0, 0.0]))
    torch.testing.assert_close(loss, torch.tensor(3.5 / 2))
    # MSE and importance weights: mean(w · δ²) = (0.5 · 16 + 1 · 0) / 2.
    loss, _ = td_loss(q_t, actions, rewards, discounts, q_next_target, q_next_target, torch.tensor([0.5, 1.0]), "mse")
    torch.testing.assert_close(loss, torch.tensor(4.0))


def test_dueling_aggregation() -> None:
    value = torch.tensor([[[1.0]]])  # [B=1, 1, N=1]
    advantage = torch.tensor([[[1.0], [2.0], [6.0]]])  # [1, A=3, 1]
    torch.testing.assert_close(dueling_combine(value, advantage, "mean").flatten(), torch.tensor([-1.0, 0.0, 4.0]))
    torch.testing.assert_close(dueling_combine(value, advantage, "max").flatten(), torch.tensor([-4.0, -3.0, 1.0]))


def test_distributional_q_values_are_expectations() -> None:
    cfg = DQNConfig(distributional=True, num_atoms=4, v_min=0.0, v_max=3.0, support_spacing="linear")
    net = QNetwork(make_encoder(gym.spaces.Box(-1, 1, (2,), np.float32), "mlp", hidden_sizes=(8,)), 3, cfg)
    out = net(torch.zeros(5, 2))
    assert out.shape == (5, 3, 4)
    logits = torch.log(P_NEXT.float()).expand(1, 3, 4)
    torch.testing.assert_close(net.q_values(logits), torch.full((1, 3), 2.0))  # 0.2 + 0.6 + 1.2


def test_noisy_linear_noise_shapes_init_and_modes() -> None:
    torch.manual_seed(0)
    layer = NoisyLinear(6, 3, sigma0=0.5)
    assert layer.eps_in.shape == (6,) and layer.eps_out.shape == (3,)
    torch.testing.assert_close(layer.weight_sigma, torch.full((3, 6), 0.5 / math.sqrt(6)))
    assert layer.weight_mu.abs().max() <= 1 / math.sqrt(6)
    x = torch.randn(4, 6)
    layer.train()
    y1 = layer(x)
    # Factorised noise: (W − μ) / σ = f(ε_out) f(ε_in)ᵀ has rank one.
    noise = torch.outer(layer.eps_out, layer.eps_in)
    torch.testing.assert_close(y1, F.linear(x, layer.weight_mu + layer.weight_sigma * noise,
                                            layer.bias_mu + layer.bias_sigma * layer.eps_out))
    assert torch.linalg.matrix_rank(noise) == 1
    torch.testing.assert_close(layer(x), y1)  # same noise until reset
    layer.reset_noise()
    assert not torch.allclose(layer(x), y1)
    layer.eval()
    torch.testing.assert_close(layer(x), F.linear(x, layer.weight_mu, layer.bias_mu))
    layer.reset_noise()
    torch.testing.assert_close(layer(x), F.linear(x, layer.weight_mu, layer.bias_mu))


def test_noisy_actor_explores_through_noise_and_is_greedy_deterministic() -> None:
    obs_space, action_space = gym.spaces.Box(-1, 1, (4,), np.float32), gym.spaces.Discrete(5)
    cfg = DQNConfig(**RAINBOW_FLAGS, hidden_sizes=(16,), head_hidden=(16,), noisy_sigma0=5.0)
    actor = DQNActor(cfg, obs_space, action_space, 0, 1, seed=0)
    assert actor.epsilon == 0.0  # noisy nets replace ε-greedy
    obs = np.random.default_rng(0).uniform(-1, 1, (64, 4)).astype(np.float32)
    greedy = [actor.act(obs, {}, np.zeros(len(obs), bool), explore=False)[0] for _ in range(3)]
    assert all(np.array_equal(greedy[0], g) for g in greedy)
    explored = [actor.act(obs, {}, np.zeros(len(obs), bool), explore=True)[0] for _ in range(3)]
    assert not np.array_equal(explored[0], explored[1])  # fresh noise for every action selection
    assert np.array_equal(actor.act(obs, {}, np.zeros(len(obs), bool), explore=False)[0], greedy[0])


def test_apex_epsilons() -> None:
    assert apex_floor(0.4, 0, 1) == 0.0
    assert apex_floor(0.4, 0, 3) == pytest.approx(0.4)
    assert apex_floor(0.4, 1, 3) == pytest.approx(0.4**4.5)
    assert apex_floor(0.4, 2, 3) == pytest.approx(0.4**8)
    cfg = DQNConfig(epsilon_start=1.0, epsilon_end=0.1, epsilon_decay_steps=100, apex_epsilon=0.4)
    assert [cfg.epsilon_at(s) for s in (0, 50, 100, 1000)] == pytest.approx([1.0, 0.55, 0.1, 0.1])
    space = gym.spaces.Box(-1, 1, (4,), np.float32)
    actors = [DQNActor(cfg, space, gym.spaces.Discrete(2), i, 2, seed=i) for i in range(2)]
    for actor in actors:
        actor.base_epsilon = cfg.epsilon_at(1000)
    assert [a.epsilon for a in actors] == pytest.approx([0.4, 0.1])  # floors 0.4 and 0.4⁸ < 0.1


def test_the_learning_rate_schedule_by_hand() -> None:
    cfg = DQNConfig(lr=1e-3, lr_end=0.1, lr_decay_steps=1_000)
    assert [cfg.lr_at(s) for s in (0, 500, 1_000, 5_000)] == pytest.approx([1e-3, 5.5e-4, 1e-4, 1e-4])


def test_target_updates_hard_and_polyak() -> None:
    online, target = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    torch.nn.init.ones_(online.weight), torch.nn.init.ones_(online.bias)
    torch.nn.init.zeros_(target.weight), torch.nn.init.zeros_(target.bias)
    update_target(target, online, tau=0.1)
    torch.testing.assert_close(target.weight, torch.full((2, 2), 0.1))
    update_target(target, online, tau=0.1)
    torch.testing.assert_close(target.bias, torch.full((2,), 0.19))
    update_target(target, online, tau=1.0)
    torch.testing.assert_close(target.weight, online.weight)


def test_encoder_adapter_handles_images_and_discrete() -> None:
    hwc = gym.spaces.Box(0, 255, (36, 36, 3), np.uint8)
    enc = make_encoder(hwc, "auto")
    assert enc.prepare(torch.full((2, 36, 36, 3), 255, dtype=torch.uint8)).shape == (2, 3, 36, 36)
    assert enc(torch.zeros(2, 36, 36, 3, dtype=torch.uint8)).shape == (2, enc.features_dim)
    assert enc.prepare(torch.full((1, 36, 36, 3), 255, dtype=torch.uint8)).max() == 1.0
    disc = make_encoder(gym.spaces.Discrete(5), "auto", hidden_sizes=(7,))
    torch.testing.assert_close(disc.prepare(torch.tensor([3])), torch.tensor([[0.0, 0.0, 0.0, 1.0, 0.0]]))
    assert disc(torch.tensor([0, 4])).shape == (2, 7)
    net = build_q_network(DQNConfig(**RAINBOW_FLAGS, encoder="nature_cnn_torso", head_hidden=(32,)),
                          gym.spaces.Box(0, 255, (4, 84, 84), np.uint8), gym.spaces.Discrete(6))
    assert net.encoder.features_dim == 64 * 7 * 7
    assert net(torch.zeros(2, 4, 84, 84, dtype=torch.uint8)).shape == (2, 6, 51)


def test_categorical_projection_on_an_uneven_support_keeps_the_mean() -> None:
    support = torch.tensor([-3.0, -1.0, 0.0, 1.0, 3.0], dtype=torch.float64)
    next_probs = torch.tensor([[0.0, 0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.5, 0.5]], dtype=torch.float64)
    rewards = torch.tensor([2.0, -1.5], dtype=torch.float64)
    discounts = torch.tensor([0.9, 1.0], dtype=torch.float64)
    projected = categorical_projection(next_probs, rewards, discounts, support)
    # Row 0: T̂z = 2 (the atom at 0), halfway between the atoms 1 and 3.
    # Row 1: T̂z = −0.5 → halves on −1 and 0; 1.5 → 3/4 on 1, 1/4 on 3.
    expected = torch.tensor([[0.0, 0.0, 0.0, 0.5, 0.5], [0.0, 0.25, 0.25, 0.375, 0.125]], dtype=torch.float64)
    torch.testing.assert_close(projected, expected)
    torch.testing.assert_close(projected @ support, torch.tensor([2.0, 0.5], dtype=torch.float64))  # r + γ E[Z]


def test_h_spaced_support() -> None:
    x = torch.tensor([-300.0, -1.0, 0.0, 0.5, 1000.0], dtype=torch.float64)
    torch.testing.assert_close(value_h_inverse(value_h(x)), x)
    torch.testing.assert_close(value_h(torch.tensor([3.0])), torch.tensor([1.003]))  # √4 − 1 + 0.003
    atoms = support_atoms(-500.0, 500.0, 51, "h")
    assert atoms[0] == -500.0 and atoms[-1] == 500.0 and abs(float(atoms[25])) < 1e-6
    gaps = atoms.diff()
    assert (gaps > 0).all() and gaps[25] < 3.0 < 30.0 < gaps[-1]  # dense near 0, sparse at the ends
