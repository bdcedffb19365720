"""CartPole-v1 steps and wall time to solve, ours against Stable-Baselines3 with rl-baselines3-zoo's tuned settings.

"Solved" = a greedy evaluation over 20 episodes averages ≥ 475, checked every ``--eval-every`` env steps
(the same check, on the same schedule, for both libraries; evaluation time counts in both wall times: ours plays the
20 episodes side by side, SB3's plays them one at a time as its ``EvalCallback`` does by default, and its seconds in
the check are printed as ``eval_s``). Wall time runs from the start of the run (setup included) to the end of
training, for both: the final 20-episode evaluation is not in it.

    python -m benchmarks.cartpole --algos dqn rainbow --baseline sb3_dqn --seeds 5 --budget 50000
    python -m benchmarks.cartpole --algos a2c a3c --baseline sb3_a2c --seeds 5 --budget 500000
    python -m benchmarks.cartpole --algos ppo --baseline sb3_ppo --seeds 5 --budget 100000 --backend local
    python -m benchmarks.cartpole --ablation --seeds 5 --budget 50000 --backend local
    python -m benchmarks.cartpole --algos dqn rainbow --baseline none --seeds 5 --budget 50000 --full-budget

Stable-Baselines3 is a benchmark-only dependency (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import cli

SOLVE, EVAL_EPISODES = 475.0, 20

ABLATION: dict[str, dict[str, Any]] = {
    "dqn": {"algo": "dqn"},
    "+double": {"algo": "dqn", "double": True},
    "+dueling": {"algo": "dqn", "dueling": True},
    "+per": {"algo": "dqn", "prioritized": True},
    "+n-step": {"algo": "dqn", "n_step": 3},
    "+noisy": {"algo": "dqn", "noisy": True},
    "+c51": {"algo": "dqn", "distributional": True},
    "rainbow": {"algo": "rainbow"},
}

# rl-baselines3-zoo, hyperparams/dqn.yml and a2c.yml, CartPole-v1.
ZOO_DQN = dict(learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000, gamma=0.99,
               target_update_interval=10, train_freq=256, gradient_steps=128, exploration_fraction=0.16,
               exploration_final_eps=0.04, policy_kwargs=dict(net_arch=[256, 256]))
ZOO_A2C = dict(n_envs=8, ent_coef=0.0)
# rl-baselines3-zoo, hyperparams/ppo.yml, CartPole-v1 (n_timesteps 1e5); lin_X is X times the progress remaining.
ZOO_PPO = dict(n_envs=8, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
               learning_rate=1e-3, clip_range=0.2)


def ours(name: str, values: dict[str, Any], seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """One seed. With ``--full-budget`` the run never stops early: "solved" is its first evaluation ≥ 475, and
    ``best`` the greedy mean of the checkpoint its evaluations chose, beside ``final``, the last policy's."""
    from agentlab import runs
    from agentlab.evaluate import evaluate_weights, load_run
    from agentlab.train import train

    result = train({**values, "env": "CartPole-v1", "seed": seed, "steps": args.budget, "backend": args.backend,
                    "eval_every": args.eval_every, "eval_episodes": EVAL_EPISODES,
                    "solve_return": None if args.full_budget else SOLVE,
                    "run_dir": str(args.root / f"{name.replace('+', 'plus-')}_s{seed}")},
                   progress=False)
    row = {"solved_at": result.solved_at, "wall": result.elapsed, "env_steps": result.env_steps,
           "final": result.eval["mean_return"]}
    if args.full_budget:
        evals = runs.read_csv(result.run_dir / "evals.csv")
        row["solved_at"] = next((int(s) for s, r in zip(evals["env_steps"], evals["mean_return"], strict=True)
                                 if r >= SOLVE), None)
        _, algorithm, algo_cfg, learner = load_run(result.run_dir, "best")
        row["best"] = evaluate_weights(algorithm, algo_cfg, "CartPole-v1", learner.get_weights(), EVAL_EPISODES,
                                       seed + 12_345)["mean_return"]
    return row


def greedy_mean(model: Any, seed: int) -> float:
    import gymnasium as gym

    env = gym.make("CartPole-v1")
    returns = []
    for k in range(EVAL_EPISODES):
        obs, _ = env.reset(seed=seed + k)
        total, done = 0.0, False
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, r, term, trunc, _ = env.step(int(action))
            total, done = total + r, term or trunc
        returns.append(total)
    return float(np.mean(returns))


def sb3(kind: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    import torch
    from stable_baselines3 import A2C, DQN, PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    torch.set_num_threads(1)

    class SolveCheck(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.next_eval, self.solved_at, self.eval_s = args.eval_every, None, 0.0

        def _on_step(self) -> bool:
            if self.num_timesteps >= self.next_eval:
                self.next_eval += args.eval_every
                t = time.perf_counter()
                mean = greedy_mean(self.model, seed + 999_983)
                self.eval_s += time.perf_counter() - t
                if mean >= SOLVE:
                    self.solved_at = self.num_timesteps
                    return False
            return True

    t0 = time.perf_counter()
    if kind == "sb3_dqn":
        model = DQN("MlpPolicy", "CartPole-v1", seed=seed, device="cpu", **ZOO_DQN)
    elif kind == "sb3_ppo":
        settings = dict(ZOO_PPO)
        env = make_vec_env("CartPole-v1", n_envs=settings.pop("n_envs"), seed=seed)
        lr, clip = settings.pop("learning_rate"), settings.pop("clip_range")
        model = PPO("MlpPolicy", env, seed=seed, device="cpu", learning_rate=lambda left: lr * left,
                    clip_range=lambda left: clip * left, **settings)
    else:
        env = make_vec_env("CartPole-v1", n_envs=ZOO_A2C["n_envs"], seed=seed)
        model = A2C("MlpPolicy", env, seed=seed, device="cpu", ent_coef=ZOO_A2C["ent_coef"])
    check = SolveCheck()
    model.learn(total_timesteps=args.budget, callback=check)
    wall = time.perf_counter() - t0
    return {"solved_at": check.solved_at, "wall": wall, "eval_s": check.eval_s, "env_steps": model.num_timesteps,
            "final": greedy_mean(model, seed + 12_345)}


def summarise(name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    solved = [r for r in rows if r["solved_at"] is not None]
    out = {"name": name, "solved": f"{len(solved)}/{len(rows)}",
           "steps_to_solve": [r["solved_at"] for r in rows], "wall_s": [round(r["wall"], 1) for r in rows],
           "median_steps": float(np.median([r["solved_at"] for r in solved])) if solved else None,
           "median_wall_s": float(np.median([r["wall"] for r in solved])) if solved else None,
           "final_greedy": [round(r["final"], 1) for r in rows]}
    if "eval_s" in rows[0]:
        out["eval_s"] = [round(r["eval_s"], 1) for r in rows]
    if "best" in rows[0]:
        out["best_greedy"] = [round(r["best"], 1) for r in rows]
        out["final_at_least_475"] = f"{sum(r['final'] >= SOLVE for r in rows)}/{len(rows)}"
        out["best_at_least_475"] = f"{sum(r['best'] >= SOLVE for r in rows)}/{len(rows)}"
    print(f"{name:>10}: solved {out['solved']}, median steps {out['median_steps']}, median wall "
          f"{out['median_wall_s'] and round(out['median_wall_s'], 1)} s; per seed steps {out['steps_to_solve']} "
          f"wall {out['wall_s']} final greedy {out['final_greedy']}"
          + (f" best checkpoint {out['best_greedy']}" if "best_greedy" in out else ""), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algos", nargs="*", default=["dqn", "rainbow"])
    parser.add_argument("--baseline", choices=["sb3_dqn", "sb3_a2c", "sb3_ppo", "none"], default="sb3_dqn")
    parser.add_argument("--ablation", action="store_true", help="run the Rainbow ablation table instead")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds run FIRST_SEED .. FIRST_SEED+SEEDS-1")
    parser.add_argument("--budget", type=int, default=50_000, help="env steps allowed to solve")
    parser.add_argument("--eval-every", type=int, default=2_000)
    parser.add_argument("--full-budget", action="store_true",
                        help="train every run for the whole budget (no stop at the first solve) and report the final "
                             "and the best checkpoint's greedy means (issue 15)")
    parser.add_argument("--backend", choices=["ray", "local"], default="ray")
    args = parser.parse_args()
    args.root = Path("runs") / f"bench_cartpole_{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"  # two at once
    if args.backend == "ray":
        from agentlab.backends import init_ray

        init_ray()
    variants = ABLATION if args.ablation else {a: {"algo": a} for a in args.algos}
    results = []
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    for name, values in variants.items():
        results.append(summarise(name, [ours(name, values, seed, args) for seed in seeds]))
    if args.baseline != "none" and not args.ablation:
        results.append(summarise(args.baseline, [sb3(args.baseline, seed, args) for seed in seeds]))
        base = results[-1]
        for r in results[:-1]:
            if r["median_steps"] and base["median_steps"]:
                print(f"{r['name']} / {base['name']}: steps x{r['median_steps'] / base['median_steps']:.2f}, "
                      f"wall x{r['median_wall_s'] / base['median_wall_s']:.2f}")
    print(json.dumps({"backend": args.backend, "budget": args.budget, "results": results}))


if __name__ == "__main__":
    cli(main)
