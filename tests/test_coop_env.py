"""Tests of the cooperative gridworld ``envs.coop.CoopGrid``: PettingZoo API, rewards, ends and the optimal return."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test

from envs.coop import CoopGrid, env, parallel_env
from envs.multiagent import MULTIAGENT_ENVS

STAY, UP, DOWN, LEFT, RIGHT = range(5)


def play(grid: CoopGrid, joint_actions: list[tuple[int, ...]]) -> tuple[float, dict, dict]:
    """Reset, play the joint actions in order and return agent_0's return and the last terminations, truncations."""
    grid.reset(seed=0)
    total, terminations, truncations = 0.0, {}, {}
    for joint in joint_actions:
        _, rewards, terminations, truncations, _ = grid.step(dict(zip(grid.agents, joint, strict=True)))
        total += rewards["agent_0"]
    return total, terminations, truncations


def bfs_plan_length(size: int, starts: list[tuple[int, int]], targets: list[tuple[int, int]]) -> int:
    """Fewest joint steps after which every target holds an agent, by breadth-first search over joint positions.

    Dynamics and goal ignore which agent is which, so a joint position is kept as a sorted tuple of cells.
    """
    cells = list(itertools.product(range(size), repeat=2))
    moves = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))
    reachable = {
        (r, c): {(min(max(r + dr, 0), size - 1), min(max(c + dc, 0), size - 1)) for dr, dc in moves} for r, c in cells
    }
    goal = set(targets)
    frontier = {tuple(sorted(starts))}
    seen, depth = set(frontier), 0
    while not any(set(joint) >= goal for joint in frontier):
        frontier = {
            tuple(sorted(successor))
            for joint in frontier
            for successor in itertools.product(*(reachable[cell] for cell in joint))
        } - seen
        seen |= frontier
        depth += 1
    return depth


def test_parallel_api() -> None:
    parallel_api_test(CoopGrid(), num_cycles=1000)


def test_parallel_seed() -> None:
    parallel_seed_test(lambda: CoopGrid())


def test_aec_api() -> None:
    api_test(env(), num_cycles=100)


def test_module_convention_and_id() -> None:
    assert isinstance(parallel_env(size=6), CoopGrid)
    assert MULTIAGENT_ENVS["agentlab/CoopGrid-v0"] == "envs.coop"
    assert CoopGrid.metadata["name"] == "coop_grid_v0"


def test_layout_and_observations() -> None:
    grid = CoopGrid()
    obs, infos = grid.reset()
    assert grid.agents == ["agent_0", "agent_1"] and set(infos) == set(grid.agents)
    np.testing.assert_array_equal(grid.starts, [[2, 0], [2, 0]])
    np.testing.assert_array_equal(grid.targets, [[0, 4], [4, 4]])
    np.testing.assert_array_equal(obs["agent_0"], np.array([0.5, 0, 0.5, 0, 1, 0], dtype=np.float32))
    np.testing.assert_array_equal(obs["agent_1"], np.array([0.5, 0, 0.5, 0, 0, 1], dtype=np.float32))
    # Same positions for both at the start: only the one-hot index tells the agents apart.
    np.testing.assert_array_equal(obs["agent_0"][:4], obs["agent_1"][:4])
    assert all(grid.observation_space(a).contains(o) for a, o in obs.items())
    big = CoopGrid(size=7, num_agents=3)
    np.testing.assert_array_equal(big.starts, [[3, 0], [3, 0], [3, 0]])
    np.testing.assert_array_equal(big.targets, [[0, 6], [3, 6], [6, 6]])


def test_optimal_episode_returns_optimal_return() -> None:
    grid = CoopGrid()
    expected = 1.0 - 0.1 * 6
    assert grid.optimal_return() == pytest.approx(expected, abs=1e-12)
    # From (2, 0): agent_0 goes up 2 then right 4 to (0, 4); agent_1 down 2 then right 4 to (4, 4).
    total, terminations, truncations = play(grid, [(UP, DOWN)] * 2 + [(RIGHT, RIGHT)] * 4)
    np.testing.assert_array_equal(grid.positions, [[0, 4], [4, 4]])
    assert total == pytest.approx(expected, abs=1e-12)
    assert all(terminations.values()) and not any(truncations.values())
    assert grid.agents == []


def test_same_target_gives_no_bonus() -> None:
    grid = CoopGrid()
    # Both agents make the same moves from (2, 0), up 2 then right 4, and crowd onto target (0, 4).
    plan = [(UP, UP)] * 2 + [(RIGHT, RIGHT)] * 4
    total, terminations, truncations = play(grid, plan)
    np.testing.assert_array_equal(grid.positions, [[0, 4], [0, 4]])
    assert total == pytest.approx(-0.1 * len(plan), abs=1e-12)
    assert not any(terminations.values()) and not any(truncations.values())
    assert grid.agents == ["agent_0", "agent_1"]
    _, rewards, terminations, _, _ = grid.step({"agent_0": STAY, "agent_1": STAY})
    assert rewards == {"agent_0": pytest.approx(-0.1), "agent_1": pytest.approx(-0.1)}
    assert not any(terminations.values())


def test_truncated_after_max_cycles() -> None:
    grid = CoopGrid(max_cycles=30)
    total, terminations, truncations = play(grid, [(STAY, STAY)] * 30)
    assert all(truncations.values()) and not any(terminations.values())
    assert set(truncations) == {"agent_0", "agent_1"}
    assert total == pytest.approx(-0.1 * 30, abs=1e-12)
    assert grid.agents == []


def test_success_on_last_cycle_terminates() -> None:
    total, terminations, truncations = play(CoopGrid(max_cycles=6), [(UP, DOWN)] * 2 + [(RIGHT, RIGHT)] * 4)
    assert all(terminations.values()) and not any(truncations.values())
    assert total == pytest.approx(0.4, abs=1e-12)
    assert CoopGrid(max_cycles=5).optimal_return() == pytest.approx(-0.5, abs=1e-12)


@pytest.mark.parametrize(("size", "num_agents", "length"), [(5, 2, 6), (4, 3, 5), (7, 3, 9), (6, 2, 8)])
def test_optimal_return_matches_bfs(size: int, num_agents: int, length: int) -> None:
    grid = CoopGrid(size=size, num_agents=num_agents)
    starts, targets = [tuple(p) for p in grid.starts.tolist()], [tuple(t) for t in grid.targets.tolist()]
    assert bfs_plan_length(size, starts, targets) == length
    assert grid.optimal_return() == pytest.approx(1.0 - 0.1 * length, abs=1e-12)


def test_optimal_episode_size_7_three_agents() -> None:
    grid = CoopGrid(size=7, num_agents=3)
    assert grid.optimal_return() == pytest.approx(1.0 - 0.1 * 9, abs=1e-12)
    # From (3, 0): agent_0 up 3 to row 0, agent_1 stays on row 3, agent_2 down 3 to row 6, all right 6 (9 steps).
    total, terminations, _ = play(grid, [(UP, RIGHT, DOWN)] * 3 + [(RIGHT, RIGHT, RIGHT)] * 6)
    np.testing.assert_array_equal(grid.positions, [[0, 6], [3, 6], [6, 6]])
    assert total == pytest.approx(0.1, abs=1e-12) and all(terminations.values())


def test_render_ansi() -> None:
    grid = CoopGrid(render_mode="ansi")
    grid.reset()
    assert grid.render() == "....T\n.....\n*....\n.....\n....T\n"
    grid.step({"agent_0": UP, "agent_1": DOWN})
    assert grid.render() == "....T\n0....\n.....\n1....\n....T\n"
