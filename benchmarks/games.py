"""Multi-agent learning on games whose best play is known (issue 11): figures for docs/benchmarks.md.

``tictactoe``: self-play on ``pettingzoo.classic.tictactoe_v3`` for ``--budget`` env steps (one env step = one
move), then the final greedy policy plays 100 games in each seat against perfect play (``minimax``, ties broken at
random, so the games differ), ``random`` and the one-ply ``heuristic``. Pass: 0 losses to minimax in each seat and
≥ 90% wins against random as first player.

``connect_four``: self-play on ``pettingzoo.classic.connect_four_v3``; 100 games per seat against ``random`` and
``heuristic``. Pass: ≥ 90% against random and ≥ 60% against the heuristic, in both seats. ``--peer`` adds
sb3-contrib's MaskablePPO (default settings) set up as PettingZoo's SB3 tutorial does it: one model plays both seats
of the AEC game through a wrapper that hides the mask in ``action_masks``, at the same budget, scored the same way.
Our PPO arm trains with ``CONNECT_FOUR_PPO``. ``--lookahead`` scores each of our trained policies a second time, then
choosing only among the moves one ply of search with the game's rules keeps (``agentlab.evaluate --lookahead``).

``coop``: ``agentlab/CoopGrid-v0`` (two agents, one start cell, two targets; optimum 0.4 a step-penalised episode)
with ``shared`` and ``independent`` policies: both learning curves in one ``agentlab.plot`` figure, and the greedy
joint return.

    python -m benchmarks.games tictactoe --algos dqn q_learning --seeds 3
    python -m benchmarks.games connect_four --algos dqn --peer --budget 500000
    python -m benchmarks.games connect_four --algos ppo --lookahead --workers 2 --seeds 3
    python -m benchmarks.games coop --algo dqn --budget 60000
    python -m benchmarks.games tictactoe --algos dqn --backend ray --workers 2
    python -m benchmarks.games tictactoe --algos dqn --backend ray --workers 2 --select-by minimax

``--select-by OPPONENT`` evaluates every tenth of the budget against that opponent (20 games a seat, on seeds the
final 100 games do not use) and scores the best checkpoint those evaluations chose, as a user of ``agentlab.evaluate``
gets by default.

sb3-contrib is a benchmark-only dependency (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import cli

TICTACTOE, CONNECT_FOUR, COOP = "pettingzoo.classic.tictactoe_v3", "pettingzoo.classic.connect_four_v3", \
    "agentlab/CoopGrid-v0"
GAMES = 100

ARMS: dict[str, dict[str, Any]] = {"dqn": {"algo": "dqn"}, "ppo": {"algo": "ppo"}, "q_learning": {"algo": "q_learning"}}
"""Our arms, each with its defaults and the board-game rows of ``agentlab.presets`` (DQN: ε over 100k steps down to
0.2, double Q, the learning rate annealed to 0, games opened by up to 4 random moves; Q-learning: optimistic values,
ε 0.3 → 0.05 per agent-episode, games opened by up to 2 random moves, greedy play as pessimistic as the behaviour is
optimistic). In self-play the opponent's ε is part of the env the values are learnt against: with DQN's ε = 0.05
after 10k steps, 8 and 1 of 100 games as second player were lost to minimax (seeds 1 and 2); Q-learning with a fixed
ε = 0.2 lost 2-3 (seeds 1 and 2)."""

CONNECT_FOUR_PPO: dict[str, Any] = {"hidden_sizes": (256, 256), "entropy_coef": 0.01, "encoder": "minatar_cnn"}
"""The PPO arm on connect four, with fragments of ``PPO_ROUND // workers`` moves of each game in place of the streams'
4 (128 with the figures' 2 workers), so that every worker count learns from rounds of one size: the board through one
convolution, 256 × 256 units, entropy 0.01. The best of the stop-33 and stop-40 probes (docs/benchmarks.md), 92–98 of
100 against random in each seat where the defaults won 78–90."""
PPO_ROUND = 256

STREAMS = {"envs_per_worker": 8, "fragment_length": 4}
"""8 games a worker, each agent's transitions shipped 4 at a time."""


def train_arm(arm: str, env_id: str, seed: int, args: argparse.Namespace, **extra: Any) -> tuple[Any, float]:
    """Train one arm; the run's result and its wall time in seconds."""
    from agentlab.train import train

    name = f"{Path(env_id).name}_{arm}_{extra.get('policies', 'self_play')}_s{seed}"
    values = {**ARMS[arm], "env": env_id, "steps": args.budget, "seed": seed, "backend": args.backend,
              "workers": args.workers, **STREAMS, **extra, "run_dir": str(Path(args.out) / name)}
    if args.select_by:
        values.update(eval_every=args.budget // 10, eval_episodes=20, eval_opponent=args.select_by)
    t0 = time.perf_counter()
    run = train(values, progress=False)
    return run, time.perf_counter() - t0


def matches(run: Any, opponents: tuple[str, ...], lookahead: bool = False) -> dict[str, Any]:
    """The run's greedy policy (its best checkpoint with ``--select-by``, else the final one) against each opponent,
    ``GAMES`` games per seat; with ``lookahead``, choosing among the moves one ply of search keeps."""
    from agentlab.arena import versus
    from agentlab.evaluate import load_run

    cfg, algorithm, algo_cfg, learner = load_run(run.run_dir, "auto")
    return {name: versus(algorithm, algo_cfg, cfg["run"]["env"], learner.get_weights(), cfg["run"]["policies"], name,
                         GAMES, seed=1, lookahead=lookahead)["seats"] for name in opponents}


def weak_positions(run_dir: Path) -> dict[str, int]:
    """Per seat, the positions where the run's greedy policy plays worse than perfect play, over every line of
    perfect play from the other seat (``MinimaxOpponent.weak_positions``): 0 in a seat is a proof that no tie-break of
    minimax's beats it there, which 100 games only sample."""
    from agentlab.arena import policy_players
    from agentlab.evaluate import load_run
    from agentlab.opponents import MinimaxOpponent
    from envs.multiagent import make_aec

    cfg, algorithm, algo_cfg, learner = load_run(run_dir, "auto")
    env_id = cfg["run"]["env"]
    players, spaces = policy_players(algorithm, algo_cfg, env_id, learner.get_weights(), cfg["run"]["policies"])
    env, solver = make_aec(env_id), MinimaxOpponent()
    env.reset(seed=0)
    return {seat: len(solver.weak_positions(env, seat, players[seat])) for seat in spaces.agents}


def rate(seat: dict[str, int], key: str = "wins") -> float:
    return seat[key] / (seat["wins"] + seat["draws"] + seat["losses"])


def tictactoe(args: argparse.Namespace) -> None:
    for arm in args.algos:
        for seed in range(args.seeds):
            run, wall = train_arm(arm, TICTACTOE, seed, args)
            result = matches(run, ("minimax", "random", "heuristic"))
            first = next(iter(result["random"]))
            passed = all(s["losses"] == 0 for s in result["minimax"].values()) and rate(result["random"][first]) >= 0.9
            print(json.dumps({"game": "tictactoe", "arm": arm, "seed": seed, "backend": args.backend,
                              "env_steps": run.env_steps, "train_s": round(wall, 1), "pass": passed,
                              "weak_positions": weak_positions(run.run_dir), **result}), flush=True)


def connect_four(args: argparse.Namespace) -> None:
    ppo = {**CONNECT_FOUR_PPO, "fragment_length": max(1, PPO_ROUND // args.workers)}
    for arm in args.algos:
        for seed in range(args.seeds):
            run, wall = train_arm(arm, CONNECT_FOUR, seed, args, **(ppo if arm == "ppo" else {}))
            report(arm, seed, run.env_steps, wall, matches(run, ("random", "heuristic")))
            if args.lookahead:
                report(f"{arm} + lookahead", seed, run.env_steps, wall, matches(run, ("random", "heuristic"), True))
    if args.peer:
        for seed in range(args.seeds):
            report("sb3 MaskablePPO", seed, *maskable_ppo(seed, args.budget))


def report(arm: str, seed: int, env_steps: int, wall: float, result: dict[str, Any]) -> None:
    passed = all(rate(s) >= 0.9 for s in result["random"].values()) and \
        all(rate(s) >= 0.6 for s in result["heuristic"].values())
    print(json.dumps({"game": "connect_four", "arm": arm, "seed": seed, "env_steps": env_steps,
                      "train_s": round(wall, 1), "pass": passed, **result}), flush=True)


def maskable_ppo(seed: int, budget: int) -> tuple[int, float, dict[str, Any]]:
    """PettingZoo's SB3 tutorial setup: MaskablePPO (defaults) on the AEC game seen as one env whose observation is
    always that of the agent to move; returns env steps, train seconds and the matches."""
    import gymnasium
    from sb3_contrib import MaskablePPO
    from sb3_contrib.common.wrappers import ActionMasker

    from agentlab.arena import seat_record
    from agentlab.opponents import make_opponent
    from envs.multiagent import make_aec

    class MoverView(gymnasium.Env):
        """The game from the mover's side: step plays the mover's action and reports that mover's reward."""

        def __init__(self) -> None:
            self.game = make_aec(CONNECT_FOUR)
            agent = self.game.possible_agents[0]
            self.observation_space = self.game.observation_space(agent)["observation"]
            self.action_space = self.game.action_space(agent)

        def reset(self, seed: int | None = None, options: Any = None) -> tuple[np.ndarray, dict]:
            self.game.reset(seed=seed)
            return self.game.observe(self.game.agent_selection)["observation"], {}

        def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
            mover = self.game.agent_selection
            self.game.step(int(action))
            reward = float(self.game._cumulative_rewards[mover])
            done = self.game.terminations[mover] or self.game.truncations[mover]
            return self.game.observe(self.game.agent_selection)["observation"], reward, done, False, {}

        def mask(self) -> np.ndarray:
            return self.game.observe(self.game.agent_selection)["action_mask"].astype(bool)

    env = ActionMasker(MoverView(), lambda e: e.mask())
    model = MaskablePPO("MlpPolicy", env, seed=seed, verbose=0)
    t0 = time.perf_counter()
    model.learn(total_timesteps=budget)
    wall = time.perf_counter() - t0

    class ModelPlayer:
        def act(self, game: Any) -> int:
            obs = game.observe(game.agent_selection)
            return int(model.predict(obs["observation"], action_masks=obs["action_mask"].astype(bool),
                                     deterministic=True)[0])

    game = make_aec(CONNECT_FOUR)
    result = {name: {seat: seat_record(game, seat, ModelPlayer(), make_opponent(name, seed=1 + k), GAMES,
                                       1 + 1000 * k)[0] for k, seat in enumerate(game.possible_agents)}
              for name in ("random", "heuristic")}
    return budget, wall, result


def coop(args: argparse.Namespace) -> None:
    from agentlab.arena import evaluate_game
    from agentlab.evaluate import load_run
    from agentlab.plot import plot_runs
    from envs.coop import CoopGrid

    runs, optimum = [], CoopGrid().optimal_return()
    for policies in ("shared", "independent"):
        for seed in range(args.seeds):
            run, wall = train_arm(args.algo, COOP, seed, args, policies=policies)
            cfg, algorithm, algo_cfg, learner = load_run(run.run_dir, "latest")
            greedy = evaluate_game(algorithm, algo_cfg, COOP, learner.get_weights(), policies, 10, seed=0)
            runs.append(run.run_dir)
            print(json.dumps({"game": "coop", "arm": args.algo, "policies": policies, "seed": seed,
                              "env_steps": run.env_steps, "train_s": round(wall, 1),
                              "greedy_joint_return": round(greedy["mean_return"], 3), "optimum": optimum,
                              "at_optimum": abs(greedy["mean_return"] - optimum) < 1e-6}), flush=True)
    out = Path(args.out) / "coop_shared_vs_independent.png"
    plot_runs(runs, out, title=f"{COOP}: {args.algo}, shared vs independent policies",
              labels=[Path(r).name.rsplit("_s", 1)[0] for r in runs])
    print(f"figure: {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=("tictactoe", "connect_four", "coop"))
    parser.add_argument("--algos", nargs="+", default=["dqn"], choices=list(ARMS))
    parser.add_argument("--algo", default="dqn", choices=list(ARMS), help="coop: the algorithm of both arms")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--budget", type=int, default=0, help="env steps (default: 200k, 500k, 60k by task)")
    parser.add_argument("--backend", default="local", choices=("local", "ray"))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--peer", action="store_true", help="connect_four: also train sb3-contrib's MaskablePPO")
    parser.add_argument("--lookahead", action="store_true",
                        help="connect_four: also score each trained policy with one ply of lookahead")
    parser.add_argument("--select-by", default="", choices=("", "random", "heuristic", "minimax"),
                        help="evaluate every tenth of the budget (20 games a seat) against this opponent and score the "
                             "best checkpoint those evaluations chose, not the final policy")
    parser.add_argument("--out", default="runs/bench_games")
    args = parser.parse_args()
    args.budget = args.budget or {"tictactoe": 200_000, "connect_four": 500_000, "coop": 60_000}[args.task]
    {"tictactoe": tictactoe, "connect_four": connect_four, "coop": coop}[args.task](args)


if __name__ == "__main__":
    cli(main)
