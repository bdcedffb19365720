"""Trained policies in PettingZoo games: greedy players, self-play evaluation, and matches against opponents.

A ``PolicyPlayer`` plays a seat of an AEC game greedily with a policy's actor (the same observation encoding
as training, ``envs.multiagent.GameSpaces``), so it sits beside ``agentlab.opponents`` in ``play_game``. With
``lookahead`` it plans one ply at decision time with the game's rules: it chooses only among the moves that
``agentlab.opponents.sound_moves`` keeps (a win in one if there is one, else a move that leaves the opponent none),
by narrowing the action mask the policy acts on; the policy is what chooses among them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from agentlab.config import ConfigError
from agentlab.opponents import make_opponent, play_game, sound_moves
from agentlab.policies import policy_ids, policy_map
from envs.masks import num_masked
from envs.multiagent import GameSpaces, make_aec


class PolicyPlayer:
    """An actor choosing greedily for whichever agent is to move; with ``lookahead``, among the sound moves only."""

    def __init__(self, actor: Any, spaces: GameSpaces, lookahead: bool = False):
        if lookahead and not num_masked(spaces.observation_space):
            raise ConfigError("lookahead narrows the legal-action mask, and this game's observations carry none "
                              "('action_mask'); evaluate without --lookahead")
        self.actor, self.spaces, self.lookahead = actor, spaces, lookahead

    def act(self, env: Any) -> int:
        agent = env.agent_selection
        observation = env.observe(agent)
        if self.lookahead:
            mask = np.zeros_like(observation["action_mask"])
            mask[sound_moves(env)] = 1
            observation = {**observation, "action_mask": mask}
        obs = self.spaces.encode(observation, agent)[None]
        return int(self.actor.act(obs, {}, np.ones(1, bool), explore=False)[0][0])


def policy_players(algorithm: Any, algo_cfg: Any, env_id: str, weights: dict[str, Any], policies: str,
                   lookahead: bool = False) -> tuple[dict[str, PolicyPlayer], GameSpaces]:
    """Agent -> the greedy player of its policy, for ``weights`` keyed by policy id."""
    probe = make_aec(env_id)
    spaces = GameSpaces(probe, agent_id=policies == "shared")
    probe.close()
    mapping = policy_map(spaces.agents, policies)
    players = {}
    for policy in policy_ids(mapping):
        actor = algorithm.make_actor(algo_cfg, spaces.observation_space, spaces.action_space, 0, 1, 0)
        actor.set_weights(weights[policy], 0)
        players[policy] = PolicyPlayer(actor, spaces, lookahead)
    return {agent: players[mapping[agent]] for agent in spaces.agents}, spaces


def evaluate_game(algorithm: Any, algo_cfg: Any, env_id: str, weights: dict[str, Any], policies: str,
                  episodes: int, seed: int, lookahead: bool = False) -> dict[str, Any]:
    """Greedy play with every seat taken by its own policy: the mean return over agents and episodes (for a
    cooperative game, the joint return), and each agent's mean."""
    players, spaces = policy_players(algorithm, algo_cfg, env_id, weights, policies, lookahead)
    env = make_aec(env_id)
    games = [play_game(env, players, seed=seed + i) for i in range(episodes)]
    env.close()
    per_game = [float(np.mean(list(g.values()))) for g in games]
    return {"mean_return": float(np.mean(per_game)), "std_return": float(np.std(per_game)), "episodes": episodes,
            "lookahead": lookahead, "per_agent": {a: float(np.mean([g[a] for g in games])) for a in spaces.agents}}


def versus(algorithm: Any, algo_cfg: Any, env_id: str, weights: dict[str, Any], policies: str, opponent: str,
           episodes: int, seed: int, progress: bool = False, lookahead: bool = False) -> dict[str, Any]:
    """The trained policy in each seat in turn, ``opponent`` in every other: ``seat_record`` per seat, and the mean
    return over all seats' games (eval.json's). ``progress``: a bar of games played on a terminal's stderr."""
    players, spaces = policy_players(algorithm, algo_cfg, env_id, weights, policies, lookahead)
    env = make_aec(env_id)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=episodes * len(spaces.agents), unit="game", desc=f"vs {opponent}", leave=False, disable=None)
    seats, every = {}, []
    for k, seat in enumerate(spaces.agents):
        seats[seat], returns = seat_record(env, seat, players[seat], make_opponent(opponent, seed=seed + k), episodes,
                                           seed + 1000 * k, bar.update if bar else None)
        every += returns
    env.close()
    if bar:
        bar.close()
    return {"opponent": opponent, "episodes": episodes, "lookahead": lookahead, "seats": seats,
            "mean_return": float(np.mean(every)), "std_return": float(np.std(every))}


def seat_record(env: Any, seat: str, player: Any, rival: Any, episodes: int, seed: int,
                after_game: Callable[[], Any] | None = None) -> tuple[dict[str, Any], list[float]]:
    """``player`` in ``seat``, ``rival`` everywhere else, for ``episodes`` games: wins, draws and losses (a positive,
    zero or negative final return) with the mean return, and the returns themselves. ``after_game`` is called after
    each game."""
    seats = {agent: player if agent == seat else rival for agent in env.possible_agents}
    returns = []
    for i in range(episodes):
        returns.append(play_game(env, seats, seed=seed + i)[seat])
        if after_game:
            after_game()
    return {"wins": sum(r > 0 for r in returns), "draws": sum(r == 0 for r in returns),
            "losses": sum(r < 0 for r in returns), "mean_return": float(np.mean(returns))}, returns
