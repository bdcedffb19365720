"""DreamerV3 (``--algo dreamer``): the loss math by hand, the RSSM and imagination, the actor, and tiny runs."""

from __future__ import annotations

import io
import math
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch

from agentlab import runs
from agentlab.config import ConfigError
from agentlab.dreamer.actor import DreamerActor
from agentlab.dreamer.config import DreamerConfig
from agentlab.dreamer.learner import DreamerLearner
from agentlab.dreamer.losses import (
    categorical_kl,
    kl_free_bits,
    lambda_returns,
    symexp,
    symlog,
    trajectory_weights,
    twohot,
    twohot_loss,
    twohot_mean,
    world_model_loss,
)
from agentlab.dreamer.networks import RSSM
from agentlab.train import resolve, train

torch.set_num_threads(1)

TINY = dict(deter=16, stoch=4, classes=4, units=16, layers=1, bins=15, batch_size=2, sequence_length=8,
            sequence_overlap=4, learning_starts=64, train_every=16, imagine_starts=16, horizon=3)
"""A network and replay small enough for runs of a few hundred steps in seconds."""

CARTPOLE = gym.make("CartPole-v1")


# ---- losses, by hand ---------------------------------------------------------------------------------------


def test_lambda_returns_by_hand_stop_at_a_termination() -> None:
    # r_1..r_3 = 1, 2, 3; s_2 is terminal (c_2 = 0); v(s_1..s_3) = 10, 20, 30; γ = 0.9, λ = 0.5.
    reward = torch.tensor([[1.0], [2.0], [3.0]])
    discount = 0.9 * torch.tensor([[1.0], [0.0], [1.0]])
    value = torch.tensor([[10.0], [20.0], [30.0]])
    returns = lambda_returns(reward, discount, value, lam=0.5)
    # R_3 = v_3 = 30; R_2 = 3 + 0.9 (0.5·30 + 0.5·30) = 30; R_1 = 2 + 0 (terminal: nothing after it);
    # R_0 = 1 + 0.9 (0.5·10 + 0.5·2) = 6.4.
    torch.testing.assert_close(returns, torch.tensor([[6.4], [2.0], [30.0]]))


def test_lambda_returns_at_the_ends_of_lambda() -> None:
    reward, value = torch.tensor([[1.0], [1.0], [1.0]]), torch.tensor([[5.0], [6.0], [7.0]])
    discount = torch.full((3, 1), 0.5)
    # λ = 1: the discounted rewards, bootstrapped once from v(s_3); λ = 0: one-step targets r + γ v(s').
    torch.testing.assert_close(lambda_returns(reward, discount, value, 1.0)[0],
                               torch.tensor([1 + 0.5 + 0.25 + 0.125 * 7]))
    torch.testing.assert_close(lambda_returns(reward, discount, value, 0.0), reward + discount * value)


def test_symlog_and_symexp_round_trip() -> None:
    x = torch.tensor([-1e4, -500.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 500.0, 1e4], dtype=torch.float64)
    torch.testing.assert_close(symexp(symlog(x)), x)
    torch.testing.assert_close(symlog(torch.tensor([math.e - 1, 0.0, 1 - math.e])), torch.tensor([1.0, 0.0, -1.0]))


def test_twohot_of_a_value_between_bins_by_hand() -> None:
    bins = torch.tensor([-1.0, 0.0, 1.0, 2.0])
    torch.testing.assert_close(twohot(torch.tensor([0.25]), bins), torch.tensor([[0.0, 0.75, 0.25, 0.0]]))
    torch.testing.assert_close(twohot(torch.tensor([1.0, -1.0]), bins),
                               torch.tensor([[0.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0]]))
    torch.testing.assert_close(twohot(torch.tensor([7.0, -3.0]), bins),  # outside: the end bins
                               torch.tensor([[0.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0]]))


def test_twohot_round_trips_through_the_heads_prediction() -> None:
    bins = torch.linspace(-20, 20, 255, dtype=torch.float64)
    y = torch.tensor([-300.0, -1.5, 0.0, 0.3, 42.0, 1000.0], dtype=torch.float64)
    weights = twohot(symlog(y), bins)  # [6, 255]
    assert torch.allclose(weights.sum(-1), torch.ones(6, dtype=torch.float64))
    assert ((weights > 0).sum(-1) <= 2).all()
    torch.testing.assert_close(twohot_mean(torch.log(weights + 1e-300), bins), y)
    # Its cross-entropy is smallest at its own two-hot: uniform logits cost log K.
    torch.testing.assert_close(twohot_loss(torch.zeros(6, 255, dtype=torch.float64), y, bins),
                               torch.full((6,), math.log(255), dtype=torch.float64))


def test_free_bits_clamp_the_kl_and_stop_its_gradient() -> None:
    post = torch.log_softmax(torch.randn(5, 3, 4, generator=torch.Generator().manual_seed(0)), -1)
    post.requires_grad_(True)
    prior = post.detach().clone().requires_grad_(True)  # the same distributions: KL 0 < 1 nat
    dyn, rep = kl_free_bits(post, prior, free_bits=1.0)
    torch.testing.assert_close(dyn, torch.ones(5))
    torch.testing.assert_close(rep, torch.ones(5))
    (dyn.sum() + rep.sum()).backward()
    assert post.grad.abs().max() == 0 and prior.grad.abs().max() == 0  # clamped: no gradient below the free bits
    far = torch.log_softmax(torch.tensor([[[8.0, 0.0, 0.0, 0.0]] * 3]), -1)  # [1, 3, 4]
    near = torch.log_softmax(torch.zeros(1, 3, 4), -1).requires_grad_(True)
    dyn, rep = kl_free_bits(far, near, free_bits=1.0)
    kl = categorical_kl(far, near.detach())
    assert kl.item() > 1.0
    torch.testing.assert_close(dyn, kl)
    torch.testing.assert_close(rep, kl)
    dyn.sum().backward()
    assert near.grad.abs().max() > 0  # L_dyn trains the prior


def test_world_model_loss_on_a_hand_made_batch() -> None:
    """Perfect reconstruction, uniform reward logits (log K each), continue logits 0 (log 2 each), posterior equal to
    the prior (KL 0, clamped to the free 1 nat): L = log K + log 2 + 0.5 + 0.1. Masked steps hold garbage."""
    steps, batch, bins = 3, 2, torch.linspace(-20, 20, 7)
    obs = torch.randn(steps, batch, 4)
    mask = torch.tensor([[1.0, 1.0], [1.0, 1.0], [1.0, 0.0]])  # the last step of the second sequence is padding
    recon = obs.clone()
    recon[2, 1] += 100.0  # padding: ignored
    logits = torch.log_softmax(torch.randn(steps, batch, 3, 5), -1)
    out = world_model_loss(recon, obs, torch.zeros(steps, batch, 7), torch.full((steps, batch), 3.0),
                           torch.zeros(steps, batch), torch.ones(steps, batch), logits, logits.clone(), mask, mask,
                           bins, free_bits=1.0, dyn_scale=0.5, rep_scale=0.1)
    torch.testing.assert_close(out.loss, torch.tensor(math.log(7) + math.log(2) + 0.5 + 0.1))
    assert out.terms["decoder"] == 0 and out.terms["kl"].abs() < 1e-6
    # One element off by 2 in one of the five real steps: the decoder's summed square error averages to 4 / 5.
    recon[0, 0, 1] += 2.0
    out = world_model_loss(recon, obs, torch.zeros(steps, batch, 7), torch.full((steps, batch), 3.0),
                           torch.zeros(steps, batch), torch.ones(steps, batch), logits, logits.clone(), mask, mask,
                           bins, free_bits=1.0, dyn_scale=0.5, rep_scale=0.1)
    torch.testing.assert_close(out.terms["decoder"], torch.tensor(0.8))


def test_trajectory_weights_discount_by_the_predicted_continue() -> None:
    cont = torch.tensor([[1.0], [0.5], [0.0], [1.0]])
    torch.testing.assert_close(trajectory_weights(cont, 0.9), torch.tensor([[1.0], [0.45], [0.0], [0.0]]))


# ---- the RSSM and imagination --------------------------------------------------------------------------------


def test_rssm_shapes_prior_posterior_and_resets() -> None:
    cfg = DreamerConfig(**{k: v for k, v in TINY.items() if k in ("deter", "stoch", "classes", "units")})
    rssm = RSSM(cfg, embed_dim=5, num_actions=3)
    steps, batch = 4, 2
    embed, actions = torch.randn(steps, batch, 5), torch.eye(3)[torch.randint(3, (steps, batch))]
    h0, z0 = torch.randn(batch, 16), torch.eye(4).repeat(1, 4)[:1].expand(batch, 16)
    starts = torch.zeros(steps, batch, dtype=torch.bool)
    starts[0, 0] = True
    out = rssm.observe(embed, actions, h0, z0, starts, torch.Generator().manual_seed(0))
    assert out["h"].shape == (steps, batch, 16) and out["z"].shape == (steps, batch, 16)
    assert out["post"].shape == out["prior"].shape == (steps, batch, 4, 4)
    for name in ("post", "prior"):  # log-probabilities with at least the unimix share on every class
        torch.testing.assert_close(out[name].exp().sum(-1), torch.ones(steps, batch, 4))
        assert (out[name].exp() >= 0.01 / 4 - 1e-6).all()
    torch.testing.assert_close(out["z"].view(steps, batch, 4, 4).sum(-1), torch.ones(steps, batch, 4))  # one-hots
    # Row 0 restarted at step 0: its h there is the one from zeros (state and previous action), whatever h0 was.
    fresh = rssm.observe(embed[:1], torch.zeros_like(actions[:1]), torch.zeros(batch, 16), torch.zeros(batch, 16),
                         torch.zeros(1, batch, dtype=torch.bool))
    torch.testing.assert_close(out["h"][0, 0], fresh["h"][0, 0])
    assert not torch.allclose(out["h"][0, 1], fresh["h"][0, 1])


@pytest.mark.parametrize("bias, expected", [(50.0, lambda t: 0.97**t), (-50.0, lambda t: float(t == 0))])
def test_imagination_has_the_horizon_and_is_weighted_by_the_predicted_continue(bias, expected) -> None:
    cfg = DreamerConfig(**{**TINY, "horizon": 5, "gamma": 0.97})
    learner = DreamerLearner(cfg, CARTPOLE.observation_space, CARTPOLE.action_space, seed=0)
    with torch.no_grad():  # the continue head says "continues" (or "ends") everywhere
        learner.model.cont.out.weight.zero_()
        learner.model.cont.out.bias.fill_(bias)
    starts = 6
    traj = learner.imagine(torch.randn(starts, 16), torch.eye(4).repeat(1, 4)[:1].expand(starts, 16),
                           torch.ones(starts))
    assert traj.features.shape == (6, starts, cfg.latent_size) and traj.actions.shape == (5, starts)
    assert traj.returns.shape == traj.value.shape == traj.weights.shape == (5, starts)
    torch.testing.assert_close(traj.weights, torch.tensor([expected(t) for t in range(5)])[:, None].expand(5, starts))
    if bias < 0:  # every imagined step ends its episode: R_t = r̂_{t+1}, nothing bootstrapped
        reward = twohot_mean(learner.model.reward(traj.features[1:]), learner.bins)
        torch.testing.assert_close(traj.returns, reward.detach())


# ---- the actor ---------------------------------------------------------------------------------------------


def test_the_actor_resets_rows_at_episode_start_and_acts_greedily() -> None:
    cfg = DreamerConfig(**TINY)
    learner = DreamerLearner(cfg, CARTPOLE.observation_space, CARTPOLE.action_space, seed=0)
    actor = DreamerActor(cfg, CARTPOLE.observation_space, CARTPOLE.action_space, seed=1)
    actor.set_weights(learner.get_weights(), learner.version)
    obs = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    state = actor.initial_state(3)
    _, state, _ = actor.act(obs, state, np.ones(3, bool))
    _, state, _ = actor.act(obs, state, np.zeros(3, bool))  # some history
    first, after, extras = actor.act(obs, state, np.array([True, False, True]), explore=False)
    assert set(after) == {"h", "z", "action"} and after["h"].shape == (3, 16) and after["action"].shape == (3, 2)
    assert not extras["state.h"][[0, 2]].any() and extras["state.h"][1].any()  # the state each action came from
    again, _, _ = actor.act(obs, actor.initial_state(3), np.ones(3, bool), explore=False)
    assert first[0] == again[0] and first[2] == again[2]  # a restarted row acts as from the initial state
    assert (actor.act(obs, state, np.zeros(3, bool), explore=False)[0]
            == actor.act(obs, state, np.zeros(3, bool), explore=False)[0]).all()  # greedy: no sampling


# ---- runs ----------------------------------------------------------------------------------------------------


def test_a_tiny_run_trains_checkpoints_and_loads_weights_only(tmp_path) -> None:
    result = train({"algo": "dreamer", "env": "CartPole-v1", "backend": "local", "workers": 1, "steps": 256,
                    "eval_episodes": 1, "run_dir": str(tmp_path / "run"), **TINY}, progress=False)
    learner = result.learner
    assert learner.version == (256 - 64) // 16 + 1 and len(learner.replay) > 0
    buffer = io.BytesIO()
    torch.save(learner.state_dict(), buffer)
    buffer.seek(0)
    restored = DreamerLearner(DreamerConfig(**TINY), CARTPOLE.observation_space, CARTPOLE.action_space, seed=1)
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    for part in ("model", "actor"):
        for name, value in learner.get_weights()[part].items():
            np.testing.assert_array_equal(restored.get_weights()[part][name], value)
    assert restored.version == learner.version and len(restored.replay) == len(learner.replay)
    assert torch.load(runs.latest_checkpoint(result.run_dir), weights_only=True)["learner"]["version"] > 0
    assert np.isfinite(np.genfromtxt(result.run_dir / "metrics.csv", delimiter=",", names=True)["kl"]).any()


def test_a_run_resumes_with_its_replay_and_update_count(tmp_path) -> None:
    first = train({"algo": "dreamer", "env": "CartPole-v1", "backend": "local", "workers": 1, "steps": 256,
                   "run_dir": str(tmp_path / "run"), **TINY}, progress=False)
    sequences, updates = len(first.learner.replay), first.learner.version
    resumed = train({"steps": 512}, progress=False, resume=tmp_path / "run")
    assert resumed.env_steps == 512 and resumed.learner.version == updates + 256 // 16
    assert len(resumed.learner.replay) > 1.5 * sequences  # restored, then grown: a fresh buffer would hold as many


@pytest.mark.slow
def test_dreamer_balances_cartpole_within_20k_steps(tmp_path) -> None:
    """Seed 0 at the replay settings of the CartPole figure in docs/benchmarks.md (16 sequences every 16 env
    steps): greedy 500 at the 10k evaluation (about 5 minutes on one core)."""
    result = train({"algo": "dreamer", "env": "CartPole-v1", "backend": "local", "workers": 1, "steps": 20_000,
                    "batch_size": 16, "train_every": 16, "eval_every": 5_000, "eval_episodes": 10,
                    "solve_return": 475, "run_dir": str(tmp_path / "run")}, progress=False)
    assert result.solved_at is not None


def test_image_observations_go_through_the_conv_encoder_and_decoder(tmp_path) -> None:
    result = train({"algo": "dreamer", "env": "agentlab/GridWorldImage-v0", "backend": "local", "workers": 1,
                    "steps": 128, "channels": (4, 8, 8), "run_dir": str(tmp_path / "run"), **TINY}, progress=False)
    assert type(result.learner.model.decoder).__name__ == "ConvDecoder" and result.learner.version > 0


def test_the_cli_smoke_run_writes_its_run_folder(tmp_path) -> None:
    sets = [f"--set={key}={list(value) if isinstance(value, tuple) else value}" for key, value in TINY.items()]
    out = subprocess.run([sys.executable, "-m", "agentlab.run", "--algo", "dreamer", "--env", "CartPole-v1",
                          "--backend", "local", "--workers", "1", "--steps", "200", "--run-dir", str(tmp_path / "run"),
                          "--quiet", *sets], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    folder = tmp_path / "run"
    assert (folder / "config.yaml").exists() and (folder / "metrics.csv").exists()
    assert list((folder / "checkpoints").glob("*.pt"))


@pytest.mark.parametrize("key, value", [("horizon", "0"), ("unimix", "1"), ("stoch", "0"), ("gamma", "1.5"),
                                        ("sequence_overlap", "64"), ("channels", "[]"), ("free_bits", "-1")])
def test_bad_settings_are_one_line_errors(key, value) -> None:
    with pytest.raises(ConfigError) as error:
        resolve({"algo": "dreamer", "env": "CartPole-v1", key: value})
    assert "\n" not in str(error.value) and f"--set {key}=" in str(error.value)


def test_a_bad_set_on_the_cli_is_one_line_exit_2(tmp_path) -> None:
    out = subprocess.run([sys.executable, "-m", "agentlab.run", "--algo", "dreamer", "--env", "CartPole-v1",
                          "--backend", "local", "--set", "horizon=0", "--quiet"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: ") and "horizon" in lines[0]
    assert list(tmp_path.iterdir()) == []
