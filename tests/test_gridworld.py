"""GridWorld: gymnasium API conformance, exact Cliff Walking dynamics (Sutton & Barto Example 6.6),
slips, image observations, rendering and registration."""

from __future__ import annotations

import importlib
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs
from envs.gridworld import AGENT_COLOUR, COLOURS, GridWorld, shortest_path_length

UP, RIGHT, DOWN, LEFT = range(4)
IDS = list(envs.GRIDWORLDS)


def run(env: gymnasium.Env, actions: list[int]) -> tuple[list[int], list[float], list[bool]]:
    """Step ``actions`` from a reset; return the states after each step, rewards and terminations."""
    env.reset(seed=0)
    states, rewards, dones = [], [], []
    for a in actions:
        obs, r, term, trunc, _ = env.step(a)
        assert not trunc
        states.append(int(obs))
        rewards.append(r)
        dones.append(term)
    return states, rewards, dones


@pytest.mark.parametrize("obs_type", ["index", "image"])
@pytest.mark.parametrize("env_id", IDS)
def test_check_env(env_id: str, obs_type: str) -> None:
    env = gymnasium.make(env_id, obs_type=obs_type, render_mode="rgb_array")
    assert env.unwrapped.obs_type == obs_type  # make's kwargs reach the constructor
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any checker warning fails the test
        check_env(env.unwrapped)
        warnings.filterwarnings("ignore", message=".*different from the unwrapped version")
        check_env(env)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.shape == (env.unwrapped.nrow * 8, env.unwrapped.ncol * 8, 3)


def test_cliff_walking_optimal_path_returns_minus_13() -> None:
    env = GridWorld(map="cliff_walking")
    assert (env.nrow, env.ncol, env.start_state) == (4, 12, 36)
    states, rewards, dones = run(env, [UP] + [RIGHT] * 11 + [DOWN])
    assert rewards == [-1.0] * 13 and sum(rewards) == -13.0
    assert dones == [False] * 12 + [True]
    assert env.to_pos(states[-1]) == (3, 11)
    assert env.render_path(states) == "............\n............\n************\nSCCCCCCCCCCG\n"


def test_cliff_sends_back_to_start_without_ending() -> None:
    env = GridWorld(map="cliff_walking")
    states, rewards, dones = run(env, [RIGHT])
    assert (states, rewards, dones) == ([36], [-100.0], [False])
    states, rewards, dones = run(env, [UP, RIGHT, RIGHT, DOWN, UP])  # fall from (2, 2), then go on
    assert states == [24, 25, 26, 36, 24] and rewards == [-1.0, -1.0, -1.0, -100.0, -1.0]
    assert not any(dones)


def test_safe_path_and_shortest_paths() -> None:
    env = GridWorld(map="cliff_walking")
    states, rewards, dones = run(env, [UP] * 3 + [RIGHT] * 11 + [DOWN] * 3)  # SARSA's path along the top
    assert sum(rewards) == -17.0 and dones[-1] and not any(dones[:-1])
    assert env.render_path(states).splitlines()[0] == "************"
    assert shortest_path_length(GridWorld(map="cliff_walking")) == 13
    assert shortest_path_length(GridWorld(map="open_5x5")) == 8
    assert shortest_path_length(GridWorld(map="open_5x5", obs_type="image")) == 8  # states, not observations
    assert shortest_path_length(GridWorld(map="four_rooms")) == 20


def test_walls_and_edges_block() -> None:
    env = GridWorld(map="four_rooms")
    start = env.start_state
    assert env.to_pos(start) == (1, 1)
    states, rewards, _ = run(env, [UP, LEFT])  # both into the outer wall
    assert states == [start, start] and rewards == [-1.0, -1.0]
    states, _, _ = run(env, [RIGHT] * 7)  # the wall at column 6 stops the agent at column 5
    assert env.to_pos(states[-1]) == (1, 5)
    states, _, _ = run(GridWorld(map="open_5x5"), [UP, LEFT, RIGHT])  # off-grid moves do nothing
    assert states == [0, 0, 1]


def test_goal_reward_is_added_to_step_reward() -> None:
    env = GridWorld(map=["SG"], step_reward=-0.5, goal_reward=10.0)
    assert run(env, [LEFT, RIGHT]) == ([0, 1], [-0.5, 9.5], [False, True])


def walk(env: gymnasium.Env, seed: int, actions: list[int]) -> list[int]:
    """States after each of ``actions`` from ``reset(seed=seed)``."""
    env.reset(seed=seed)
    return [int(env.step(a)[0]) for a in actions]


def test_slip_zero_is_deterministic() -> None:
    actions = list(np.random.default_rng(0).integers(0, 4, 200))
    env = GridWorld(map="four_rooms")
    assert walk(env, 0, actions) == walk(env, 123, actions)  # the seed only drives slips: none here
    slippery = GridWorld(map="four_rooms", slip=0.2)
    assert walk(slippery, 0, actions) != walk(slippery, 123, actions)  # the same check sees a seeded slip


def test_slip_is_seeded_and_has_the_configured_rate() -> None:
    env = GridWorld(map=["...", ".S.", "..."], slip=0.3)  # every move from the centre is free
    centre = env.start_state
    expected = [centre - 3, centre + 1, centre + 3, centre - 1]  # where each action leads

    def trial(seed: int, n: int) -> tuple[list[int], np.ndarray]:
        env.reset(seed=seed)
        outcomes, made = [], np.zeros((4, 4))
        for i in range(n):
            env.reset()
            obs, _, _, _, info = env.step(i % 4)
            made[i % 4, expected.index(obs)] += 1
            assert expected[info["move"]] == obs
            outcomes.append(obs)
        return outcomes, made

    first, counts = trial(seed=7, n=8000)
    assert trial(seed=7, n=8000)[0] == first
    assert trial(seed=8, n=8000)[0] != first
    rates = counts / counts.sum(axis=1, keepdims=True)  # [intended action, move made]
    assert np.allclose(np.diag(rates), 0.7, atol=0.03)
    assert np.allclose(rates[~np.eye(4, dtype=bool)], 0.1, atol=0.02)  # the slip is uniform over the others


def test_image_observation_shows_the_agent_moving() -> None:
    env = GridWorld(map="cliff_walking", obs_type="image", cell_px=4)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (16, 48, 3) and obs.dtype == np.uint8 and env.observation_space.contains(obs)

    def colour(image: np.ndarray, row: int, col: int) -> tuple[int, ...]:
        cell = image[row * 4 : (row + 1) * 4, col * 4 : (col + 1) * 4].reshape(-1, 3)  # [16, 3]
        assert (cell == cell[0]).all()
        return tuple(int(v) for v in cell[0])

    assert colour(obs, 3, 0) == AGENT_COLOUR and colour(obs, 2, 0) == COLOURS["."]
    obs, *_ = env.step(UP)
    assert colour(obs, 3, 0) == COLOURS["S"] and colour(obs, 2, 0) == AGENT_COLOUR
    assert colour(obs, 3, 5) == COLOURS["C"] and colour(obs, 3, 11) == COLOURS["G"]
    assert np.count_nonzero((obs == AGENT_COLOUR).all(axis=-1)) == 16  # exactly one cell


def test_ansi_render_marks_the_agent() -> None:
    env = GridWorld(map="open_5x5", render_mode="ansi")
    env.reset(seed=0)
    env.step(DOWN)
    assert env.render() == "S....\n@....\n.....\n.....\n....G\n"


def test_time_limit_truncates_without_terminating() -> None:
    env = gymnasium.make("agentlab/GridWorld-v0")
    env.reset(seed=0)
    for _ in range(99):
        _, _, term, trunc, _ = env.step(LEFT)
        assert not term and not trunc
    _, _, term, trunc, _ = env.step(LEFT)
    assert trunc and not term


def test_registration_is_idempotent() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        envs.register_gridworlds()
        importlib.reload(envs)
    specs = {i: gymnasium.spec(i) for i in IDS}
    assert {i: (s.kwargs["map"], s.max_episode_steps) for i, s in specs.items()} == envs.GRIDWORLDS


BAD_MAPS = {"empty": [], "ragged": ["S.", "."], "letter": ["S.X"], "no_start": [".."], "two_starts": ["SS"]}


@pytest.mark.parametrize("rows", BAD_MAPS.values(), ids=BAD_MAPS.keys())
def test_bad_maps_are_rejected(rows: list[str]) -> None:
    with pytest.raises(ValueError):
        GridWorld(map=rows)


@pytest.mark.parametrize("env_id", list(envs.IMAGE_GRIDWORLDS))
def test_image_variants_pass_check_env_and_show_the_same_world(env_id):
    env = gymnasium.make(env_id, render_mode="rgb_array")
    check_env(env.unwrapped, skip_render_check=False)
    index_env = gymnasium.make(envs.IMAGE_GRIDWORLDS[env_id])
    assert env.observation_space.shape == (index_env.unwrapped.nrow * 8, index_env.unwrapped.ncol * 8, 3)
    assert env.spec.max_episode_steps == index_env.spec.max_episode_steps
