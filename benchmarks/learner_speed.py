"""Learner updates per second: agentlab's DQN learner step against a minimal hand-written PyTorch update.

Both sides train a copy of the same network on the same sampled batch with the same math (Huber TD
loss, max-Q target from a target net, gradient-norm clipping when the config clips, Adam), so the
ratio measures only what the learner adds or saves. Rounds alternate between the two and the best
round of each is kept, which damps the noise of a shared machine. The Rainbow learner step (C51,
dueling, noisy, double, prioritized) and the full step with replay sampling are printed for reference.

``lstm``: the DQN learner with ``memory=lstm`` (R2D2: a sequence batch, burn-in from the stored state, masked
TD loss) against a hand-written LSTM DQN update of the same size on the same sequences.

    python benchmarks/learner_speed.py [--seconds 2] [--rounds 5] [--devices cpu cuda] [--networks mlp lstm]
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch.nn import functional as F

import envs  # noqa: F401  (registers agentlab/MaskedCartPole-v1 for the lstm preset)
from agentlab.dqn.config import DQNConfig
from agentlab.dqn.learner import DQNLearner
from agentlab.presets import preset
from agentlab.replay import ReplayBatch, Transitions
from benchmarks import cli

SETUPS = {
    "mlp": ("CartPole-v1", gym.spaces.Box(-np.inf, np.inf, (4,), np.float32), 2),
    "nature_cnn": ("ALE/Pong-v5", gym.spaces.Box(0, 255, (4, 84, 84), np.uint8), 6),
    "lstm": ("agentlab/MaskedCartPole-v1", gym.spaces.Box(-np.inf, np.inf, (2,), np.float32), 2),
}
"""Network name → (preset env id, observation space, actions)."""


def config_for(algo: str, env_id: str) -> DQNConfig:
    fields = DQNConfig.__dataclass_fields__
    return DQNConfig(**{k: v for k, v in preset(algo, env_id).items() if k in fields})


def filled_learner(cfg: DQNConfig, obs_space: gym.Space, num_actions: int, device: str) -> DQNLearner:
    """A learner whose replay holds 2,000 random transitions."""
    cfg = replace(cfg, buffer_size=2_000, frame_stack=0)
    learner = DQNLearner(cfg, obs_space, gym.spaces.Discrete(num_actions), seed=0, device=device)
    rng = np.random.default_rng(0)
    n = cfg.buffer_size
    if obs_space.dtype == np.uint8:
        obs = rng.integers(0, 256, (n, *obs_space.shape), dtype=np.uint8)
    else:
        obs = rng.standard_normal((n, *obs_space.shape)).astype(np.float32)
    learner.replay.add(Transitions(obs, rng.integers(num_actions, size=n), rng.random(n, np.float32),
                                   np.roll(obs, 1, axis=0), np.full(n, cfg.gamma, np.float32),
                                   np.zeros(n, np.int64)))
    return learner


def hand_written_step(learner: DQNLearner) -> Callable[[ReplayBatch], None]:
    """CleanRL-style DQN update on copies of the learner's networks, default Adam."""
    cfg, device = learner.cfg, learner.device
    q_network, target_network = copy.deepcopy(learner.online), copy.deepcopy(learner.target)
    optimizer = torch.optim.Adam(q_network.parameters(), lr=cfg.lr, eps=cfg.adam_eps)

    def step(batch: ReplayBatch) -> None:
        obs = torch.from_numpy(batch.obs).to(device)
        next_obs = torch.from_numpy(batch.next_obs).to(device)
        actions = torch.from_numpy(batch.action).to(device)
        rewards = torch.from_numpy(batch.reward).to(device)
        discounts = torch.from_numpy(batch.discount).to(device)
        with torch.no_grad():
            target_max = target_network(next_obs).squeeze(-1).max(dim=1).values
            td_target = rewards + discounts * target_max
        old_val = q_network(obs).squeeze(-1).gather(1, actions.unsqueeze(1)).squeeze(1)
        loss = F.smooth_l1_loss(old_val, td_target)
        optimizer.zero_grad()
        loss.backward()
        if cfg.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(q_network.parameters(), cfg.max_grad_norm)
        optimizer.step()

    return step


def filled_sequence_learner(device: str) -> DQNLearner:
    """A DQN learner with LSTM memory whose replay holds 200 random sequences (none at an episode start)."""
    _, obs_space, num_actions = SETUPS["lstm"]
    cfg = replace(config_for("dqn", "agentlab/MaskedCartPole-v1"), memory="lstm", buffer_size=4_000)
    learner = DQNLearner(cfg, obs_space, gym.spaces.Discrete(num_actions), seed=0, device=device)
    rng, length, size = np.random.default_rng(0), cfg.sequence_length, cfg.memory_size
    state = {"h": np.zeros((1, size), np.float32), "c": np.zeros((1, size), np.float32)}
    learner.replay.add([{"obs": rng.standard_normal((length + 1, 2)).astype(np.float32),
                         "action": rng.integers(num_actions, size=length), "reward": rng.random(length, np.float32),
                         "terminated": np.zeros(length, bool), "mask": np.ones(length, bool), "episode_start": False,
                         "state": state, "burn_in_state": state} for _ in range(200)])
    return learner


def hand_written_sequence_step(learner: DQNLearner) -> Callable[[Any], None]:
    """An LSTM DQN update written out: encoder, ``nn.LSTM`` burn-in without gradient, then the TD loss."""
    cfg, device = learner.cfg, learner.device
    q_network, target_network = copy.deepcopy(learner.online), copy.deepcopy(learner.target)
    optimizer = torch.optim.Adam(q_network.parameters(), lr=cfg.lr, eps=cfg.adam_eps)
    b = cfg.burn_in

    def q_values(net: Any, obs: torch.Tensor, state: tuple, grad: bool) -> torch.Tensor:
        features = net.encoder(obs.flatten(0, 1)).view(*obs.shape[:2], -1)  # [B, L + 1, F]
        lstm = net.memory.encoder.rnn
        with torch.no_grad():
            _, state = lstm(features[:, :b], state)
        with torch.set_grad_enabled(grad):
            out, _ = lstm(features[:, b:], state)
            return net.head(out.flatten(0, 1)).view(obs.shape[0], -1, net.num_actions)  # [B, L + 1 − b, A]

    def step(batch: Any) -> None:
        obs = torch.from_numpy(batch.obs).to(device)
        state = tuple(torch.from_numpy(batch.state[k]).transpose(0, 1).contiguous().to(device) for k in ("h", "c"))
        actions = torch.from_numpy(batch.action[:, b:]).to(device)
        rewards = torch.from_numpy(batch.reward[:, b:]).to(device)
        not_done = torch.from_numpy(~batch.terminated[:, b:]).to(device).float()
        mask = torch.from_numpy(batch.mask[:, b:]).to(device).float()
        q = q_values(q_network, obs, state, True)
        with torch.no_grad():
            target_max = q_values(target_network, obs, state, False)[:, 1:].max(dim=2).values
        q_taken = q[:, :-1].gather(2, actions.unsqueeze(2)).squeeze(2)
        td_target = rewards + cfg.gamma * not_done * target_max
        loss = (F.smooth_l1_loss(q_taken, td_target, reduction="none") * mask).sum() / mask.sum()
        optimizer.zero_grad()
        loss.backward()
        if cfg.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(q_network.parameters(), cfg.max_grad_norm)
        optimizer.step()

    return step


def bench_sequences(device: str, seconds: float, rounds: int) -> None:
    learner = filled_sequence_learner(device)
    batch = learner.replay.sample(learner.cfg.batch_size)
    baseline = hand_written_sequence_step(learner)
    best = {"hand-written": 0.0, "agentlab": 0.0}
    for _ in range(rounds):
        best["hand-written"] = max(best["hand-written"], rate(lambda: baseline(batch), seconds, device))
        best["agentlab"] = max(best["agentlab"], rate(lambda: learner.learn_sequences(batch), seconds, device))
    full = rate(lambda: learner.learn_sequences(learner.replay.sample(learner.cfg.batch_size)), seconds, device)
    cfg = learner.cfg
    print(f"{'lstm':<10} {device:<5} batch {cfg.batch_size:>3} × {cfg.sequence_length} steps, burn-in {cfg.burn_in} | "
          f"hand-written {best['hand-written']:8.1f}/s  agentlab dqn+lstm {best['agentlab']:8.1f}/s  "
          f"ratio {best['agentlab'] / best['hand-written']:.3f} | with sampling {full:8.1f}/s")


def rate(step: Callable[[], None], seconds: float, device: str) -> float:
    """Calls per second of ``step`` over about ``seconds`` (device work included)."""
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    step()
    sync()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(10):
            step()
        calls += 10
    sync()
    return calls / (time.perf_counter() - start)


def bench(name: str, device: str, seconds: float, rounds: int) -> None:
    env_id, obs_space, num_actions = SETUPS[name]
    dqn = filled_learner(config_for("dqn", env_id), obs_space, num_actions, device)
    rainbow = filled_learner(config_for("rainbow", env_id), obs_space, num_actions, device)
    batch = dqn.replay.sample(dqn.cfg.batch_size)
    baseline = hand_written_step(dqn)
    best = {"hand-written": 0.0, "agentlab dqn": 0.0}
    for _ in range(rounds):
        best["hand-written"] = max(best["hand-written"], rate(lambda: baseline(batch), seconds, device))
        best["agentlab dqn"] = max(best["agentlab dqn"], rate(lambda: dqn.learn_step(batch), seconds, device))
    full = rate(lambda: dqn.learn_step(dqn.replay.sample(dqn.cfg.batch_size)), seconds, device)
    rb_batch = rainbow.replay.sample(rainbow.cfg.batch_size)
    rb = rate(lambda: rainbow.learn_step(rb_batch), seconds, device)
    rb_full = rate(lambda: rainbow.learn_step(rainbow.replay.sample(rainbow.cfg.batch_size)), seconds, device)
    ratio = best["agentlab dqn"] / best["hand-written"]
    print(f"{name:<10} {device:<5} batch {dqn.cfg.batch_size:>3} clip {dqn.cfg.max_grad_norm:g} | "
          f"hand-written {best['hand-written']:8.1f}/s  agentlab dqn {best['agentlab dqn']:8.1f}/s  "
          f"ratio {ratio:.3f} | dqn+sampling {full:8.1f}/s  rainbow {rb:8.1f}/s  rainbow+sampling {rb_full:8.1f}/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one timed round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds; the best of each is kept")
    parser.add_argument("--networks", nargs="+", default=list(SETUPS), choices=list(SETUPS))
    parser.add_argument("--devices", nargs="+", default=["cpu", "cuda"], help="cuda is skipped when absent")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} CPU thread(s), updates/s (higher is better)")
    for device in args.devices:
        if device.startswith("cuda") and not torch.cuda.is_available():
            print("cuda: not available, skipped")
            continue
        for name in args.networks:
            (bench_sequences(device, args.seconds, args.rounds) if name == "lstm" else
             bench(name, device, args.seconds, args.rounds))


if __name__ == "__main__":
    cli(main)
