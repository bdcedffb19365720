"""Fixed opponents on tic-tac-toe and connect four: env cloning, minimax never loses, the heuristic's one-ply rule."""

from __future__ import annotations

import inspect
import sys

import pytest
from pettingzoo.classic import connect_four_v3, rps_v2, tictactoe_v3

from agentlab import opponents
from agentlab.config import ConfigError
from agentlab.opponents import (
    HeuristicOpponent,
    MinimaxOpponent,
    RandomOpponent,
    clone_env,
    legal_actions,
    make_opponent,
    play_game,
    sound_moves,
)


def position(module, moves):
    """A fresh ``module`` env after the scripted ``moves``."""
    env = module.env(render_mode=None)
    env.reset(seed=0)
    for action in moves:
        env.step(action)
    return env


def board(env):
    """The raw board as a list (tic-tac-toe: 9 squares; connect four: 42 cells, top row first); 0 is empty."""
    squares = env.unwrapped.board
    return list(getattr(squares, "squares", squares))


@pytest.fixture(scope="module")
def minimax():
    return MinimaxOpponent()  # shared: the tic-tac-toe solve is memoised once for all tests


@pytest.mark.parametrize("module", [tictactoe_v3, connect_four_v3])
def test_clone_steps_independently(module):
    env = position(module, [0, 1])
    before = board(env)
    clone = clone_env(env)
    clone.step(2)
    assert board(env) == before and env.agent_selection == env.possible_agents[0]
    assert board(clone) != before and clone.agent_selection != env.agent_selection
    snapshot = board(clone)
    env.step(3)  # the original plays on without touching the clone
    assert board(clone) == snapshot and board(env) != before


def test_legal_actions_follow_the_mask():
    assert legal_actions(position(tictactoe_v3, [4, 0])).tolist() == [1, 2, 3, 5, 6, 7, 8]


def test_a_game_without_masks_or_with_a_pygame_screen_is_played_and_cloned():
    env = position(rps_v2, [0])  # rock-paper-scissors: Discrete observations, a screen made without a render mode
    assert legal_actions(env).tolist() == [0, 1, 2]  # every action of the space
    clone = clone_env(env)
    clone.step(1)  # paper beats the first player's rock in the clone only
    assert clone.rewards[env.agent_selection] == 1 and env.rewards[env.agent_selection] == 0
    returns = play_game(env, {env.possible_agents[0]: RandomOpponent(0), env.possible_agents[1]: HeuristicOpponent(1)},
                        seed=0)
    assert sum(returns.values()) == 0 and env.unwrapped.num_moves == env.unwrapped.max_cycles  # zero-sum, played out


def test_minimax_refuses_a_game_too_large_to_solve(monkeypatch):
    monkeypatch.setattr(opponents, "MAX_POSITIONS", 50)
    with pytest.raises(ConfigError, match="use the heuristic opponent"):
        MinimaxOpponent().act(position(connect_four_v3, []))


def test_minimax_refuses_a_game_deeper_than_the_stack():
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 100)  # connect four's 42-ply lines need more frames than this
    try:
        with pytest.raises(ConfigError, match="recursion limit.*use the heuristic opponent"):
            MinimaxOpponent().act(position(connect_four_v3, []))
    finally:
        sys.setrecursionlimit(limit)


def test_heuristic_refuses_a_game_with_too_many_moves_to_look_ahead(monkeypatch):
    monkeypatch.setattr(opponents, "MAX_LOOKAHEAD", 48)  # connect four's first move: 7 × 7 = 49 copies
    with pytest.raises(ConfigError, match="7² here .*use the random opponent"):
        HeuristicOpponent().act(position(connect_four_v3, []))
    monkeypatch.setattr(opponents, "MAX_LOOKAHEAD", 49)
    assert HeuristicOpponent().act(position(connect_four_v3, [])) in range(7)


@pytest.mark.parametrize("seat", ["player_1", "player_2"])
def test_minimax_never_loses_to_random(minimax, seat):
    env = tictactoe_v3.env(render_mode=None)
    for game in range(20):
        other = "player_2" if seat == "player_1" else "player_1"
        returns = play_game(env, {seat: minimax, other: RandomOpponent(game)}, seed=game)
        assert returns[seat] >= 0 and returns[seat] == -returns[other]


def test_minimax_against_itself_draws(minimax):
    returns = play_game(tictactoe_v3.env(render_mode=None), {"player_1": minimax, "player_2": minimax})
    assert returns == {"player_1": 0.0, "player_2": 0.0}


def test_minimax_takes_the_quickest_win(minimax):
    env = position(tictactoe_v3, [0, 1, 3, 2])  # X on 0, 3; O on 1, 2; X to move: 6 wins now, 4 forks and wins later
    assert minimax.act(env) == 6
    assert board(env) == [1, 2, 2, 1, 0, 0, 0, 0, 0]  # acting looked ahead on copies only


class FirstLegal:
    """Always the lowest legal square: a weak, deterministic player."""

    def act(self, env):
        return int(legal_actions(env)[0])


@pytest.mark.parametrize("seat", ["player_1", "player_2"])
def test_weak_positions_none_for_perfect_play_some_for_a_weak_player(minimax, seat):
    """Minimax itself has no position where it plays worse than the best; the lowest-square player has some, all in
    its own seat; the env is left as it was."""
    env = position(tictactoe_v3, [])
    assert minimax.weak_positions(env, seat, minimax) == set()
    weak = minimax.weak_positions(env, seat, FirstLegal())
    assert weak and all(key[0] == seat for key in weak)
    assert board(env) == [0] * 9


def test_heuristic_wins_in_one_move():
    env = position(connect_four_v3, [0, 1, 0, 1, 0, 1])  # player_0 three high in column 0, player_1 in column 1
    assert {HeuristicOpponent(seed).act(env) for seed in range(10)} == {0}


def test_heuristic_blocks_a_one_move_threat():
    env = position(connect_four_v3, [0, 1, 0, 1, 0])  # player_1 to move; player_0 wins on column 0 unless blocked
    assert {HeuristicOpponent(seed).act(env) for seed in range(10)} == {0}
    assert env.agent_selection == "player_1" and legal_actions(env).tolist() == list(range(7))


def test_heuristic_does_not_hand_over_a_win():
    # player_0 holds columns 0-2 of the second row; its winning cell (column 3, second row) opens once column 3
    # has a disc, so player_1 (to move) must not play column 3, and every other column is safe.
    env = position(connect_four_v3, [1, 0, 0, 2, 2, 6, 1])
    assert board(env)[28:31] == [1, 1, 1] and board(env)[31] == 0 and env.agent_selection == "player_1"
    assert {HeuristicOpponent(seed).act(env) for seed in range(30)} == {0, 1, 2, 4, 5, 6}


def test_sound_moves_keep_the_win_else_the_block_else_the_safe_moves():
    win = position(connect_four_v3, [0, 1, 0, 1, 0, 1])  # player_0 to move, three high in column 0
    assert sound_moves(win).tolist() == [0]
    block = position(connect_four_v3, [0, 1, 0, 1, 0])  # player_1 to move, no win of its own: block column 0
    assert sound_moves(block).tolist() == [0]
    under = position(connect_four_v3, [1, 0, 0, 2, 2, 6, 1])  # column 3 would open player_0's winning cell
    assert sound_moves(under).tolist() == [0, 1, 2, 4, 5, 6]
    assert board(under)[31] == 0  # looked ahead on copies only
    lost = position(tictactoe_v3, [0, 1, 4, 8, 6])  # X holds 0, 4, 6 and threatens 2 and 3 at once (a fork)
    assert sound_moves(lost).tolist() == [2, 3, 5, 7]  # O blocks one threat at most: nothing is safe, all kept


def test_heuristic_beats_random_at_connect_four():
    env = connect_four_v3.env(render_mode=None)
    heuristic = HeuristicOpponent(0)
    wins = sum(play_game(env, {"player_0": heuristic, "player_1": RandomOpponent(g)}, seed=g)["player_0"] > 0
               for g in range(50))
    assert wins >= 40


def test_make_opponent():
    assert isinstance(make_opponent("random", seed=3), RandomOpponent)
    assert isinstance(make_opponent("heuristic"), HeuristicOpponent)
    assert isinstance(make_opponent("minimax"), MinimaxOpponent)
    with pytest.raises(ValueError, match="random"):
        make_opponent("nope")
