"""Memory of frame-deduplicated replay against storing obs and next_obs stacks whole.

Fills a ``ReplayBuffer(frame_stack=4)`` with synthetic 84x84 uint8 frames from several streams with
episode boundaries, through ``NStepAccumulator`` (n-step next_obs), and reports bytes per transition
two ways: numpy ``nbytes`` of the buffer's arrays and the process RSS growth while filling it. The
baseline is the same buffer with ``frame_stack=0``, which stores both ``[4, 84, 84]`` stacks per
transition; it is filled with fewer transitions (``--naive-transitions``) so it fits in memory, and
both are extrapolated to 1M transitions. Insert and sample times are printed for both.

    python benchmarks/replay_memory.py                       # 200k transitions, n=3, 4 streams
    python benchmarks/replay_memory.py --transitions 20000   # quick
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from agentlab.core import Fragment
from agentlab.replay import NStepAccumulator, ReplayBuffer
from benchmarks import cli

FRAME = (84, 84)


class SyntheticAtari:
    """``E`` envs of ``[k, 84, 84]`` stacks: a new random frame each step, reset stacks repeat one frame
    (gymnasium's ``FrameStackObservation`` padding), episode lengths uniform in ``[lo, hi]``."""

    def __init__(self, num_envs: int, k: int, episode_len: tuple[int, int], rng: np.random.Generator):
        self.rng, self.k, self.episode_len = rng, k, episode_len
        self.stacks = np.stack([self._reset() for _ in range(num_envs)])  # [E, k, H, W]
        self.left = rng.integers(episode_len[0], episode_len[1] + 1, num_envs)  # [E] steps to episode end

    def _reset(self) -> np.ndarray:
        return np.repeat(self.rng.integers(0, 256, (1, *FRAME), np.uint8), self.k, axis=0)  # [k, H, W]

    def fragment(self, steps: int, worker: int) -> Fragment:
        num_envs = len(self.stacks)
        obs = np.empty((steps, *self.stacks.shape), np.uint8)  # [T, E, k, H, W]
        next_obs = np.empty_like(obs)
        ended = np.zeros((steps, num_envs), bool)  # [T, E]
        for t in range(steps):
            obs[t] = self.stacks
            new = self.rng.integers(0, 256, (num_envs, 1, *FRAME), np.uint8)  # [E, 1, H, W]
            self.stacks = np.concatenate([self.stacks[:, 1:], new], axis=1)
            next_obs[t] = self.stacks
            self.left -= 1
            ended[t] = self.left == 0
            for e in np.flatnonzero(ended[t]):
                self.stacks[e] = self._reset()
                self.left[e] = self.rng.integers(self.episode_len[0], self.episode_len[1] + 1)
        terminated = ended & (self.rng.random(ended.shape) < 0.5)
        actions = self.rng.integers(0, 6, (steps, num_envs))
        rewards = self.rng.random((steps, num_envs)).astype(np.float32)
        truncated = ended & ~terminated
        return Fragment.feedforward(obs, actions, rewards, next_obs, terminated, truncated, actions, 0, worker)


def rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def fill(args: argparse.Namespace, capacity: int, frame_stack: int) -> dict[str, float]:
    """Fill a buffer of ``capacity`` once and measure it; the buffer is freed before returning."""
    rng = np.random.default_rng(args.seed)
    workers = [
        SyntheticAtari(args.envs, args.frame_stack, (args.min_episode, args.max_episode), rng)
        for _ in range(args.workers)
    ]
    acc = NStepAccumulator(args.n, gamma=0.99)
    rss_before = rss_bytes()
    buf = ReplayBuffer(
        capacity,
        (args.frame_stack, *FRAME),
        np.uint8,
        seed=args.seed,
        prioritized=True,
        frame_stack=frame_stack,
    )
    insert_s = 0.0  # CPU seconds of this process: the machine is shared, wall time is noisy
    while buf._added < capacity:
        for w, env in enumerate(workers):
            transitions = acc.add(env.fragment(args.fragment, w), stream_offset=w * args.envs)
            start = time.process_time()
            buf.add(transitions)
            insert_s += time.process_time() - start
    rss_delta = rss_bytes() - rss_before
    start = time.process_time()
    for _ in range(args.samples):
        batch = buf.sample(32)
        buf.update_priorities(batch.indices, rng.random(32))
    sample_s = time.process_time() - start
    frames = buf._frames
    return {
        "transitions": len(buf),
        "nbytes": buf.nbytes,
        "rss_delta": rss_delta,
        "insert_us": 1e6 * insert_s / buf._added,
        "sample_ms": 1e3 * sample_s / args.samples,
        "frames_per_transition": 2 * args.frame_stack if frames is None else frames.frames_written / capacity,
    }


def report(name: str, m: dict[str, float], nbytes_1m: float) -> tuple[float, float]:
    """Print one buffer's figures; ``nbytes_1m``: its allocation at 1M capacity."""
    per_nbytes = m["nbytes"] / m["transitions"]
    per_rss = m["rss_delta"] / m["transitions"]
    print(f"{name}: {m['transitions']:,} transitions, {m['frames_per_transition']:.4f} frames written each")
    print(
        f"  nbytes   {m['nbytes'] / 2**20:9.1f} MiB = {per_nbytes:6.0f} B/transition;"
        f" at 1M capacity: {nbytes_1m / 1e9:6.2f} GB"
    )
    print(
        f"  RSS grew {m['rss_delta'] / 2**20:9.1f} MiB = {per_rss:6.0f} B/transition;"
        f" x 1M = {per_rss * 1e6 / 1e9:6.2f} GB"
    )
    print(f"  CPU time: insert {m['insert_us']:.1f} us/transition, sample+update(32) {m['sample_ms']:.3f} ms")
    return per_nbytes, per_rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transitions", type=int, default=200_000, help="frame buffer capacity, filled once")
    parser.add_argument("--naive-transitions", type=int, default=20_000, help="naive baseline capacity")
    parser.add_argument("--frame-stack", type=int, default=4)
    parser.add_argument("--n", type=int, default=3, help="n of the n-step next_obs")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--envs", type=int, default=2, help="envs per worker; streams = workers * envs")
    parser.add_argument("--fragment", type=int, default=32, help="steps per fragment")
    parser.add_argument("--min-episode", type=int, default=100)
    parser.add_argument("--max-episode", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=500, help="batches of 32 to time sampling")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    # The 1M frame buffer is really constructed (np.zeros pages stay untouched, so it costs no RSS);
    # the naive one would not fit in RAM, and its nbytes are linear in capacity.
    frames_1m = ReplayBuffer(
        1_000_000,
        (args.frame_stack, *FRAME),
        np.uint8,
        seed=0,
        prioritized=True,
        frame_stack=args.frame_stack,
    ).nbytes
    print(
        f"streams {args.workers * args.envs}, n={args.n}, frame_stack={args.frame_stack}, episodes "
        f"{args.min_episode}-{args.max_episode} steps, prioritized"
    )
    dedup = report("frames stored once", fill(args, args.transitions, args.frame_stack), frames_1m)
    naive_run = fill(args, args.naive_transitions, 0)
    naive_1m = naive_run["nbytes"] / naive_run["transitions"] * 1e6
    naive = report("naive obs+next_obs stacks", naive_run, naive_1m)
    print(
        f"ratio naive / frames per transition: {naive[0] / dedup[0]:.2f}x (nbytes), "
        f"{naive[1] / dedup[1]:.2f}x (RSS); at 1M capacity {naive[0] * 1e6 / frames_1m:.2f}x (nbytes)"
    )


if __name__ == "__main__":
    cli(main)
