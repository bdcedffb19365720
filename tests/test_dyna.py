"""Dyna-Q / Dyna-Q+ (Sutton & Barto 2018, chapter 8): planning updates on a known model to the digit, Dyna-Q+'s
bonus and untried actions, the changing mazes, Q-learning as n = 0, learning the Dyna maze, resume, bad input."""

from __future__ import annotations

from pathlib import Path

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import envs
from agentlab import run, runs
from agentlab.config import ConfigError, validate
from agentlab.core import Fragment
from agentlab.dyna import losses
from agentlab.dyna.config import DynaConfig
from agentlab.dyna.learner import DynaLearner
from agentlab.train import train
from envs.gridworld import GridWorld, shortest_path_length

UP, RIGHT, DOWN, LEFT = range(4)
MAZES = ["agentlab/DynaMaze-v0", "agentlab/BlockingMaze-v0", "agentlab/ShortcutMaze-v0"]


def learner(num_states: int = 3, num_actions: int = 2, **config) -> DynaLearner:
    return DynaLearner(DynaConfig(**{"alpha": 0.5, "gamma": 0.9, **config}), num_states, num_actions, seed=0)


def one_step(s: int, a: int, r: float, s_next: int, terminated: bool = False) -> Fragment:
    def arr(x, dtype):
        return np.array([[x]], dtype)  # [T=1, E=1]

    return Fragment.feedforward(arr(s, np.int64), arr(a, np.int64), arr(r, np.float32), arr(s_next, np.int64),
                    arr(terminated, bool), arr(False, bool), arr(0, np.int64), version=0, worker=0)


def test_planning_update_on_a_known_model_to_the_digit():
    dyna = learner(planning_steps=0)
    dyna.q[1] = [2.0, 4.0]
    dyna.model.observe(0, 1, r=0.5, s_next=1, terminated=False, time=1)  # the only pair Dyna-Q may plan
    dyna.time = 1
    dyna.plan(1)
    assert dyna.q[0, 1] == pytest.approx(0.5 * (0.5 + 0.9 * 4.0))  # α (r + γ max Q(s', ·) − 0) = 2.05
    dyna.plan(1)
    assert dyna.q[0, 1] == pytest.approx(2.05 + 0.5 * (0.5 + 3.6 - 2.05))  # 3.075
    assert dyna.q[0, 0] == 0.0 and (dyna.q[1] == [2.0, 4.0]).all()


def test_a_terminal_transition_is_planned_without_bootstrap():
    dyna = learner()
    dyna.q[1] = [5.0, 5.0]
    dyna.model.observe(2, 0, r=1.0, s_next=1, terminated=True, time=1)
    dyna.time = 1
    dyna.plan(3)
    assert dyna.q[2, 0] == pytest.approx(1.0 - 0.5**3)  # three steps toward r = 1, ignoring Q(s', ·)


def test_real_update_then_model_then_planning():
    # Box of section 8.2: (d) the Q-learning update, (e) the model, (f) n planning updates (here on the same pair).
    dyna = learner(planning_steps=2)
    dyna.q[1] = [2.0, 4.0]
    dyna.update(one_step(0, 1, 0.5, 1))
    q = 0.0
    for _ in range(3):  # one real, two simulated
        q += 0.5 * (0.5 + 0.9 * 4.0 - q)
    assert dyna.q[0, 1] == pytest.approx(q)
    assert dyna.time == 1 and dyna.model.next_state[0, 1] == 1 and dyna.model.last_tried[0, 1] == 1


def test_bonus_is_kappa_sqrt_tau():
    np.testing.assert_allclose(losses.exploration_bonus(np.array([0, 4, 9]), 0.01), [0.0, 0.02, 0.03])
    np.testing.assert_allclose(losses.planning_reward(np.array([1.0, 0.0]), np.array([16, 25]), 0.1), [1.4, 0.5])


def test_dyna_q_plus_plans_a_tried_pair_with_its_bonus():
    dyna = learner(kappa=0.01, num_actions=1)
    dyna.model.observe(0, 0, r=0.0, s_next=1, terminated=False, time=1)
    dyna.time = 10  # nine real steps since (0, 0) was tried
    dyna.plan(1)
    assert dyna.q[0, 0] == pytest.approx(0.5 * 0.01 * 3.0)  # α (0 + κ√9 + γ·0)


def test_dyna_q_plus_plans_untried_actions_as_self_loops_and_dyna_q_does_not():
    plus = learner(kappa=0.01)
    plus.model.observe(0, 0, r=0.0, s_next=1, terminated=False, time=1)  # action 1 never tried from state 0
    plus.time = 16
    sim = plus.model.sample(plus.rng, 200)
    untried = sim.a == 1
    assert 50 < untried.sum() < 150  # a random action of the visited state
    assert (sim.s_next[untried] == 0).all() and (sim.r[untried] == 0).all() and (sim.last_tried[untried] == 0).all()
    plus.plan(1)
    changed = np.flatnonzero(plus.q[0])
    assert changed.size == 1
    tau = 16 if changed[0] == 1 else 15  # untried: since the start; tried: since time 1
    assert plus.q[0, changed[0]] == pytest.approx(0.5 * 0.01 * np.sqrt(tau))

    plain = learner(kappa=0.0)
    plain.model.observe(0, 0, r=0.0, s_next=1, terminated=False, time=1)
    plain.q[1] = [1.0, 0.0]
    plain.time = 16
    plain.plan(50)
    assert plain.q[0, 0] > 0 and plain.q[0, 1] == 0.0  # only the tried action, and no bonus in its target
    assert plain.q[0, 0] == pytest.approx(0.9 * (1 - 0.5**50))


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="planning_steps must be 0 or more"):
        validate(DynaConfig(planning_steps=-1))
    with pytest.raises(ConfigError, match="kappa"):
        validate(DynaConfig(kappa=-0.1))
    validate(DynaConfig(planning_steps=0, kappa=0.0))


def test_cli_bad_input_is_one_line_and_exit_2(capsys):
    assert run.main(["--algo", "dyna_q", "--backend", "local", "--set", "planning_steps=-3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: planning_steps must be") and "--set planning_steps=" in err and "\n" not in err
    assert run.main(["--algo", "dyna_q", "--env", "CartPole-v1", "--backend", "local", "--steps", "10"]) == 2
    assert "Discrete" in capsys.readouterr().err


@pytest.mark.parametrize("env_id", MAZES)
def test_mazes_pass_check_env_and_pay_only_at_the_goal(env_id):
    env = gymnasium.make(env_id)
    check_env(env.unwrapped)
    grid = env.unwrapped
    assert (grid.nrow, grid.ncol) == (6, 9) and grid.step_reward == 0.0 and grid.goal_reward == 1.0


def test_maze_layouts_and_shortest_paths():
    assert [shortest_path_length(GridWorld(map=m)) for m in ("dyna_maze", "blocking_maze", "blocking_maze_changed",
                                            "shortcut_maze", "shortcut_maze_changed")] == [14, 10, 16, 16, 10]
    env = gymnasium.make("agentlab/DynaMaze-v0")
    env.reset(seed=0)
    rewards = [env.step(a)[1] for a in [UP, UP, RIGHT, RIGHT, RIGHT, RIGHT, RIGHT, RIGHT, DOWN, DOWN, DOWN,
                                        RIGHT, RIGHT, UP]]
    assert rewards[:-1] == [0.0] * 13  # the last move is into (2, 8): not yet the goal
    assert [env.step(a)[1:3] for a in (UP, UP)] == [(0.0, False), (1.0, True)]


def test_blocking_maze_changes_after_exactly_1000_steps_across_episodes():
    env = gymnasium.make("agentlab/BlockingMaze-v0")
    grid = env.unwrapped
    env.reset(seed=0)
    path = [RIGHT] * 5 + [UP] * 5  # through the right gap: 10 steps
    episodes = 0
    for i in range(999):
        _, _, term, _, _ = env.step(path[i % 10])
        episodes += term
        if term:
            env.reset()
        assert grid.desc[3, 8] == "." and grid.desc[3, 0] == "#", i
    assert episodes == 99 and grid.steps_taken == 999
    env.step(LEFT)  # the 1000th step
    assert grid.desc[3, 8] == "#" and grid.desc[3, 0] == "."
    env.reset()
    states = [env.step(a)[0] for a in path]
    assert grid.to_pos(states[-1]) == (4, 8)  # the right gap is closed now
    assert envs.make_eval("agentlab/BlockingMaze-v0").unwrapped.desc[3, 8] == "."  # a fresh env starts as the book


def test_a_saved_env_keeps_its_step_count_and_layout():
    from envs import state as env_state

    env = envs.make("agentlab/ShortcutMaze-v0", seed=0)
    env.reset()
    for _ in range(3000):
        if env.step(LEFT)[2]:
            env.reset()
    saved = env_state.get_state(env)
    fresh = envs.make("agentlab/ShortcutMaze-v0", seed=1)
    assert fresh.unwrapped.desc[3, 8] == "#"
    env_state.set_state(fresh, saved)
    assert fresh.unwrapped.steps_taken == 3000 and fresh.unwrapped.desc[3, 8] == "."
    assert fresh.unwrapped.layouts[0][3, 8] == "#"  # restoring in place did not write into the first layout


def test_changes_are_a_general_gridworld_option():
    env = GridWorld(map=["S.G"], changes=[(5, ["S#G"]), (2, ["SG."])], step_reward=0.0, goal_reward=1.0)
    env.reset(seed=0)
    assert env.step(RIGHT)[:3] == (1, 0.0, False)
    assert env.step(LEFT)[:3] == (0, 0.0, False)  # second step: "SG." from now on
    assert env.step(RIGHT)[1:3] == (1.0, True)
    env.reset()
    env.step(LEFT)
    env.step(LEFT)  # step 5: "S#G" from now on
    assert env.step(RIGHT)[0] == 0
    image = GridWorld(map=["S.G"], obs_type="image", cell_px=2, changes=[(1, ["S#G"])])
    image.reset(seed=0)
    assert (image.step(LEFT)[0][0, 2] == [60, 60, 60]).all()  # the new wall is painted
    with pytest.raises(ValueError, match="2x3"):
        GridWorld(map=["S.G"], changes=[(1, ["S.G", "..."])])


def test_no_planning_is_q_learning(tmp_path):
    for k, (env_id, extra) in enumerate((("agentlab/DynaMaze-v0", {}),
                                         ("agentlab/CliffWalking-v0", {"envs_per_worker": 2}))):
        values = {"env": env_id, "backend": "local", "steps": 6000, "episodes": 0,  # no Figure 8.2 episode limit
                  "seed": 3, "alpha": 0.2, "gamma": 0.95, **extra}
        dyna = train({**values, "algo": "dyna_q", "planning_steps": 0, "run_dir": str(tmp_path / f"d{k}")},
                     progress=False)
        q_learning = train({**values, "algo": "q_learning", "run_dir": str(tmp_path / f"q{k}")}, progress=False)
        assert np.count_nonzero(q_learning.learner.q) > 20
        np.testing.assert_array_equal(dyna.learner.q, q_learning.learner.q)


def greedy_steps(q: np.ndarray, env_id: str, limit: int = 100) -> int:
    env = envs.make_eval(env_id)
    s, _ = env.reset(seed=0)
    for t in range(1, limit + 1):
        s, _, term, _, _ = env.step(int(np.argmax(q[s])))
        if term:
            return t
    return limit + 1


def test_dyna_q_with_50_planning_steps_learns_the_dyna_maze_in_a_few_episodes(tmp_path):
    def six_episodes(seed: int, n: int):
        result = train({"algo": "dyna_q", "env": "agentlab/DynaMaze-v0", "backend": "local", "planning_steps": n,
                        "episodes": 6, "seed": seed, "run_dir": str(tmp_path / f"n{n}_s{seed}")}, progress=False)
        return runs.read_csv(result.run_dir / "episodes.csv")["length"], greedy_steps(result.learner.q, MAZES[0])

    lengths, greedy = zip(*(six_episodes(seed, 50) for seed in range(3)), strict=True)
    assert max(greedy) <= 16  # the greedy path: the 14-step optimum or within 20% of it (16)
    assert six_episodes(0, 0)[1] > 100  # without planning the greedy policy does not reach the goal yet
    assert np.mean([row[3:6] for row in lengths]) < 25  # ε-greedy episodes near the 14-step optimum
    assert np.mean([row[0] for row in lengths]) > 200  # the first episode is a random walk


def test_several_envs_other_envs_and_resume(tmp_path):
    frozen = train({"algo": "dyna_q", "env": "FrozenLake-v1", "backend": "local", "steps": 3000, "envs_per_worker": 3,
                    "planning_steps": 5, "kappa": 0.001, "run_dir": str(tmp_path / "fl")}, progress=False)
    assert frozen.learner.time == 3000 and frozen.learner.model.num_seen > 5
    first = train({"algo": "dyna_q", "env": "agentlab/CliffWalking-v0", "backend": "local", "steps": 1500,
                   "kappa": 0.01, "run_dir": str(tmp_path / "c")}, progress=False)
    state = torch.load(runs.latest_checkpoint(first.run_dir), weights_only=True)["learner"]
    restored = DynaLearner(first.learner.config, 48, 4, seed=123)
    restored.load_state_dict(state)
    for name in ("reward", "next_state", "last_tried", "plannable", "states"):
        np.testing.assert_array_equal(getattr(restored.model, name), getattr(first.learner.model, name))
    assert restored.time == 1500 and restored.rng.random() == first.learner.rng.random()
    second = train({"steps": 3000}, progress=False, resume=first.run_dir)
    assert second.env_steps == 3000 and second.learner.time == 3000
    assert second.learner.model.num_seen >= first.learner.model.num_seen


@pytest.mark.slow
def test_ray_backend(tmp_path, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    # One worker, one sample in flight (the preset): the same run as the local backend, to the last Q value.
    values = {"algo": "dyna_q", "env": "agentlab/ShortcutMaze-v0", "steps": 800, "planning_steps": 20, "kappa": 0.001}
    local = train({**values, "backend": "local", "run_dir": str(tmp_path / "local")}, progress=False)
    ray = train({**values, "backend": "ray", "run_dir": str(tmp_path / "ray1")}, progress=False)
    assert np.count_nonzero(local.learner.q) > 50
    np.testing.assert_array_equal(ray.learner.q, local.learner.q)
    result = train({"algo": "dyna_q", "env": "agentlab/DynaMaze-v0", "backend": "ray", "workers": 2,
                    "envs_per_worker": 2, "fragment_length": 16, "steps": 4000, "episodes": 0, "planning_steps": 5,
                    "run_dir": str(tmp_path / "ray")}, progress=False)
    assert result.env_steps >= 4000 and result.learner.time == result.env_steps
    assert set(runs.read_csv(Path(result.run_dir) / "episodes.csv")["worker"]) == {0.0, 1.0}
