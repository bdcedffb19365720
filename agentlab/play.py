"""Play a turn-based game against a trained policy in the terminal:
``python -m agentlab.play RUN_DIR [--seat AGENT] [--checkpoint best|latest] [--seed S] [--lookahead]``.

The board is drawn from your observation (``X`` your pieces, ``O`` the policy's) with the number of each legal
move in the cell that move fills, found by trying the move on a copy of the game, so any PettingZoo board
game with planes of pieces and an action mask draws the same way. Type a move's number; ``q`` quits.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from agentlab.config import ConfigError, count
from agentlab.evaluate import CHECKPOINTS, load_run
from agentlab.opponents import clone_env, legal_actions, position
from envs.multiagent import is_multiagent, make_aec
from perception.cli import OneLineParser


def move_cells(env: Any) -> dict[tuple[int, ...], int]:
    """Board cell -> the legal move that puts a piece there (tried on a copy of the game)."""
    agent = env.agent_selection
    before = position(env, agent)[..., 0]
    cells = {}
    for action in legal_actions(env):
        child = clone_env(env)
        child.step(int(action))
        changed = np.argwhere(position(child, agent)[..., 0] != before)
        if len(changed) == 1:
            cells[tuple(changed[0])] = int(action)
    return cells


def board(env: Any) -> str:
    """The board from the mover's side: X theirs, O the other's, a legal move's number in an empty cell."""
    planes = position(env)
    if planes.ndim != 3 or planes.shape[-1] < 2:
        return f"observation {planes.tolist()}; legal moves {legal_actions(env).tolist()}"
    cells = move_cells(env)
    width = max(len(str(a)) for a in [*cells.values(), 0])
    lines = []
    for r in range(planes.shape[0]):
        row = []
        for c in range(planes.shape[1]):
            mark = "X" if planes[r, c, 0] else "O" if planes[r, c, 1] else str(cells.get((r, c), "."))
            row.append(mark.rjust(width))
        lines.append(" ".join(row))
    return "\n".join(lines)


def play(env: Any, human: str, policy: Any, ask: Callable[[str], str], say: Callable[[str], None],
         seed: int) -> float | None:
    """One game, the person in seat ``human``; their final reward, or None if they quit."""
    env.reset(seed=seed)
    total = 0.0
    for agent in env.agent_iter():
        _, reward, terminated, truncated, _ = env.last()
        if agent == human:
            total += float(reward)
        if terminated or truncated:
            env.step(None)
            continue
        if agent != human:
            env.step(policy.act(env))
            continue
        say(board(env))
        legal = legal_actions(env).tolist()
        while True:
            answer = ask(f"your move {legal} (q quits): ").strip()
            if answer == "q":
                return None
            if answer.lstrip("-").isdigit() and int(answer) in legal:
                break
            say(f"'{answer}' is not a legal move; type one of {legal}")
        env.step(int(answer))
    return total


def main(argv: list[str] | None = None, ask: Callable[[str], str] = input, say: Callable[[str], None] = print
         ) -> int:
    parser = OneLineParser(prog="python -m agentlab.play", description=__doc__)
    parser.add_argument("run_dir")
    parser.add_argument("--seat", default="", help="the agent you play (default: the first, who moves first)")
    parser.add_argument("--checkpoint", choices=CHECKPOINTS, default="auto")
    parser.add_argument("--seed", type=count(0), default=0)
    parser.add_argument("--lookahead", action="store_true",
                        help="the policy chooses among the moves one ply of search keeps (see agentlab.evaluate)")
    args = parser.parse_args(argv)
    try:
        cfg, algorithm, algo_cfg, learner = load_run(args.run_dir, args.checkpoint)
        env_id = cfg["run"]["env"]
        if not is_multiagent(env_id):
            raise ConfigError(f"{args.run_dir} trained on {env_id}, a single-agent env; play needs a turn-based game")
        from agentlab.arena import policy_players

        players, spaces = policy_players(algorithm, algo_cfg, env_id, learner.get_weights(),
                                         cfg["run"].get("policies", "self_play"), args.lookahead)
        human = args.seat or spaces.agents[0]
        if human not in spaces.agents:
            raise ConfigError(f"--seat {human} is not an agent of {env_id}; choose one of: {', '.join(spaces.agents)}")
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    env = make_aec(env_id)
    opponent = next(players[a] for a in spaces.agents if a != human)
    say(f"you are {human} (X); the policy plays the other seat (O)")
    try:
        result = play(env, human, opponent, ask, say, args.seed)
    except EOFError:
        result = None
    except ConfigError as e:  # the lookahead refusing a game too large for it, at the policy's first move
        print(f"error: {e}", file=sys.stderr)
        return 2
    if result is None:
        say("game abandoned")
    else:
        say(board(env) if env.agents else "")
        say("you win" if result > 0 else "you lose" if result < 0 else "draw")
    return 0


if __name__ == "__main__":
    sys.exit(main())
