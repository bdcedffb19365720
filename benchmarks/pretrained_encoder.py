"""A perception-pretrained, frozen encoder against the same encoder trained from scratch, on pixels.

    python -m benchmarks.pretrained_encoder [--env agentlab/GridWorldImage-v0] [--steps 20000] [--seeds 0]

1. Perception task: frames of random play in the image gridworld, each labelled with the agent's cell;
   the encoder body plus a linear classifier learn to name the cell (``perception.pretrain``), and the
   body alone is saved.
2. The same DQN trains twice per seed on the same env: (a) ``encoder_weights=<file>, freeze_encoder=true``,
   only the Q head learns; (b) the same encoder from a random init, trained end to end.
3. Both learning curves (training-episode returns) go in one figure; printed per run: env steps of the
   first greedy evaluation at ``--threshold`` and of the one from which all stay there, how many of the
   periodic greedy evaluations reach it, and the final greedy return (10 episodes).
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import envs
from agentlab.encoders import make_encoder
from agentlab.plot import plot_runs
from agentlab.train import train
from benchmarks import cli
from perception.pretrain import PretrainConfig, accuracy, pretrain_classifier, save_encoder

DQN_SETTINGS: dict[str, Any] = dict(
    algo="dqn", backend="local", workers=1, fragment_length=32, gamma=0.9, lr=5e-4, batch_size=32,
    buffer_size=20_000, learning_starts=500, replay_ratio=0.5, target_update_period=100,
    epsilon_decay_steps=5_000, epsilon_end=0.05, head_hidden=(64,),
)
"""Settings that learn the 5×5 image gridworld in a few thousand steps with either encoder (tried by hand)."""


def random_play_frames(env_id: str, num_frames: int, seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Frames ``[N, H, W, C]`` of uniformly random play, the agent's cell index of each, and the cell count."""
    env = envs.make(env_id, seed=seed)
    rng = np.random.default_rng(seed)
    frames, cells = [], []
    obs, _ = env.reset(seed=seed)
    for _ in range(num_frames):
        frames.append(obs)
        cells.append(env.unwrapped.state)
        obs, _, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
        if terminated or truncated:
            obs, _ = env.reset()
    num_cells = env.unwrapped.nrow * env.unwrapped.ncol
    env.close()
    return np.stack(frames), np.asarray(cells), num_cells


def pretrain(env_id: str, encoder: str, out: Path, frames: int, steps: int, seed: int) -> dict[str, float]:
    """Train the body of ``encoder`` to name the agent's cell; save it to ``out``; held-out accuracy."""
    space: gym.Space = envs.make(env_id).observation_space
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        body = make_encoder(space, encoder).body  # exactly the body the agent builds for this env
    train_x, train_y, num_cells = random_play_frames(env_id, frames, seed)
    test_x, test_y, _ = random_play_frames(env_id, frames // 4, seed + 1)
    model = pretrain_classifier(body, train_x, train_y, num_cells, PretrainConfig(steps=steps, seed=seed))
    save_encoder(body, out)
    return {"train_accuracy": accuracy(model, train_x, train_y), "test_accuracy": accuracy(model, test_x, test_y),
            "cells_seen": float(len(np.unique(train_y)))}


def read_evals(run_dir: Path) -> tuple[list[int], list[float]]:
    with open(run_dir / "evals.csv") as f:
        rows = list(csv.DictReader(f))
    return [int(r["env_steps"]) for r in rows], [float(r["mean_return"]) for r in rows]


def steps_to(threshold: float, steps: list[int], returns: list[float]) -> tuple[int | None, int | None]:
    """Env steps of the first evaluation at ``threshold``, and of the first after which every one is."""
    first = next((s for s, r in zip(steps, returns, strict=True) if r >= threshold), None)
    below = [i for i, r in enumerate(returns) if r < threshold]
    start = below[-1] + 1 if below else 0
    return first, steps[start] if start < len(steps) else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="agentlab/GridWorldImage-v0")
    parser.add_argument("--encoder", default="small_atari_cnn")
    parser.add_argument("--steps", type=int, default=20_000, help="env steps of each DQN run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--eval-every", type=int, default=1_000)
    parser.add_argument("--threshold", type=float, default=-8.0, help="greedy return that counts as solved")
    parser.add_argument("--pretrain-frames", type=int, default=4_000)
    parser.add_argument("--pretrain-steps", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path("docs/figures/pretrained_encoder.png"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    root = Path("runs") / f"bench_pretrained_{time.strftime('%Y%m%d-%H%M%S')}"
    weights = (root / "encoder.pt").resolve()

    t0 = time.perf_counter()
    stats = pretrain(args.env, args.encoder, weights, args.pretrain_frames, args.pretrain_steps, args.seeds[0])
    print(f"pretraining ({args.encoder}, agent-cell classification on {args.pretrain_frames} random-play frames, "
          f"{stats['cells_seen']:.0f} cells seen): train accuracy {stats['train_accuracy']:.3f}, "
          f"held-out accuracy {stats['test_accuracy']:.3f}, {time.perf_counter() - t0:.1f} s -> {weights}")

    variants = {"pretrained, frozen": dict(encoder_weights=str(weights), freeze_encoder=True),
                "from scratch": {}}
    run_dirs: list[Path] = []
    labels: list[str] = []
    print(f"greedy evaluation every {args.eval_every} env steps; threshold {args.threshold}")
    print(f"{'encoder':<20} {'seed':>4} {'first at it':>11} {'stays from':>10} {'evals at it':>11} "
          f"{'final greedy':>12} {'wall s':>7}")
    for label, extra in variants.items():
        for seed in args.seeds:
            run_dir = root / f"{label.split(',')[0].replace(' ', '_')}_s{seed}"
            t = time.perf_counter()
            result = train({**DQN_SETTINGS, "env": args.env, "encoder": args.encoder, "steps": args.steps,
                            "seed": seed, "eval_every": args.eval_every, "eval_episodes": 10,
                            "run_dir": str(run_dir), **extra}, progress=False)
            steps, returns = read_evals(run_dir)
            first, stays = steps_to(args.threshold, steps, returns)
            final = result.eval["mean_return"] if result.eval else float("nan")
            at = sum(r >= args.threshold for r in returns)
            print(f"{label:<20} {seed:>4} {str(first or 'never'):>11} {str(stays or 'never'):>10} "
                  f"{f'{at}/{len(returns)}':>11} {final:>12.1f} {time.perf_counter() - t:>7.1f}")
            print(f"    greedy eval curve: {', '.join(f'{s}:{r:.0f}' for s, r in zip(steps, returns, strict=True))}")
            run_dirs.append(run_dir)
            labels.append(label)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    plot_runs(run_dirs, args.out, labels=labels,
              title=f"DQN, {args.env.split('/')[-1]}, {args.encoder}: pretrained frozen vs scratch")
    print(f"figure: {args.out}  runs: {root}  total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    cli(main)
