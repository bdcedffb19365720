"""Fixed opponents for turn-based PettingZoo AEC games: ``random``, ``heuristic`` and ``minimax``.

They work on any two-player zero-sum AEC game with Discrete actions; where the observation is a dict with an
``action_mask`` (the PettingZoo classic convention) only its legal actions are played, otherwise every action of
the agent's space is legal (rock-paper-scissors). They look ahead by stepping copies of the env
(:func:`clone_env`), never the env they are given. A game is over when every agent is terminated or truncated;
the winner's reward is then positive (classic games: +1 win, -1 loss, 0 draw in ``env.rewards``).

``copy.deepcopy(env)`` is no use here: the classic raw envs are ``EzPickle``, so a deep copy rebuilds a fresh env
from the constructor arguments and drops the board (connect four loses ``agent_selection`` and fails on ``step``;
tic-tac-toe silently starts over). :func:`clone_env` copies each layer of the wrapper stack without calling its
constructor instead. Make the env with ``render_mode=None`` (a pygame screen cannot be copied).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

from agentlab.config import ConfigError

DISCOUNT = 0.99  # minimax: an outcome d plies later counts DISCOUNT**d, so quick wins and slow losses are preferred
MAX_POSITIONS = 200_000
"""Positions minimax may solve before it gives up on a game as too large for exhaustive search (tic-tac-toe has
4,520; each costs a copy of the env, about half a millisecond)."""
MAX_LOOKAHEAD = 20_000
"""Copies of the env the heuristic may step to choose one move, about its moves × their replies (connect four: 49;
go's 19 × 19 board: 130,000, minutes a move); a game with more is refused."""


class Opponent(Protocol):
    """A fixed player: ``act(env)`` gives the action for ``env.agent_selection`` (live, not done)."""

    def act(self, env: Any) -> int: ...


def legal_actions(env: Any) -> np.ndarray:
    """The actions the agent to move may take, in increasing order: where its ``action_mask`` is 1, or every action
    of its Discrete space when its observation carries no mask."""
    observation = env.observe(env.agent_selection)
    if isinstance(observation, Mapping) and "action_mask" in observation:
        return np.flatnonzero(observation["action_mask"])
    return np.arange(env.action_space(env.agent_selection).n)


def position(env: Any, agent: str | None = None) -> np.ndarray:
    """What ``agent`` (default: the agent to move) observes, without its mask: a dict's ``observation``, else all."""
    observation = env.observe(agent or env.agent_selection)
    return np.asarray(observation["observation"] if isinstance(observation, Mapping) else observation)


def game_over(env: Any) -> bool:
    """Whether the game has ended: every agent is terminated or truncated (or none is left)."""
    return all(env.terminations[agent] or env.truncations[agent] for agent in env.agents)


def clone_env(env: Any) -> Any:
    """An independent copy of an AEC env in its current state, to step without touching ``env``.

    Each layer of the wrapper stack (``layer.env``, down to the raw env) is made with ``object.__new__`` and
    gets a deep copy of the original's ``__dict__``, one shared memo for all layers so the copies link to each
    other. This bypasses ``__getstate__``/``__reduce__`` (``EzPickle`` would rebuild an empty game). The raw env's
    ``action_spaces`` and ``observation_spaces`` are shared with the original, not copied: they are the game's
    fixed description, and copying them (with their random generators) would triple the cost of a clone. What cannot
    be copied at all (a pygame surface) is shared."""
    layers = [env]
    while "env" in vars(layers[-1]):
        layers.append(vars(layers[-1])["env"])
    memo: dict[int, Any] = {}
    copies = []
    for layer in layers:
        memo[id(layer)] = new = object.__new__(type(layer))
        copies.append(new)
    for name in ("action_spaces", "observation_spaces"):
        spaces = vars(layers[-1]).get(name)
        if spaces is not None:
            memo[id(spaces)] = spaces
    for layer, new in zip(layers, copies, strict=True):
        vars(new).update({name: _copy_or_share(value, memo) for name, value in vars(layer).items()})
    return copies[0]


def _copy_or_share(value: Any, memo: dict[int, Any]) -> Any:
    """A deep copy of ``value``, or ``value`` itself where it cannot be copied: such as the pygame screen that
    rock-paper-scissors makes even without a render mode, drawing state and not the game's."""
    try:
        return copy.deepcopy(value, memo)
    except TypeError:
        return value


def _after(env: Any, action: int) -> Any:
    """A copy of ``env`` after the agent to move plays ``action``."""
    child = clone_env(env)
    child.step(int(action))
    return child


def _winning(env: Any, action: int) -> bool:
    """Whether ``action`` ends the game at once with a positive reward for the agent playing it."""
    mover = env.agent_selection
    child = _after(env, action)
    return game_over(child) and child.rewards[mover] > 0


def play_game(env: Any, players: Mapping[str, Opponent], seed: int | None = None) -> dict[str, float]:
    """Reset ``env`` with ``seed``, play one game with ``players[agent]`` choosing for each seat, and return
    every agent's total reward (the sum of the rewards ``env.last()`` reports on its turns, the last one included)."""
    env.reset(seed=seed)
    returns = dict.fromkeys(env.agents, 0.0)
    for agent in env.agent_iter():
        _, reward, terminated, truncated, _ = env.last()
        returns[agent] += float(reward)
        env.step(None if terminated or truncated else players[agent].act(env))
    return returns


class RandomOpponent:
    """Plays uniformly at random among the legal actions, from its own generator."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def act(self, env: Any) -> int:
        return int(self.rng.choice(legal_actions(env)))


def sound_moves(env: Any) -> np.ndarray:
    """The legal moves that one ply of search with the game's rules keeps, in increasing order (decision-time
    planning, Sutton & Barto 2018, Sec. 8.8), in order of preference:

    1. the moves that win at once (the game is over and the mover's reward is positive), if there are any;
    2. else the *safe* moves, if there are any: those after which the game is over without a loss for the mover (a
       draw), or the agent to move is another agent with no move that wins at once (this blocks a one-move threat
       whenever it can be blocked, and never hands the opponent a win, as under a connect-four column);
    3. else every legal move (each loses to an immediate reply).

    Steps a copy of the game for each move and each reply; a game with more than ``MAX_LOOKAHEAD`` of them a move
    is refused with a one-line error."""
    mover, moves = env.agent_selection, legal_actions(env)
    if len(moves) ** 2 > MAX_LOOKAHEAD:
        raise ConfigError(f"one ply of lookahead steps a copy of the game for each move and each reply, "
                          f"{len(moves)}² here (at most {MAX_LOOKAHEAD:,} a move): it is for small games; use the "
                          "random opponent, and no --lookahead")
    wins, safe = [], []
    for action in moves:
        child = _after(env, action)
        if game_over(child):
            if child.rewards[mover] > 0:
                wins.append(action)
            elif child.rewards[mover] == 0:
                safe.append(action)
        elif child.agent_selection == mover or not any(_winning(child, reply) for reply in legal_actions(child)):
            safe.append(action)
    return np.asarray(wins or safe or moves, dtype=np.int64)


class HeuristicOpponent:
    """One ply of lookahead: a move that wins at once, else one that is safe, else any (:func:`sound_moves`), ties
    broken at random by its own generator."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def act(self, env: Any) -> int:
        return int(self.rng.choice(sound_moves(env)))


class MinimaxOpponent:
    """Perfect play by negamax over copies of the env, memoised per position; picks the best move, at random among
    equals (from its own generator), so a hundred games against it cover many lines of perfect play. Values are the
    mover's final reward, discounted by ``DISCOUNT`` per ply, so it wins as fast and loses as slowly as it can.

    A position's key is ``agent_selection`` with the bytes of its observation: it must determine the rest of the
    game (so it does for tic-tac-toe and connect four: the board from the mover's side, and who moves). The memo
    lives as long as the opponent, so later games are free. The search is exhaustive, exponential in game length:
    meant for small games; tic-tac-toe from the empty board is 4,520 live positions, under two seconds."""

    def __init__(self, seed: int = 0) -> None:
        self.values: dict[tuple[str, bytes], float] = {}
        self.rng = np.random.default_rng(seed)

    def act(self, env: Any) -> int:
        return int(self.rng.choice(self._best_moves(env)))

    def _best_moves(self, env: Any) -> np.ndarray:
        """The legal moves of the highest value."""
        moves = legal_actions(env)
        try:
            values = np.array([self._move_value(env, action) for action in moves])
        except RecursionError:  # a line of play deeper than Python's stack, long before MAX_POSITIONS
            raise too_large("followed a line of this game deeper than Python's recursion limit") from None
        return moves[values >= values.max() - 1e-9]

    def weak_positions(self, env: Any, seat: str, player: Opponent, found: set | None = None) -> set:
        """The positions (keyed as the memo's) where ``player`` (in ``seat``) picks a move worse than the best, over
        every line in which the other seats play each of their best moves and ``player`` its own: none means it never
        loses to perfect play, however the ties are broken. ``env`` is left as it was (the search steps copies)."""
        found = set() if found is None else found
        if game_over(env):
            return found
        best = self._best_moves(env)
        if env.agent_selection == seat:
            action = player.act(env)
            if action in best:
                self.weak_positions(_after(env, action), seat, player, found)
            else:
                found.add((seat, position(env).tobytes()))
            return found
        for action in best:
            self.weak_positions(_after(env, int(action)), seat, player, found)
        return found

    def _value(self, env: Any) -> float:
        """The value of a live position for the agent to move."""
        key = (env.agent_selection, position(env).tobytes())
        if key not in self.values:
            if len(self.values) >= MAX_POSITIONS:
                raise too_large(f"solved {MAX_POSITIONS:,} positions of this game without finishing")
            self.values[key] = max(self._move_value(env, action) for action in legal_actions(env))
        return self.values[key]

    def _move_value(self, env: Any, action: int) -> float:
        """The value of ``action`` for the agent playing it."""
        mover = env.agent_selection
        child = _after(env, action)
        if game_over(child):
            return float(child.rewards[mover])
        value = DISCOUNT * self._value(child)
        return value if child.agent_selection == mover else -value


def too_large(why: str) -> ConfigError:
    """Minimax's one-line refusal of a game too large to solve exactly."""
    return ConfigError(f"minimax {why}: exact play is for small games such as tic-tac-toe; use the heuristic "
                       "opponent")


OPPONENTS = {"random": RandomOpponent, "heuristic": HeuristicOpponent, "minimax": MinimaxOpponent}


def make_opponent(name: str, seed: int = 0) -> Opponent:
    """The opponent called ``name`` (one of :data:`OPPONENTS`); ``seed`` seeds its tie-breaking where it has any."""
    if name not in OPPONENTS:
        raise ValueError(f"unknown opponent {name!r}: choose from {', '.join(OPPONENTS)}")
    return OPPONENTS[name](seed)
