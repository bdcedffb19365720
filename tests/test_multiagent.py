"""Multi-agent runs on PettingZoo: the policy mapping, game streams, masks, checkpoints, evaluation and play."""

from __future__ import annotations

import json

import gymnasium
import numpy as np
import pytest
import torch

from agentlab import algorithms, load_policy, runs
from agentlab.config import ConfigError
from agentlab.evaluate import main as evaluate_main
from agentlab.game_worker import GameWorker
from agentlab.play import main as play_main
from agentlab.policies import PolicySet, policy_map
from agentlab.train import build_learner, resolve, train
from envs.masks import MaskedBox, masked_box, split_mask
from envs.multiagent import GameSpaces, is_multiagent, make_aec

TICTACTOE = "pettingzoo.classic.tictactoe_v3"
CONNECT_FOUR = "pettingzoo.classic.connect_four_v3"
COOP = "agentlab/CoopGrid-v0"
FAST = {"backend": "local", "workers": 1, "envs_per_worker": 4, "fragment_length": 4}


def test_policy_map_modes():
    agents = ["a", "b"]
    assert policy_map(agents, "self_play") == {"a": "main", "b": "main"}
    assert policy_map(agents, "shared") == {"a": "shared", "b": "shared"}
    assert policy_map(agents, "independent") == {"a": "a", "b": "b"}
    with pytest.raises(ValueError, match="independent"):
        policy_map(agents, "league")


def test_multiagent_ids():
    assert is_multiagent(TICTACTOE) and is_multiagent(COOP) and is_multiagent(CONNECT_FOUR)
    assert not is_multiagent("CartPole-v1") and not is_multiagent("agentlab/CliffWalking-v0")
    assert not is_multiagent("no_such_package.game_v0")


def test_a_game_whose_dependency_is_missing_names_it(tmp_path, monkeypatch):
    package = tmp_path / "fakegames"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "imports_v0.py").write_text("import no_such_dep_xyz\n")  # as chess_v6 without chess
    (package / "builds_v0.py").write_text(  # imports, then asks for a package when built, as Hanabi
        "def env(render_mode=None):\n    raise ImportError('builds_v0 depends on open_spiel')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for game, reason in (("imports_v0", "No module named 'no_such_dep_xyz'"), ("builds_v0", "depends on open_spiel")):
        assert is_multiagent(f"fakegames.{game}")
        with pytest.raises(ValueError, match=reason):
            make_aec(f"fakegames.{game}")
    assert not is_multiagent("fakegames.absent_v0")


def test_shared_policy_sees_the_agent_id():
    env = make_aec(TICTACTOE)
    env.reset(seed=0)
    shared, plain = GameSpaces(env, agent_id=True), GameSpaces(env, agent_id=False)
    assert shared.observation_space.shape == (18 + 2 + 9,) and plain.observation_space.shape == (18 + 9,)
    encoded = shared.encode(env.observe("player_1"), "player_1")  # its turn: every square legal
    assert encoded[18:20].tolist() == [1.0, 0.0] and encoded[20:].tolist() == [1.0] * 9
    assert shared.encode(env.observe("player_2"), "player_2")[18:20].tolist() == [0.0, 1.0]


def test_split_mask_counts_a_row_without_legal_moves_as_all_legal():
    space = masked_box(gymnasium.spaces.Dict({"observation": gymnasium.spaces.Box(0, 1, (2,)),
                                              "action_mask": gymnasium.spaces.Box(0, 1, (3,), np.int8)}))
    assert isinstance(space, MaskedBox) and space.features == 2 and space.num_actions == 3
    obs = np.array([[0.5, 0.5, 0, 1, 0], [0.5, 0.5, 0, 0, 0]], np.float32)
    features, legal = split_mask(space, obs)
    assert features.shape == (2, 2)
    assert legal.tolist() == [[False, True, False], [True, True, True]]


def worker_for(algo: str, env_id: str = TICTACTOE, policies: str = "self_play", games: int = 4, T: int = 8,
               pool: int = 0, opening: int = 0, **algo_values) -> GameWorker:
    run_cfg, algo_cfg, algorithm = resolve({"algo": algo, "env": env_id, "policies": policies, **algo_values})
    learner = build_learner(algorithm, algo_cfg, run_cfg, "cpu")
    import dataclasses

    worker = GameWorker(algo, dataclasses.asdict(algo_cfg), env_id, games, T, 0, 1, seed=3, policies=policies,
                        self_play_pool=pool, random_opening=opening)
    worker.set_weights(learner.get_weights(), 0)
    return worker


def test_streams_are_consecutive_turns_of_one_agent():
    """Each column is one agent's own moves in order: next_obs[t] is obs[t + 1] unless the episode ended there,
    a game's reward arrives only at its end, and the fragment holds T turns of every (game, agent) stream."""
    worker = worker_for("dqn", T=8)
    for _ in range(6):
        sample = worker.sample()
        fragment = sample.payload["main"]
        assert fragment.obs.shape == (8, 4 * 2, 27) and sample.env_steps == 8 * 8
        done = fragment.terminated | fragment.truncated
        same = np.all(fragment.next_obs[:-1] == fragment.obs[1:], axis=-1)
        assert np.all(same | done[:-1])
        assert np.all(fragment.episode_start[1:][done[:-1]])
        assert np.all(fragment.rewards[~done] == 0) and set(np.unique(fragment.rewards[done])) <= {-1.0, 0.0, 1.0}
    finished = [ep for ep in sample.episodes]
    assert {ep.agent for ep in finished} <= {"player_1", "player_2"}


def test_self_play_pool_seats_a_snapshot_in_about_half_the_games():
    """A snapshot plays one seat of a game half the time; its moves and episodes are not the learner's."""
    worker = worker_for("dqn", games=8, T=8, pool=3)
    assert len(worker.pool) == 1  # the first weights are a snapshot
    games = 0
    new_game = worker.new_game

    def counting(game, episodes):
        nonlocal games
        games += 1
        new_game(game, episodes)

    worker.new_game = counting
    recorded = 0
    while games < 300:
        recorded += len(worker.sample().episodes)
    assert 1.35 * games < recorded < 1.65 * games  # 2 learner episodes a game, 1 where a snapshot sits


@pytest.mark.parametrize("opening", [0, 4])
def test_random_opening_starts_games_from_random_positions_and_counts_its_moves(opening):
    """With ``random_opening=4`` an agent's first learnt move of a game finds 0 to 4 stones on the board (at most 3
    unlearnt opening moves and the other agent's first; 0 or 1 without), the sample's env steps count the unlearnt
    moves beside the T turns of every stream, and a greedy policy's first move on the empty board varies (the
    opening's last move is random and learnt)."""
    worker = worker_for("dqn", T=8, games=8, opening=opening)
    weights = worker.actors["main"].net.state_dict()
    worker.set_weights({"main": {"params": {k: v.numpy() for k, v in weights.items()}, "epsilon": 0.0}}, 1)
    stones, extra, first_moves = opening_stats(worker)
    if opening:
        assert stones == {0, 1, 2, 3, 4} and extra > 0 and len(first_moves) > 1
    else:
        assert stones == {0, 1} and extra == 0 and len(first_moves) == 1


def test_random_opening_of_a_policy_gradient_learns_no_random_move():
    """PPO's data are its actor's own choices (their log-probabilities): all 4 opening moves are unlearnt, so the
    first learnt moves find up to 5 stones."""
    stones, extra, _ = opening_stats(worker_for("ppo", T=8, games=8, opening=4))
    assert stones == {0, 1, 2, 3, 4, 5} and extra > 0


def opening_stats(worker: GameWorker) -> tuple[set[int], int, set[int]]:
    """Over 30 samples: the stone counts at episode starts, the env steps beyond the streams' turns, and the moves
    made on the empty board."""
    stones, extra, first_moves = set(), 0, set()
    for _ in range(30):
        sample = worker.sample()
        extra += sample.env_steps - 8 * 16
        fragment = sample.payload["main"]
        on_board = fragment.obs[..., :18].sum(-1)
        stones |= set(on_board[fragment.episode_start].astype(int).tolist())
        first_moves |= set(fragment.actions[on_board == 0].tolist())
    return stones, extra, first_moves


@pytest.mark.parametrize("algo", list(algorithms.REGISTRY))
def test_no_illegal_move_in_10k_masked_steps(algo):
    """Every algorithm, exploring as in training, only ever picks actions the observation's mask allows."""
    if algo == "dyna_q":
        pytest.skip("Dyna-Q plans in a tabular model of one env; it has no multi-agent learner")
    if algo == "dreamer":
        pytest.skip("Dreamer's actor carries its model state between turns, which the game worker does not keep")
    worker = worker_for(algo, T=16, games=8)
    fragments = []
    for actor in worker.actors.values():  # what each actor turns into its payload (A3C ships gradients of it)
        actor.process = lambda f, process=actor.process: (fragments.append(f), process(f))[1]
    steps = 0
    while steps < 10_000:
        steps += worker.sample().env_steps
    assert len(fragments) * 16 * 16 >= 10_000
    for fragment in fragments:
        _, legal = split_mask(worker.spaces.observation_space, fragment.obs)
        taken = np.take_along_axis(legal, fragment.actions[..., None], axis=-1)
        assert taken.all(), f"{algo} took an illegal move"


def test_dqn_never_picks_a_masked_action_even_when_its_q_is_largest():
    run_cfg, algo_cfg, algorithm = resolve({"algo": "dqn", "env": TICTACTOE})
    probe = make_aec(TICTACTOE)
    spaces = GameSpaces(probe, agent_id=False)
    actor = algorithm.make_actor(algo_cfg, spaces.observation_space, spaces.action_space, 0, 1, 0)
    with torch.no_grad():  # a Q head that prefers action 4 by far
        head = [m for m in actor.net.modules() if isinstance(m, torch.nn.Linear)][-1]
        head.weight.zero_()
        head.bias.copy_(torch.arange(9.0) * -1.0)
        head.bias[4] = 100.0
    obs = np.zeros((1, 27), np.float32)
    obs[0, 18:] = 1
    assert actor.act(obs, {}, np.ones(1, bool), explore=False)[0][0] == 4
    obs[0, 18 + 4] = 0  # square 4 is taken: the best legal action is 0
    assert actor.act(obs, {}, np.ones(1, bool), explore=False)[0][0] == 0


def test_dqn_target_maxes_over_legal_next_actions():
    """With every Q equal except an illegal action's, the target uses the legal maximum (hand-computed)."""
    from agentlab.dqn.learner import DQNLearner
    from agentlab.replay import ReplayBatch

    run_cfg, algo_cfg, algorithm = resolve({"algo": "dqn", "env": TICTACTOE, "gamma": 0.5, "loss": "mse"})
    space = masked_box(gymnasium.spaces.Dict({"observation": gymnasium.spaces.Box(0, 1, (1,)),
                                              "action_mask": gymnasium.spaces.Box(0, 1, (2,), np.int8)}))
    learner = DQNLearner(algo_cfg, space, gymnasium.spaces.Discrete(2), seed=0)
    for net in (learner.online, learner.target):
        with torch.no_grad():
            head = [m for m in net.modules() if isinstance(m, torch.nn.Linear)][-1]
            head.weight.zero_()
            head.bias.copy_(torch.tensor([1.0, 10.0]))  # Q(·, 0) = 1, Q(·, 1) = 10 everywhere
    obs = np.array([[0.0, 1, 1]], np.float32)
    next_obs = np.array([[0.0, 1, 0]], np.float32)  # at s' only action 0 is legal
    batch = ReplayBatch(obs=obs, action=np.array([0]), reward=np.array([2.0], np.float32), next_obs=next_obs,
                        discount=np.array([0.5], np.float32), weights=np.ones(1, np.float32), indices=np.zeros(1))
    loss, _ = learner.learn_step(batch)
    assert float(loss) == pytest.approx((2.0 + 0.5 * 1.0 - 1.0) ** 2)  # y = 2 + ½·1, not 2 + ½·10


def test_independent_policies_checkpoint_resume_and_agent_column(tmp_path):
    run_dir = tmp_path / "coop"
    result = train({"algo": "dqn", "env": COOP, "policies": "independent", "steps": 1600, "run_dir": str(run_dir),
                    **FAST}, progress=False)
    assert isinstance(result.learner, PolicySet) and set(result.learner.learners) == {"agent_0", "agent_1"}
    path, state = runs.load_policy_checkpoint(run_dir, "latest")
    assert set(state["learner"]["policies"]) == {"agent_0", "agent_1"}
    torch.load(path, weights_only=True)
    episodes = runs.read_csv(run_dir / "episodes.csv")
    assert set(episodes["agent"]) == {"agent_0", "agent_1"}
    assert episodes["agent"].count("agent_0") == episodes["agent"].count("agent_1")  # one row per agent per episode
    resumed = train({"steps": 3200}, progress=False, resume=run_dir)
    assert resumed.env_steps >= 3200
    for policy in ("agent_0", "agent_1"):
        assert resumed.learner.learners[policy].version > result.learner.learners[policy].version
    metrics = runs.read_csv(run_dir / "metrics.csv")
    assert "agent_0/loss" in metrics and "agent_1/loss" in metrics


def test_load_policy_single_and_multi_agent(tmp_path):
    single = train({"algo": "q_learning", "env": "agentlab/CliffWalking-v0", "steps": 2000, "backend": "local",
                    "workers": 1, "run_dir": str(tmp_path / "cliff")}, progress=False)
    policy = load_policy(single.run_dir)
    assert policy.act(36) in range(4)
    with pytest.raises(ValueError, match="no legal-action mask"):
        policy.act(36, action_mask=np.ones(4))
    multi = train({"algo": "dqn", "env": TICTACTOE, "steps": 800, "run_dir": str(tmp_path / "ttt"), **FAST},
                  progress=False)
    policy = load_policy(multi.run_dir)
    env = make_aec(TICTACTOE)
    env.reset(seed=0)
    obs = env.observe("player_1")
    only = np.zeros(9, np.int8)
    only[7] = 1
    assert policy.act(obs["observation"], action_mask=only) == 7  # the mask given wins over the observation's
    assert obs["action_mask"][policy.act(obs)] == 1


def test_evaluate_cli_plays_every_seat_against_an_opponent(tmp_path, capsys):
    run = train({"algo": "q_learning", "env": TICTACTOE, "steps": 800, "run_dir": str(tmp_path / "ttt"), **FAST},
                progress=False)
    assert evaluate_main([str(run.run_dir), "--opponent", "minimax", "--episodes", "3"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(result["seats"]) == {"player_1", "player_2"}
    for seat in result["seats"].values():
        assert seat["wins"] + seat["draws"] + seat["losses"] == 3 and seat["wins"] == 0  # minimax never loses
    single = train({"algo": "q_learning", "env": "agentlab/CliffWalking-v0", "steps": 500, "backend": "local",
                    "workers": 1, "run_dir": str(tmp_path / "cliff")}, progress=False)
    assert evaluate_main([str(single.run_dir), "--opponent", "random"]) == 2
    assert "needs a multi-agent run" in capsys.readouterr().err
    assert evaluate_main([str(run.run_dir), "--opponent", "heuristic", "--episodes", "2", "--lookahead"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["lookahead"] is True
    assert evaluate_main([str(single.run_dir), "--lookahead"]) == 2
    assert "--lookahead needs a multi-agent run" in capsys.readouterr().err


class LowestLegal:
    """An actor playing the lowest action its observation's mask allows (the mask: the last ``actions`` features)."""

    def __init__(self, actions: int):
        self.actions = actions

    def act(self, obs, state, first, explore):
        return np.array([np.flatnonzero(obs[0, -self.actions:])[0]]), state


def test_lookahead_narrows_the_policy_to_a_win_else_a_block():
    from agentlab.arena import PolicyPlayer

    spaces = GameSpaces(make_aec(CONNECT_FOUR), agent_id=False)
    plain, looking = PolicyPlayer(LowestLegal(7), spaces), PolicyPlayer(LowestLegal(7), spaces, lookahead=True)
    env = make_aec(CONNECT_FOUR)
    env.reset(seed=0)
    for action in [1, 2, 1, 2, 1]:  # player_0 three high in column 1; player_1 (to move) must block it
        env.step(action)
    assert plain.act(env) == 0 and looking.act(env) == 1
    env.step(2)  # player_1 makes three in column 2 instead: player_0 wins on column 1
    assert plain.act(env) == 0 and looking.act(env) == 1
    rps = GameSpaces(make_aec("pettingzoo.classic.rps_v2"), agent_id=False)
    with pytest.raises(ConfigError, match="observations carry none"):
        PolicyPlayer(LowestLegal(3), rps, lookahead=True)


def test_evaluations_against_an_opponent_choose_the_best_checkpoint(tmp_path):
    run = train({"algo": "q_learning", "env": TICTACTOE, "steps": 1_600, "eval_every": 400, "eval_episodes": 4,
                 "eval_opponent": "minimax", "run_dir": str(tmp_path / "ttt"), **FAST}, progress=False)
    evals = runs.read_csv(run.run_dir / "evals.csv")
    assert len(evals["mean_return"]) == 4 and all(-1.0 <= r <= 0.0 for r in evals["mean_return"])  # never a win
    best = runs.load_policy_checkpoint(run.run_dir, "best")[1]
    assert best["eval"]["opponent"] == "minimax" and best["eval"]["mean_return"] == max(evals["mean_return"])
    final = json.loads((run.run_dir / "eval.json").read_text())
    assert set(final["seats"]) == {"player_1", "player_2"}
    for name, value in (("eval_opponent", "random"), ("random_opening", 2), ("self_play_pool", 3)):
        with pytest.raises(ConfigError, match=f"{name} acts on the games of a multi-agent env"):
            train({"algo": "q_learning", "env": "agentlab/CliffWalking-v0", "steps": 100, name: value,
                   "backend": "local", "run_dir": str(tmp_path / "cliff")}, progress=False)


def test_play_a_game_from_the_terminal(tmp_path):
    run = train({"algo": "q_learning", "env": TICTACTOE, "steps": 400, "run_dir": str(tmp_path / "ttt"), **FAST},
                progress=False)
    said: list[str] = []
    moves = iter(["9", "x"] + [str(a) for a in range(9)] * 3)  # two bad answers first, then the lowest free square

    def ask(prompt: str) -> str:
        legal = json.loads(prompt[prompt.index("["):prompt.index("]") + 1])
        answer = next(moves)
        while answer.isdigit() and int(answer) < 9 and int(answer) not in legal:
            answer = next(moves)
        return answer

    assert play_main([str(run.run_dir)], ask=ask, say=said.append) == 0
    assert any("not a legal move" in line for line in said)
    assert said[-1] in ("you win", "you lose", "draw")
    assert play_main([str(tmp_path / "nope")], ask=ask, say=said.append) == 2


def test_play_with_lookahead_refuses_a_game_too_large_for_it_in_one_line(tmp_path, monkeypatch, capsys):
    from agentlab import opponents

    run = train({"algo": "q_learning", "env": TICTACTOE, "steps": 100, "run_dir": str(tmp_path / "ttt"), **FAST},
                progress=False)
    monkeypatch.setattr(opponents, "MAX_LOOKAHEAD", 63)  # tic-tac-toe's first move: 9 × 9 = 81 copies
    assert play_main([str(run.run_dir), "--lookahead", "--seat", "player_2"], ask=lambda _: "q", say=print) == 2
    assert "9² here" in capsys.readouterr().err


def trained_versus(run_dir, opponent: str, games: int) -> dict:
    from agentlab.arena import versus
    from agentlab.evaluate import load_run

    cfg, algorithm, algo_cfg, learner = load_run(run_dir, "latest")
    return versus(algorithm, algo_cfg, TICTACTOE, learner.get_weights(), cfg["run"]["policies"], opponent, games,
                  seed=1)["seats"]


def test_tabular_q_learning_self_play_learns_tictactoe(tmp_path):
    """The course notes' method on a game: self-play Q-learning never loses to perfect play in either seat (in no
    line of it: no weak position) and beats a random player as first player (the benchmark's setting, seed 0)."""
    from benchmarks.games import STREAMS, weak_positions

    run = train({"algo": "q_learning", "env": TICTACTOE, "steps": 200_000, "backend": "local", "workers": 1,
                 **STREAMS, "run_dir": str(tmp_path / "q")}, progress=False)
    assert weak_positions(run.run_dir) == {"player_1": 0, "player_2": 0}
    minimax = trained_versus(run.run_dir, "minimax", 30)
    assert all(seat["losses"] == 0 for seat in minimax.values()), minimax
    assert trained_versus(run.run_dir, "random", 50)["player_1"]["wins"] >= 45


@pytest.mark.slow
def test_dqn_self_play_learns_tictactoe(tmp_path):
    """Issue 11's bar for DQN with its board-game preset: 0 losses to minimax in each seat, ≥ 90% wins first."""
    from benchmarks.games import STREAMS

    run = train({"algo": "dqn", "env": TICTACTOE, "steps": 200_000, "backend": "local", "workers": 1, **STREAMS,
                 "run_dir": str(tmp_path / "dqn")}, progress=False)
    minimax = trained_versus(run.run_dir, "minimax", 100)
    assert all(seat["losses"] == 0 for seat in minimax.values()), minimax
    assert trained_versus(run.run_dir, "random", 100)["player_1"]["wins"] >= 90


@pytest.mark.slow
@pytest.mark.parametrize("policies", ["shared", "independent"])
def test_dqn_coordinates_on_coop_grid(tmp_path, policies):
    """Two agents from one cell must take different targets: greedy joint return at the optimum (0.4)."""
    from agentlab.arena import evaluate_game
    from agentlab.evaluate import load_run
    from benchmarks.games import STREAMS
    from envs.coop import CoopGrid

    run = train({"algo": "dqn", "env": COOP, "policies": policies, "steps": 60_000, "backend": "local", "workers": 1,
                 **STREAMS, "run_dir": str(tmp_path / policies)}, progress=False)
    cfg, algorithm, algo_cfg, learner = load_run(run.run_dir, "latest")
    greedy = evaluate_game(algorithm, algo_cfg, COOP, learner.get_weights(), policies, 5, seed=0)
    assert greedy["mean_return"] == pytest.approx(CoopGrid().optimal_return())


def test_envs_make_builds_our_cooperative_env_as_pettingzoo_checks_it():
    from pettingzoo.test import parallel_api_test, parallel_seed_test

    import envs

    grid = envs.make(COOP)
    parallel_api_test(grid, num_cycles=200)
    parallel_seed_test(lambda: envs.make(COOP))


@pytest.mark.parametrize("algo, extra", [("dqn", {"memory": "gru"}), ("dreamer", {})])
def test_an_agent_with_a_state_is_refused_on_a_game_before_its_run_folder_is_made(tmp_path, algo, extra):
    with pytest.raises(ConfigError, match=f"{algo} keeps a state between steps.*multi-agent"):
        train({"algo": algo, "env": TICTACTOE, "steps": 100, "run_dir": str(tmp_path / "run"), **FAST, **extra},
              progress=False)
    assert not (tmp_path / "run").exists()


def test_tabular_refuses_float_features_it_cannot_index():
    """CoopGrid's positions are floats in [0, 1]: a Q-table over thresholded bits would alias states."""
    from agentlab.config import ConfigError

    run_cfg, algo_cfg, algorithm = resolve({"algo": "q_learning", "env": COOP})
    with pytest.raises(ConfigError, match="integer 0/1 features"):
        build_learner(algorithm, algo_cfg, run_cfg, "cpu")
