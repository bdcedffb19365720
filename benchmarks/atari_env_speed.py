"""Agent steps per second of the Atari training pipeline in one process, against the raw ALE env.

The baseline is ``gymnasium.make("ALE/Pong-v5")`` itself (frameskip 4, RGB frames, no wrappers): the
least an agent step can cost. A third line builds the same pipeline around gymnasium's
``AtariPreprocessing`` instead of ``envs.atari.AtariPreprocess``, the reason the latter exists.
Random actions; the three are measured in interleaved rounds so that load on a shared machine
falls on all of them alike.

    python -m benchmarks.atari_env_speed --seconds 20
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import ale_py
import gymnasium
import numpy as np
from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation, TimeLimit

from benchmarks import cli
from envs.atari import TRAIN, ClipReward, EpisodicLife, FireReset, needs_fire
from envs.make import make


def gymnasium_pipeline(env_id: str) -> gymnasium.Env:
    """``envs.atari``'s training pipeline with gymnasium's ``AtariPreprocessing`` at its core."""
    env = gymnasium.make(env_id, frameskip=1, obs_type="grayscale", max_num_frames_per_episode=None)
    env = AtariPreprocessing(env, TRAIN.noop_max, TRAIN.frame_skip, TRAIN.screen_size)
    env = EpisodicLife(TimeLimit(env, TRAIN.max_episode_steps))
    if needs_fire(env):
        env = FireReset(env, after_life_loss=False)
    return FrameStackObservation(ClipReward(env), TRAIN.frame_stack)


def run_for(env: gymnasium.Env, seconds: float, rng: np.random.Generator) -> tuple[int, float]:
    """Step ``env`` with random actions for about ``seconds``; return (steps, elapsed seconds)."""
    actions = rng.integers(env.action_space.n, size=1 << 16)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        _, _, terminated, truncated, _ = env.step(int(actions[steps % actions.size]))
        steps += 1
        if terminated or truncated:
            env.reset()
    return steps, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="ALE/Pong-v5", help="ALE env id")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per variant")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds the seconds are split into")
    args = parser.parse_args()

    gymnasium.register_envs(ale_py)
    builders: dict[str, Callable[[], gymnasium.Env]] = {
        "raw ALE env, frameskip 4 (baseline)": lambda: gymnasium.make(args.env),
        "agentlab training pipeline (make)": lambda: make(args.env),
        "same, gymnasium AtariPreprocessing": lambda: gymnasium_pipeline(args.env),
    }
    envs = {name: build() for name, build in builders.items()}
    totals = dict.fromkeys(envs, (0, 0.0))
    rng = np.random.default_rng(0)
    for env in envs.values():
        env.reset(seed=0)
        run_for(env, 0.5, rng)  # warm-up
    for _ in range(args.rounds):
        for name, env in envs.items():
            steps, elapsed = run_for(env, args.seconds / args.rounds, rng)
            totals[name] = (totals[name][0] + steps, totals[name][1] + elapsed)

    baseline = totals[next(iter(totals))]
    baseline_rate = baseline[0] / baseline[1]
    print(f"{args.env}, one process, random actions, {args.seconds:.0f} s per variant, {args.rounds} rounds")
    for name, (steps, elapsed) in totals.items():
        rate = steps / elapsed
        print(f"{name:38s} {rate:6.0f} agent steps/s ({rate * 4:5.0f} frames/s)  x{rate / baseline_rate:.2f}")


if __name__ == "__main__":
    cli(main)
