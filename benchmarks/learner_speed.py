"""Learner updates per second: agentlab's DQN learner step against a minimal hand-written PyTorch update.

Both sides train a copy of the same network on the same sampled batch with the same math (Huber TD
loss, max-Q target from a target net, gradient-norm clipping when the config clips, Adam), so the
ratio measures only what the learner adds or saves. Rounds alternate between the two and the best
round of each is kept, which damps the noise of a shared machine. The Rainbow learner step (C51,
dueling, noisy, double, prioritized) and the full step with replay sampling are printed for reference.

    python benchmarks/learner_speed.py [--seconds 2] [--rounds 5] [--devices cpu cuda]
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Callable
from dataclasses import replace

import gymnasium as gym
import numpy as np
import torch
from torch.nn import functional as F

from agentlab.dqn.config import DQNConfig, dqn_preset, rainbow_preset
from agentlab.dqn.learner import DQNLearner
from agentlab.replay import ReplayBatch, Transitions

SETUPS = {
    "mlp": ("CartPole-v1", gym.spaces.Box(-np.inf, np.inf, (4,), np.float32), 2),
    "nature_cnn": ("ALE/Pong-v5", gym.spaces.Box(0, 255, (4, 84, 84), np.uint8), 6),
}
"""Network name → (preset env id, observation space, actions)."""


def config_for(preset: Callable[[str], dict], env_id: str) -> DQNConfig:
    fields = DQNConfig.__dataclass_fields__
    return DQNConfig(**{k: v for k, v in preset(env_id).items() if k in fields})


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
    dqn = filled_learner(config_for(dqn_preset, env_id), obs_space, num_actions, device)
    rainbow = filled_learner(config_for(rainbow_preset, env_id), obs_space, num_actions, device)
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
            bench(name, device, args.seconds, args.rounds)


if __name__ == "__main__":
    main()
