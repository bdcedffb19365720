"""Memory on tasks an agent cannot see whole: agents with and without it, frame stacking, and RecurrentPPO.

``masked``: on ``agentlab/MaskedCartPole-v1`` (CartPole without velocities), each arm trains for ``--budget``
env steps per seed; "solved" = a greedy evaluation over 20 episodes averages ≥ 450, checked every
``--eval-every`` steps. Arms: ``a2c+lstm`` and ``rainbow+lstm``, the same without memory, the same on a
4-frame stack of observations (the DRQN paper's lesson: memory must beat frame stacking), and sb3-contrib's
RecurrentPPO with rl-baselines3-zoo's ``CartPoleNoVel-v1`` settings as the peer.

``tmaze``: Bakker's T-maze; the share of 100 greedy episodes that reach the cued arm, with and without memory.

    python -m benchmarks.memory masked --jobs 2          # every arm, 5 seeds, 300k steps: the issue's one run
    python -m benchmarks.memory masked --arms rainbow+lstm rainbow --seeds 5 --budget 300000
    python -m benchmarks.memory tmaze --env agentlab/TMazeLong-v0 --arms rainbow+lstm rainbow --seeds 1 --budget 60000
    python -m benchmarks.memory tmaze --env agentlab/TMaze-v0 --arms rainbow+transformer --seeds 1 --budget 60000

sb3-contrib is a benchmark-only dependency (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np

import envs
from benchmarks import cli

SOLVE, EVAL_EPISODES = 450.0, 20
STACKED = "bench/MaskedCartPoleStack4-v1"

ARMS: dict[str, dict[str, Any]] = {
    "a2c+lstm": {"algo": "a2c", "memory": "lstm"},
    "a2c": {"algo": "a2c"},
    "a2c+stack4": {"algo": "a2c", "env": STACKED},
    "rainbow+lstm": {"algo": "rainbow", "memory": "lstm", "envs_per_worker": 8},
    "rainbow+gru": {"algo": "rainbow", "memory": "gru", "envs_per_worker": 8},
    "rainbow+transformer": {"algo": "rainbow", "memory": "transformer", "envs_per_worker": 8},
    "rainbow": {"algo": "rainbow", "envs_per_worker": 8},
    "rainbow+stack4": {"algo": "rainbow", "env": STACKED, "envs_per_worker": 8},
    "ppo+lstm": {"algo": "ppo", "memory": "lstm"},
}
"""Our arms: run keys beside each algorithm's CartPole preset (which MaskedCartPole gets); the Rainbow arms step
8 envs per worker. PPO's CartPole preset is the zoo's PPO setting, the same as RecurrentPPO's below."""

TMAZE = {"target_update_period": 20, "replay_ratio": 2.0, "memory_window": 16}
"""The T-maze's keys for the Rainbow arms: with memory a learner step trains on a whole sequence, so at the
CartPole preset's ratio (0.5 steps replayed per env step, target every 250 learner steps) a 60k-step run makes
~500 updates and 2 target refreshes; these make 4× the updates and refresh the target every 20 of them."""

# rl-baselines3-zoo, hyperparams/ppo_lstm.yml, CartPoleNoVel-v1 (with VecNormalize, as the zoo's ``normalize``).
ZOO_RECURRENT_PPO = dict(n_envs=8, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
                         learning_rate=1e-3, clip_range=0.2)


def register_stacked() -> None:
    """MaskedCartPole seen as its last 4 observations ``[4, 2]``; local backend only (the driver's process)."""
    if STACKED not in gymnasium.registry:
        gymnasium.register(STACKED, entry_point=lambda **kw: gymnasium.wrappers.FrameStackObservation(
            gymnasium.make("agentlab/MaskedCartPole-v1", **kw), 4))


def ours(name: str, env_id: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    from agentlab.train import train

    values = {"env": env_id, **ARMS[name], **(TMAZE if args.task == "tmaze" and "rainbow" in name else {})}
    t0 = time.perf_counter()
    result = train({**values, "seed": seed, "steps": args.budget, "backend": args.backend,
                    "eval_every": args.eval_every, "eval_episodes": EVAL_EPISODES,
                    "solve_return": SOLVE if args.task == "masked" else None,
                    "run_dir": str(args.root / f"{name.replace('+', '-')}_s{seed}")}, progress=False)
    row = {"solved_at": result.solved_at, "wall": time.perf_counter() - t0, "env_steps": result.env_steps,
           "final": result.eval["mean_return"]}
    if args.task == "tmaze":
        row["success"] = success_rate(result.run_dir, env_id, 100)
    return row


def success_rate(run_dir: Path, env_id: str, episodes: int) -> float:
    """The share of greedy episodes that reach the cued arm (``info["success"]``), the policy reset each time."""
    from agentlab.evaluate import load_policy

    policy, env = load_policy(run_dir), envs.make_eval(env_id)
    wins = 0
    for k in range(episodes):
        obs, _ = env.reset(seed=10_000 + k)
        policy.reset()
        done, info = False, {}
        while not done:
            obs, _, terminated, truncated, info = env.step(policy.act(obs))
            done = terminated or truncated
        wins += bool(info.get("success", False))
    return wins / episodes


def recurrent_ppo(seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """sb3-contrib's RecurrentPPO with the zoo's settings, evaluated greedily on the same schedule, on one torch
    thread as our learners (``learner_threads``): torch's default of one thread per core crawls beside other jobs."""
    import torch
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    settings = dict(ZOO_RECURRENT_PPO)
    venv = VecNormalize(make_vec_env("agentlab/MaskedCartPole-v1", n_envs=settings.pop("n_envs"), seed=seed),
                        gamma=settings["gamma"])
    lr, clip = settings.pop("learning_rate"), settings.pop("clip_range")
    model = RecurrentPPO("MlpLstmPolicy", venv, seed=seed, verbose=0, learning_rate=lambda p: lr * p,
                         clip_range=lambda p: clip * p, **settings)
    torch.set_num_threads(1)
    t0, solved_at, final = time.perf_counter(), None, float("nan")
    while model.num_timesteps < args.budget and solved_at is None:
        model.learn(args.eval_every, reset_num_timesteps=False)
        venv.training = False
        final = sb3_greedy(model, venv, seed)
        venv.training = True
        solved_at = model.num_timesteps if final >= SOLVE else None
    return {"solved_at": solved_at, "wall": time.perf_counter() - t0, "env_steps": model.num_timesteps, "final": final}


def sb3_greedy(model: Any, venv: Any, seed: int) -> float:
    env, returns = gymnasium.make("agentlab/MaskedCartPole-v1"), []
    for k in range(EVAL_EPISODES):
        obs, _ = env.reset(seed=seed * 1000 + k)
        state, start, total, done = None, np.ones(1, bool), 0.0, False
        while not done:
            action, state = model.predict(venv.normalize_obs(obs[None]), state=state, episode_start=start,
                                          deterministic=True)
            obs, reward, terminated, truncated, _ = env.step(int(action[0]))
            total, start, done = total + float(reward), np.zeros(1, bool), terminated or truncated
        returns.append(total)
    return float(np.mean(returns))


def summarise(name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    solved = [r for r in rows if r["solved_at"] is not None]
    out = {"arm": name, "seeds": len(rows), "solved": len(solved),
           "median_steps_to_solve": float(np.median([r["solved_at"] for r in solved])) if solved else None,
           "median_wall_to_solve": float(np.median([r["wall"] for r in solved])) if solved else None,
           "final_greedy": [round(r["final"], 1) for r in rows], "wall": [round(r["wall"], 1) for r in rows]}
    if "success" in rows[0]:
        out["success"] = [r["success"] for r in rows]
    return out


def run_one(task: tuple[str, str, int, argparse.Namespace]) -> dict[str, Any]:
    """One arm on one seed: a row of the table."""
    name, env_id, seed, args = task
    register_stacked()
    row = recurrent_ppo(seed, args) if name == "recurrent_ppo" else ours(name, env_id, seed, args)
    return {"arm": name, "seed": seed, **row}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=["masked", "tmaze"])
    parser.add_argument("--arms", nargs="+", default=["rainbow", "rainbow+lstm", "a2c+lstm", "recurrent_ppo",
                                                      "rainbow+stack4", "a2c", "a2c+stack4"],
                        choices=[*ARMS, "recurrent_ppo"], help="run in this order; the default puts the longest first")
    parser.add_argument("--env", default="agentlab/MaskedCartPole-v1", help="the tmaze task's env id")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds run FIRST_SEED .. FIRST_SEED+SEEDS-1")
    parser.add_argument("--budget", type=int, default=300_000, help="env steps per run")
    parser.add_argument("--eval-every", type=int, default=10_000)
    parser.add_argument("--backend", choices=["local", "ray"], default="local")
    parser.add_argument("--jobs", type=int, default=1,
                        help="runs at once, each in a process of its own on one core (local backend only)")
    parser.add_argument("--root", type=Path, default=Path("runs/benchmarks/memory"))
    args = parser.parse_args()
    if args.jobs < 1 or (args.jobs > 1 and args.backend != "local"):
        parser.error("--jobs must be ≥ 1, and above 1 only with --backend local (a Ray run spreads its own workers)")
    env_id = "agentlab/MaskedCartPole-v1" if args.task == "masked" else args.env
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    tasks = [(name, env_id, seed, args) for name in args.arms for seed in seeds]
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in args.arms}
    with multiprocessing.get_context("spawn").Pool(args.jobs, maxtasksperchild=1) as pool:
        for row in pool.imap_unordered(run_one, tasks):  # in the order asked: the arms listed first start first
            print(json.dumps(row), flush=True)
            rows[row["arm"]].append(row)
    for name in args.arms:
        print(json.dumps(summarise(name, sorted(rows[name], key=lambda r: r["seed"]))), flush=True)


if __name__ == "__main__":
    cli(main)
