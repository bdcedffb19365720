"""Greedy evaluation of a trained run: ``python -m agentlab.evaluate RUN_DIR [--episodes N] [--seed S] [--gif F]``.

Evaluation uses the evaluation env (Atari: raw game score, full games) and the greedy policy
(``explore=False``: no ε, no sampling, noisy nets at their mean).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

import envs
from agentlab import algorithms, runs
from agentlab.algorithms import Algorithm
from agentlab.config import CliParser, ConfigError, count, output_file


def run_episodes(actor: Any, env: Any, episodes: int, seed: int, frames: list | None = None,
                 states: list | None = None) -> list[float]:
    """Returns of ``episodes`` greedy episodes; optionally records the first one's frames and observations."""
    returns = []
    for k in range(episodes):
        obs, _ = env.reset(seed=seed + k)
        total, done = 0.0, False
        while not done:
            if k == 0 and states is not None:
                states.append(obs)
            if k == 0 and frames is not None:
                frames.append(env.render())
            action = actor.act(np.asarray(obs)[None], explore=False)[0]
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        if k == 0 and states is not None:
            states.append(obs)
        returns.append(total)
    return returns


def evaluate_weights(algorithm: Algorithm, algo_cfg: Any, env_id: str, weights: Any, episodes: int, seed: int,
                     frames: list | None = None, states: list | None = None, env: Any = None) -> dict[str, Any]:
    """Greedy returns of the policy ``weights`` describe, summarised as eval.json holds them."""
    env = env or envs.make_eval(env_id)
    actor = algorithm.make_actor(algo_cfg, env.observation_space, env.action_space, 0, 1, seed)
    actor.set_weights(weights, 0)
    returns = run_episodes(actor, env, episodes, seed, frames, states)
    return {"mean_return": float(np.mean(returns)), "std_return": float(np.std(returns)), "episodes": episodes}


def load_run(run_dir: str | Path) -> tuple[dict[str, Any], Algorithm, Any, Any]:
    """The saved config, algorithm, algorithm config and a learner restored from the latest checkpoint."""
    cfg = runs.read_config(run_dir)
    algo_name, env_id = cfg["run"]["algo"], cfg["run"]["env"]
    if algo_name not in algorithms.REGISTRY:
        raise ConfigError(f"run '{run_dir}' uses unknown algo '{algo_name}'; is this agentlab version too old?")
    algorithm = algorithms.get(algo_name)
    from agentlab.train import make_env_checked, resolve  # train imports this module

    _, algo_cfg, _ = resolve({}, cfg)  # the saved config typed and validated, as a resume reads it
    probe = make_env_checked(env_id)
    learner = algorithm.make_learner(algo_cfg, probe.observation_space, probe.action_space, 0, "cpu")
    probe.close()
    learner.load_state_dict(runs.load_latest(run_dir)[1]["learner"])  # on the CPU, wherever it was trained
    return cfg, algorithm, algo_cfg, learner


def write_gif(frames: list[np.ndarray], path: Path, fps: int = 8) -> None:
    from matplotlib import animation
    from matplotlib import pyplot as plt

    fig = plt.figure(figsize=(frames[0].shape[1] / 50, frames[0].shape[0] / 50), dpi=50)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.axis("off")
    image = ax.imshow(frames[0])
    anim = animation.FuncAnimation(fig, lambda i: [image.set_data(frames[i])], frames=len(frames))
    anim.save(str(path), writer=animation.PillowWriter(fps=fps))
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = CliParser(prog="python -m agentlab.evaluate", description=__doc__)
    parser.add_argument("run_dir")
    parser.add_argument("--episodes", type=count(1), default=10)
    parser.add_argument("--seed", type=count(0), default=0)
    parser.add_argument("--gif", type=output_file(".gif"), help="write the first episode as an animated GIF")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # acting is one observation at a time: extra threads only add contention
    try:
        cfg, algorithm, algo_cfg, learner = load_run(args.run_dir)
        env_id = cfg["run"]["env"]
        env = envs.make_eval(env_id, render_mode="rgb_array") if args.gif else envs.make_eval(env_id)
        frames: list | None = [] if args.gif else None
        states: list = []
        result = evaluate_weights(algorithm, algo_cfg, env_id, learner.get_weights(), args.episodes, args.seed,
                                  frames, states, env=env)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    grid = env.unwrapped
    if hasattr(grid, "render_path") and states and np.ndim(states[0]) == 0:
        print(grid.render_path([int(s) for s in states]))
    if frames:
        write_gif(frames, args.gif)
    runs.atomic_write(Path(args.run_dir) / "eval.json", (json.dumps(result) + "\n").encode())
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
