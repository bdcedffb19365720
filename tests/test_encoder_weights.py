"""Pretrained encoder weights: loading into DQN and A2C networks, freezing, bad files, and a run end to end."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from agentlab.a2c.actor import A2CActor
from agentlab.a2c.config import A2CConfig
from agentlab.a2c.learner import A2CLearner
from agentlab.a2c.networks import make_network
from agentlab.config import ConfigError, parse_set
from agentlab.core import Fragment
from agentlab.dqn.config import DQNConfig
from agentlab.dqn.learner import DQNLearner
from agentlab.dqn.networks import build_q_network
from agentlab.encoders import make_encoder
from agentlab.runs import latest_checkpoint
from agentlab.train import train
from perception.pretrain import save_encoder

IMAGE = gym.spaces.Box(0, 255, (40, 40, 3), np.uint8)  # GridWorldImage-v0's frames
ACTIONS = gym.spaces.Discrete(4)
ENCODER = "small_atari_cnn"


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def saved_body(tmp_path: Path) -> tuple[Path, dict[str, torch.Tensor]]:
    """A body of ``ENCODER`` for ``IMAGE`` (seeded away from the networks' own init), saved to a file."""
    torch.manual_seed(123)
    body = make_encoder(IMAGE, ENCODER).body
    path = save_encoder(body, tmp_path / "enc" / "body.pt")
    return path, {k: v.clone() for k, v in body.state_dict().items()}


def fragment(steps: int = 8, envs: int = 2, seed: int = 0) -> Fragment:
    rng = np.random.default_rng(seed)
    obs = rng.integers(0, 256, (steps, envs, *IMAGE.shape), dtype=np.uint8)
    next_obs = rng.integers(0, 256, (steps, envs, *IMAGE.shape), dtype=np.uint8)
    actions = rng.integers(0, 4, (steps, envs))
    done = np.zeros((steps, envs), bool)
    done[-1, 0] = True
    return Fragment.feedforward(obs, actions, rng.normal(size=(steps, envs)).astype(np.float32), next_obs, done,
                    np.zeros((steps, envs), bool), rng.integers(0, 4, (steps, envs)), 0, 0)


def assert_body_equals(module: torch.nn.Module, expected: dict[str, torch.Tensor]) -> None:
    state = module.state_dict()
    assert state.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(state[key], value), key


def test_weights_round_trip_into_dqn_and_a2c_networks(saved_body):
    path, expected = saved_body
    q_net = build_q_network(DQNConfig(encoder=ENCODER, encoder_weights=str(path)), IMAGE, ACTIONS)
    assert_body_equals(q_net.encoder.body, expected)
    ac_net = make_network(IMAGE, ACTIONS, A2CConfig(encoder=ENCODER, hidden_sizes=(), encoder_weights=str(path)))
    assert_body_equals(ac_net.encoder.body, expected)
    assert all(p.requires_grad for p in q_net.parameters())  # loaded, not frozen


def test_frozen_dqn_encoder_stays_fixed_and_head_learns(saved_body):
    path, expected = saved_body
    cfg = DQNConfig(encoder=ENCODER, encoder_weights=str(path), freeze_encoder=True, learning_starts=0,
                    batch_size=8, replay_ratio=1.0, target_update_period=4)
    learner = DQNLearner(cfg, IMAGE, ACTIONS, seed=0)
    body_ids = {id(p) for p in learner.online.encoder.parameters()}
    optimized = [p for group in learner.optimizer.param_groups for p in group["params"]]
    assert not body_ids & {id(p) for p in optimized}
    assert {id(p) for p in optimized} == {id(p) for p in learner.online.parameters() if p.requires_grad}
    head_before = [p.detach().clone() for p in learner.online.advantage.parameters()]
    learner.update(fragment())
    assert learner.version == 16
    assert_body_equals(learner.online.encoder.body, expected)
    assert_body_equals(learner.target.encoder.body, expected)
    assert any(not torch.equal(a, b) for a, b in zip(head_before, learner.online.advantage.parameters(), strict=True))
    learner.online.train()
    assert not learner.online.encoder.body.training  # a frozen body stays in eval mode
    # Resume: a learner built from the same config restores the checkpoint's optimizer (head params only).
    restored = DQNLearner(cfg, IMAGE, ACTIONS, seed=1)
    restored.load_state_dict(learner.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(restored.online.parameters(), learner.online.parameters(),
                                                   strict=True))


def test_frozen_a2c_and_a3c_encoder_stays_fixed(saved_body):
    path, expected = saved_body
    cfg = A2CConfig(encoder=ENCODER, encoder_weights=str(path), freeze_encoder=True, learning_rate=1e-2)
    learner = A2CLearner(cfg, IMAGE, ACTIONS, seed=0)
    optimized = {id(p) for group in learner.optimizer.param_groups for p in group["params"]}
    assert not optimized & {id(p) for p in learner.network.encoder.parameters()}
    head_before = learner.network.policy_head.weight.detach().clone()
    learner.update(fragment())  # A2C: the learner's own gradient
    actor = A2CActor(cfg, IMAGE, ACTIONS, worker_index=0, seed=0, ship_gradients=True)
    actor.set_weights(learner.get_weights(), learner.version)
    grads = actor.process(fragment(seed=1))  # A3C: an actor's gradient, trainable params only
    assert len(grads.grads) == len(learner.params)
    learner.update(grads)
    assert_body_equals(learner.network.encoder.body, expected)
    assert not torch.equal(head_before, learner.network.policy_head.weight)


def one_line_error(cfg: DQNConfig) -> str:
    with pytest.raises(ConfigError) as info:
        build_q_network(cfg, IMAGE, ACTIONS)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_missing_file_is_a_config_error(tmp_path):
    message = one_line_error(DQNConfig(encoder=ENCODER, encoder_weights=str(tmp_path / "nope.pt")))
    assert "nope.pt" in message and "is not a file" in message


def test_corrupt_file_is_a_config_error(tmp_path):
    path = tmp_path / "corrupt.pt"
    path.write_bytes(b"certainly not a torch archive\n" * 10)
    message = one_line_error(DQNConfig(encoder=ENCODER, encoder_weights=str(path)))
    assert "not a readable torch state dict" in message
    with pytest.raises(ConfigError, match="not a readable"):
        make_network(IMAGE, ACTIONS, A2CConfig(encoder=ENCODER, hidden_sizes=(), encoder_weights=str(path)))


def test_wrong_shapes_or_keys_are_config_errors(tmp_path):
    bigger = gym.spaces.Box(0, 255, (104, 104, 3), np.uint8)  # FourRoomsImage-v0: a wider fc layer
    path = save_encoder(make_encoder(bigger, ENCODER).body, tmp_path / "four_rooms.pt")
    message = one_line_error(DQNConfig(encoder=ENCODER, encoder_weights=str(path)))
    assert f"encoder '{ENCODER}'" in message
    assert "key 'fc.0.weight' has shape [256, 3872], expected [256, 288]" in message
    path = save_encoder(make_encoder(IMAGE, "nature_cnn").body, tmp_path / "nature.pt")
    message = one_line_error(DQNConfig(encoder=ENCODER, encoder_weights=str(path)))
    assert "key 'body.0.weight' has shape [32, 3, 8, 8], expected [16, 3, 8, 8]" in message
    torch.save({"something": torch.zeros(1)}, tmp_path / "other.pt")
    message = one_line_error(DQNConfig(encoder=ENCODER, encoder_weights=str(tmp_path / "other.pt")))
    assert "missing key 'body.0.weight'" in message


def test_train_end_to_end_with_frozen_pretrained_encoder(saved_body, tmp_path):
    path, expected = saved_body
    values = {"algo": "dqn", "env": "agentlab/GridWorldImage-v0", "encoder": ENCODER, "backend": "local",
              "workers": 1, "steps": 300, "learning_starts": 100, "batch_size": 16, "eval_episodes": 1,
              "run_dir": str(tmp_path / "run"),
              **parse_set([f"encoder_weights={path}", "freeze_encoder=true"])}
    result = train(values, progress=False)
    assert result.env_steps >= 300 and result.learner.version > 0
    assert result.learner.cfg.freeze_encoder is True
    assert_body_equals(result.learner.online.encoder.body, expected)
    assert latest_checkpoint(result.run_dir).exists()
