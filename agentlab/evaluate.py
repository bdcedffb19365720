"""Greedy evaluation of a trained run: ``python -m agentlab.evaluate RUN_DIR [--episodes N] [--seed S] [--gif F]
[--checkpoint best|latest]``.

Evaluation uses the evaluation env (Atari: raw game score, full games) and the greedy policy
(``explore=False``: no ε, no sampling, noisy nets at their mean). It acts from the run's best checkpoint
(the best periodic evaluation, runs with ``eval_every``) when there is one, else from the latest.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

import envs
from agentlab import algorithms, runs
from agentlab.algorithms import Algorithm
from agentlab.config import ConfigError, count, output_file
from envs.masks import flatten_masked, num_masked
from envs.multiagent import is_multiagent
from perception.cli import OneLineParser


class Policy:
    """A greedy policy, one observation at a time: ``act(observation, action_mask=None)`` gives the action.

    ``observation`` is what the env returns (a ``{"observation", "action_mask"}`` dict included); ``action_mask``
    (1 legal) overrides the observation's own. A policy with memory keeps its state between calls; ``reset()``
    starts a new episode."""

    def __init__(self, actor: Any, obs_space: Any = None, encode: Any = None) -> None:
        self.actor, self.obs_space = actor, obs_space
        self.encode = encode or (lambda observation: observation)
        self.reset()

    def reset(self) -> None:
        self.state, self.start = self.actor.initial_state(1), True

    def act(self, observation: Any, action_mask: Any = None) -> Any:
        if action_mask is not None:
            if not num_masked(self.obs_space):
                raise ValueError("this policy's env has no legal-action mask; call act(observation) alone")
            inner = observation["observation"] if isinstance(observation, dict) else observation
            observation = {"observation": inner, "action_mask": action_mask}
        obs = self.encode(observation)
        if isinstance(obs, dict):  # an env's {"observation", "action_mask"}, as FlattenMask flattens it
            obs = flatten_masked(self.obs_space, obs)
        actions, self.state, _ = self.actor.act(np.asarray(obs)[None], self.state, np.array([self.start]),
                                                explore=False)
        self.start = False
        return actions[0]


EVAL_BATCH = 32
"""Most episodes an evaluation plays at once, one env each (one batched forward per step)."""

MAX_GIF_FRAMES = 3_000
"""Most frames of episode 0 an evaluation records (six minutes of GIF at 8 frames a second)."""


def run_episodes(actor: Any, env_batch: Sequence[Any], episodes: int, seed: int, frames: list | None = None,
                 states: list | None = None) -> list[float]:
    """Returns of ``episodes`` greedy episodes, episode ``k`` from ``reset(seed=seed + k)``, played in waves of
    ``len(env_batch)`` at once: one ``act`` per step for the wave, each env's memory restarting with its episode
    (a finished env is not stepped again; its last observation stands in until the wave ends). The returns are the
    ones one env at a time gives. Optionally records episode 0's observations and its first ``MAX_GIF_FRAMES`` frames
    (``env_batch[0]``)."""
    returns = [0.0] * episodes
    for first in range(0, episodes, len(env_batch)):
        wave = env_batch[:episodes - first]
        obs = [env.reset(seed=seed + first + i)[0] for i, env in enumerate(wave)]
        state, start, live = actor.initial_state(len(wave)), np.ones(len(wave), bool), np.ones(len(wave), bool)
        while live.any():
            record = first == 0 and live[0]
            if record and states is not None:
                states.append(obs[0])
            if record and frames is not None and len(frames) < MAX_GIF_FRAMES:
                frames.append(wave[0].render())
            actions, state, _ = actor.act(np.stack(obs), state, start, explore=False)
            start[:] = False
            for i in np.flatnonzero(live):
                obs[i], reward, terminated, truncated, _ = wave[i].step(actions[i])
                returns[first + i] += float(reward)
                live[i] = not (terminated or truncated)
            if record and not live[0] and states is not None:
                states.append(obs[0])
    return returns


def evaluate_weights(algorithm: Algorithm, algo_cfg: Any, env_id: str, weights: Any, episodes: int, seed: int,
                     frames: list | None = None, states: list | None = None, env: Any = None) -> dict[str, Any]:
    """Greedy returns of the policy ``weights`` describe, summarised as eval.json holds them; ``env`` (default: the
    evaluation env) plays episode 0 and records it, further evaluation envs play beside it (``EVAL_BATCH``)."""
    env = env or envs.make_eval(env_id)
    extra = [envs.make_eval(env_id) for _ in range(min(episodes, EVAL_BATCH) - 1)]
    actor = algorithm.make_actor(algo_cfg, env.observation_space, env.action_space, 0, 1, seed)
    actor.set_weights(weights, 0)
    try:
        returns = run_episodes(actor, [env, *extra], episodes, seed, frames, states)
    finally:
        for other in extra:
            other.close()
    return {"mean_return": float(np.mean(returns)), "std_return": float(np.std(returns)), "episodes": episodes}


CHECKPOINTS = ("auto", "best", "latest")
"""Which checkpoint a policy is loaded from: ``auto`` is best when the run has one, else latest."""


def load_run(run_dir: str | Path, checkpoint: str = "auto") -> tuple[dict[str, Any], Algorithm, Any, Any]:
    """The saved config, algorithm, algorithm config and a learner restored from ``checkpoint`` (``CHECKPOINTS``)."""
    cfg = runs.read_config(run_dir)
    algo_name = cfg["run"]["algo"]
    if algo_name not in algorithms.REGISTRY:
        raise ConfigError(f"run '{run_dir}' uses unknown algo '{algo_name}'; is this agentlab version too old?")
    algorithm = algorithms.get(algo_name)
    from agentlab.train import build_learner, resolve  # train imports this module

    run_cfg, algo_cfg, _ = resolve({}, cfg)  # the saved config typed and validated, as a resume reads it
    state = runs.load_policy_checkpoint(run_dir, checkpoint)[1]["learner"]  # on the CPU, wherever it was trained
    learner = build_learner(algorithm, algo_cfg, run_cfg, "cpu")
    learner.load_state_dict(state)
    return cfg, algorithm, algo_cfg, learner


def load_policy(run_dir: str | Path, checkpoint: str = "auto", agent: str = "") -> Policy:
    """A run's greedy ``Policy`` with the weights of ``checkpoint`` (best if the run has one).

    For a multi-agent run, the policy of ``agent`` (default: the first agent), which sees observations as that
    agent does (its id included, for a ``shared`` policy)."""
    cfg, algorithm, algo_cfg, learner = load_run(run_dir, checkpoint)
    env_id = cfg["run"]["env"]
    if is_multiagent(env_id):
        from agentlab.arena import policy_players

        players, spaces = policy_players(algorithm, algo_cfg, env_id, learner.get_weights(),
                                         cfg["run"].get("policies", "self_play"))
        agent = agent or spaces.agents[0]
        if agent not in players:
            raise ConfigError(f"agent '{agent}' is not in {env_id}; choose one of: {', '.join(spaces.agents)}")
        return Policy(players[agent].actor, spaces.observation_space, lambda obs: spaces.encode(obs, agent))
    env = envs.make_eval(env_id)
    actor = algorithm.make_actor(algo_cfg, env.observation_space, env.action_space, 0, 1, 0)
    env.close()
    actor.set_weights(learner.get_weights(), 0)
    return Policy(actor, env.observation_space)


def write_gif(frames: list[np.ndarray], path: Path, fps: int = 8) -> None:
    """The RGB ``frames`` ``[H, W, 3]`` (uint8) as an animated GIF, written atomically."""
    from PIL import Image

    images = [Image.fromarray(np.asarray(frame, dtype=np.uint8)) for frame in frames]
    tmp = path.with_name(f".{path.name}.tmp")
    images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)
    tmp.replace(path)


def gif_env(env_id: str) -> Any:
    """The evaluation env drawing RGB frames (``render_mode="rgb_array"``), or a one-line ConfigError saying why not."""
    import gymnasium

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # classic control draws with pygame, off-screen
    probe = envs.make_eval(env_id)
    modes = probe.metadata.get("render_modes", [])
    probe.close()
    if "rgb_array" not in modes:
        raise ConfigError(f"env {env_id} cannot draw frames (its render modes: {modes or 'none'}); "
                          "evaluate it without --gif")
    try:
        env = envs.make_eval(env_id, render_mode="rgb_array")
        env.reset(seed=0)
        env.render()  # gymnasium imports its drawing library (pygame for classic control) here
    except gymnasium.error.DependencyNotInstalled as e:
        raise ConfigError(f"--gif on {env_id}: {str(e).splitlines()[0]}") from None
    return env


OPPONENT_NAMES = ("random", "heuristic", "minimax")


def evaluate_game_run(cfg: dict[str, Any], algorithm: Algorithm, algo_cfg: Any, learner: Any, args: Any
                      ) -> dict[str, Any]:
    """A multi-agent run evaluated: against ``--opponent`` in every seat, or (without) in self-play."""
    from agentlab.arena import evaluate_game, versus

    if args.gif:
        raise ConfigError("--gif draws single-agent envs; evaluate a multi-agent run without it")
    env_id, policies = cfg["run"]["env"], cfg["run"].get("policies", "self_play")
    if args.opponent:
        return versus(algorithm, algo_cfg, env_id, learner.get_weights(), policies, args.opponent, args.episodes,
                      args.seed, progress=True, lookahead=args.lookahead)
    return evaluate_game(algorithm, algo_cfg, env_id, learner.get_weights(), policies, args.episodes, args.seed,
                         args.lookahead)


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m agentlab.evaluate", description=__doc__)
    parser.add_argument("run_dir")
    parser.add_argument("--episodes", type=count(1), default=10)
    parser.add_argument("--seed", type=count(0), default=0)
    parser.add_argument("--gif", type=output_file(".gif"),
                        help=f"write the first episode (at most {MAX_GIF_FRAMES:,} steps of it) as an animated GIF")
    parser.add_argument("--checkpoint", choices=CHECKPOINTS, default="auto",
                        help="act from the best evaluated checkpoint or the latest (auto: best if the run has one)")
    parser.add_argument("--opponent", choices=OPPONENT_NAMES,
                        help="multi-agent games: play every seat against this opponent; wins, draws, losses per seat")
    parser.add_argument("--lookahead", action="store_true",
                        help="turn-based games: the policy chooses among the moves one ply of search with the game's "
                             "rules keeps (a win in one, else a move that leaves the opponent none)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # acting is one observation at a time: extra threads only add contention
    try:
        cfg, algorithm, algo_cfg, learner = load_run(args.run_dir, args.checkpoint)
        env_id = cfg["run"]["env"]
        if is_multiagent(env_id):
            result = evaluate_game_run(cfg, algorithm, algo_cfg, learner, args)
            runs.atomic_write(Path(args.run_dir) / "eval.json", (json.dumps(result) + "\n").encode())
            print(json.dumps(result))
            return 0
        for flag in ("opponent", "lookahead"):
            if getattr(args, flag):
                raise ConfigError(f"--{flag} needs a multi-agent run; {args.run_dir} trained on {env_id}")
        env = gif_env(env_id) if args.gif else envs.make_eval(env_id)
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
