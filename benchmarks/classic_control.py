"""Classic control with defaults and presets, against Stable-Baselines3 with rl-baselines3-zoo's settings (issue 15).

For each env and algorithm: ours with its defaults alone (every row of ``agentlab.presets`` that names this env
left out; rows that match every env, such as Rainbow's six components, stay), ours with its preset (only where a
row names the env), and SB3 (``qrdqn`` from sb3-contrib stands in for Rainbow, the zoo's distributional DQN) with
the zoo's hyperparameters at the zoo's budget; ours get the same budget. Each run ends with the *final* policy's
greedy mean over 20 episodes (no best checkpoint); a uniformly random policy is measured in the same run.

Bars: a preset reaches the zoo's mean; defaults reach at least half of the zoo's gain over random,
``ours − random ≥ 0.5 (zoo − random)``.

    python -m benchmarks.classic_control --envs CartPole-v1 MountainCar-v0 LunarLander-v3 \
        --algos dqn rainbow a2c ppo --seeds 3

SB3, sb3-contrib and box2d (LunarLander) are benchmark-only dependencies (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import cli

EPISODES = 20

# rl-baselines3-zoo hyperparams/{dqn,qrdqn,a2c,ppo}.yml (LunarLander-v2's rows, for v3): (n_timesteps, settings).
# "lin_X" is a rate falling linearly from X to 0; "normalize" wraps the envs in VecNormalize.
ZOO: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {
    ("dqn", "CartPole-v1"): (200_000, dict(
        learning_rate=2.5e-4, batch_size=512, buffer_size=100_000, learning_starts=0, gamma=0.99,
        target_update_interval=5000, train_freq=16, gradient_steps=4, exploration_fraction=0.06,
        exploration_final_eps=0.11)),
    ("dqn", "MountainCar-v0"): (120_000, dict(
        learning_rate=4e-3, batch_size=128, buffer_size=10_000, learning_starts=1000, gamma=0.98,
        target_update_interval=5000, train_freq=16, gradient_steps=8, exploration_fraction=0.2,
        exploration_final_eps=0.07, policy_kwargs=dict(net_arch=[256, 256]))),
    ("dqn", "LunarLander-v3"): (150_000, dict(
        learning_rate=8.8e-4, batch_size=32, buffer_size=1_000_000, learning_starts=0, gamma=0.99,
        target_update_interval=10_000, train_freq=16, gradient_steps=-1, exploration_fraction=0.2,
        exploration_final_eps=0.1, policy_kwargs=dict(net_arch=[256, 256]))),
    ("rainbow", "CartPole-v1"): (50_000, dict(
        learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000, gamma=0.99,
        target_update_interval=10, train_freq=256, gradient_steps=128, exploration_fraction=0.16,
        exploration_final_eps=0.04, policy_kwargs=dict(net_arch=[256, 256], n_quantiles=10))),
    ("rainbow", "MountainCar-v0"): (120_000, dict(
        learning_rate=4e-3, batch_size=128, buffer_size=10_000, learning_starts=1000, gamma=0.98,
        target_update_interval=600, train_freq=16, gradient_steps=8, exploration_fraction=0.2,
        exploration_final_eps=0.07, policy_kwargs=dict(net_arch=[256, 256], n_quantiles=25))),
    ("rainbow", "LunarLander-v3"): (100_000, dict(
        learning_rate="lin_1.5e-3", batch_size=128, buffer_size=100_000, learning_starts=10_000, gamma=0.995,
        target_update_interval=1, train_freq=256, gradient_steps=-1, exploration_fraction=0.24,
        exploration_final_eps=0.18, policy_kwargs=dict(net_arch=[256, 256], n_quantiles=170))),
    ("a2c", "CartPole-v1"): (500_000, dict(n_envs=8, ent_coef=0.0)),
    ("a2c", "MountainCar-v0"): (1_000_000, dict(normalize=True, n_envs=16, ent_coef=0.0)),
    ("a2c", "LunarLander-v3"): (200_000, dict(
        n_envs=8, gamma=0.995, n_steps=5, learning_rate="lin_8.3e-4", ent_coef=1e-5)),
    ("ppo", "CartPole-v1"): (100_000, dict(
        n_envs=8, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
        learning_rate="lin_1e-3", clip_range="lin_0.2")),
    ("ppo", "MountainCar-v0"): (1_000_000, dict(
        normalize=True, n_envs=16, n_steps=16, gae_lambda=0.98, gamma=0.99, n_epochs=4, ent_coef=0.0)),
    ("ppo", "LunarLander-v3"): (1_000_000, dict(
        n_envs=16, n_steps=1024, batch_size=64, gae_lambda=0.98, gamma=0.999, n_epochs=4, ent_coef=0.01)),
}


def defaults_only(algo: str, env_id: str, steps: int) -> dict[str, Any]:
    """Values that undo every preset row naming ``env_id`` in a run of ``steps``: each key those rows set, back to
    what it is without them (a row that matches every env, the budget fraction of a schedule that has one, or the
    config default)."""
    from agentlab import algorithms
    from agentlab.config import RunConfig, budget_lengths
    from agentlab.presets import preset

    generic, specific = preset(algo, ""), preset(algo, env_id)  # "" matches only the rows for every env ("*")
    config_cls = algorithms.get(algo).config_cls
    default = {f.name: f.default for cls in (RunConfig, config_cls) for f in fields(cls) if f.default is not MISSING}
    default.update(budget_lengths(config_cls, steps))
    return {key: generic.get(key, default[key]) for key in specific}


def ours(algo: str, env_id: str, arm: str, seed: int, budget: int, args: argparse.Namespace) -> dict[str, Any]:
    """One run of ours at ``budget`` steps; the final policy's greedy mean (latest checkpoint) and the train seconds."""
    from agentlab.evaluate import evaluate_weights, load_run
    from agentlab.train import train

    undo = defaults_only(algo, env_id, budget) if arm == "defaults" else {}
    t0 = time.perf_counter()
    result = train({**undo, "algo": algo, "env": env_id, "steps": budget, "seed": seed, "backend": args.backend,
                    "run_dir": str(args.out / f"{env_id}_{algo}_{arm}_s{seed}")}, progress=False)
    wall = time.perf_counter() - t0
    _, algorithm, algo_cfg, learner = load_run(result.run_dir, "latest")
    final = evaluate_weights(algorithm, algo_cfg, env_id, learner.get_weights(), EPISODES, seed + 12_345)
    return {"final": final["mean_return"], "wall": wall}


def rate(value: Any) -> Any:
    """A zoo rate: a number, or ``lin_X`` as SB3's schedule of the progress remaining."""
    if isinstance(value, str) and value.startswith("lin_"):
        start = float(value[4:])
        return lambda remaining: start * remaining
    return value


def sb3(algo: str, env_id: str, seed: int, budget: int, settings: dict[str, Any]) -> dict[str, Any]:
    import torch
    from stable_baselines3 import A2C, DQN, PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    torch.set_num_threads(1)
    settings = {k: rate(v) for k, v in settings.items()}
    normalize, n_envs = settings.pop("normalize", False), settings.pop("n_envs", 1)
    env = make_vec_env(env_id, n_envs=n_envs, seed=seed)
    if normalize:
        env = VecNormalize(env)
    if algo == "rainbow":
        from sb3_contrib import QRDQN as cls
    else:
        cls = {"dqn": DQN, "a2c": A2C, "ppo": PPO}[algo]
    t0 = time.perf_counter()
    model = cls("MlpPolicy", env, seed=seed, device="cpu", **settings)
    model.learn(total_timesteps=budget)
    wall = time.perf_counter() - t0
    scale = env.normalize_obs if normalize else (lambda obs: obs)
    return {"final": play(env_id, lambda obs: int(model.predict(scale(obs), deterministic=True)[0]), seed + 12_345),
            "wall": wall}


def play(env_id: str, policy: Any, seed: int) -> float:
    """Mean return of ``policy(obs) -> action`` over ``EPISODES`` episodes, seeds ``seed``, ``seed + 1``, ..."""
    import gymnasium as gym

    env, returns = gym.make(env_id), []
    for k in range(EPISODES):
        obs, _ = env.reset(seed=seed + k)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(policy(obs))
            total, done = total + float(reward), terminated or truncated
        returns.append(total)
    return float(np.mean(returns))


def random_return(env_id: str, seed: int) -> float:
    import gymnasium as gym

    space = gym.make(env_id).action_space
    space.seed(seed)
    return play(env_id, lambda obs: int(space.sample()), seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", nargs="+", default=["CartPole-v1", "MountainCar-v0", "LunarLander-v3"])
    parser.add_argument("--algos", nargs="+", default=["dqn", "rainbow", "a2c", "ppo"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed, first-seed + 1, ...: split "
                        "one table's seeds over processes")
    parser.add_argument("--arms", nargs="+", default=["defaults", "preset", "zoo"],
                        choices=["defaults", "preset", "zoo"])
    parser.add_argument("--backend", default="local", choices=("local", "ray"))
    parser.add_argument("--out", type=Path, default=Path("runs") / f"bench_classic_{time.strftime('%Y%m%d-%H%M%S')}")
    args = parser.parse_args()
    from agentlab.presets import preset

    seeds = range(args.first_seed, args.first_seed + args.seeds)
    for env_id in args.envs:
        random = float(np.mean([random_return(env_id, seed) for seed in seeds]))
        for algo in args.algos:
            budget, settings = ZOO[(algo, env_id)]
            means: dict[str, float] = {}
            for arm in args.arms:
                if arm == "preset" and preset(algo, env_id) == preset(algo, ""):
                    continue  # no row names this env: the preset is the defaults
                runs = [sb3(algo, env_id, seed, budget, settings) if arm == "zoo"
                        else ours(algo, env_id, arm, seed, budget, args) for seed in seeds]
                means[arm] = float(np.mean([r["final"] for r in runs]))
                print(json.dumps({"env": env_id, "algo": algo, "arm": arm, "budget": budget, "seeds": list(seeds),
                                  "final": [round(r["final"], 1) for r in runs], "mean": round(means[arm], 1),
                                  "wall_s": [round(r["wall"], 1) for r in runs], "random": round(random, 1)}),
                      flush=True)
            if "zoo" in means:
                zoo = means["zoo"]
                verdict = {"env": env_id, "algo": algo, "random": round(random, 1), "zoo": round(zoo, 1)}
                if "defaults" in means:
                    verdict["defaults_half_gain"] = means["defaults"] - random >= 0.5 * (zoo - random)
                if "preset" in means:
                    verdict["preset_reaches_zoo"] = means["preset"] >= zoo
                print(json.dumps(verdict), flush=True)


if __name__ == "__main__":
    cli(main)
