"""The actor–learner loop end to end: learning, reproducibility, truncation, Ray, resume."""

import json
from pathlib import Path

import numpy as np

from agentlab import runs
from agentlab.train import train


def cliff(tmp_path: Path, name: str, **values):
    base = {"algo": "q_learning", "env": "agentlab/CliffWalking-v0", "backend": "local", "steps": 6000,
            "run_dir": str(tmp_path / name)}
    return train({**base, **values}, progress=False)


def episode_rows(run_dir: Path) -> np.ndarray:
    data = runs.read_csv(run_dir / "episodes.csv")
    return np.array([data[k] for k in ("env_steps", "worker", "return", "length")])  # wall_time differs


def test_q_learning_learns_the_cliff_edge(tmp_path):
    result = cliff(tmp_path, "q", steps=15_000, eval_episodes=1)
    assert result.eval["mean_return"] == -13.0  # the optimal path along the cliff
    for name in ("config.yaml", "episodes.csv", "metrics.csv", "curve.png", "eval.json"):
        assert (result.run_dir / name).is_file(), name
    assert runs.latest_checkpoint(result.run_dir).name == "ckpt_000000015000.pt"


def test_same_seed_gives_identical_episodes_with_the_local_backend(tmp_path):
    a = cliff(tmp_path, "a", algo="sarsa", seed=5, workers=2, envs_per_worker=2, fragment_length=4)
    b = cliff(tmp_path, "b", algo="sarsa", seed=5, workers=2, envs_per_worker=2, fragment_length=4)
    c = cliff(tmp_path, "c", algo="sarsa", seed=6, workers=2, envs_per_worker=2, fragment_length=4)
    assert episode_rows(a.run_dir).shape[1] > 10
    np.testing.assert_array_equal(episode_rows(a.run_dir), episode_rows(b.run_dir))
    assert not np.array_equal(episode_rows(a.run_dir), episode_rows(c.run_dir))


def test_truncated_episodes_end_at_the_time_limit_and_are_recorded(tmp_path):
    # GridWorld-v0 truncates at 100 steps; with ε = 1 the agent wanders, so many episodes hit the limit.
    result = train({"algo": "q_learning", "env": "agentlab/GridWorld-v0", "backend": "local", "steps": 3000,
                    "epsilon": 1.0, "run_dir": str(tmp_path / "t")}, progress=False)
    lengths = runs.read_csv(result.run_dir / "episodes.csv")["length"]
    assert max(lengths) == 100 and lengths.count(100.0) >= 3


def test_worker_keeps_the_final_observation_of_a_truncated_episode():
    """next_obs at a truncated step is where the last move led (needed to bootstrap), not the reset state."""
    from agentlab.worker import Worker

    worker = Worker("q_learning", {}, "agentlab/GridWorld-v0", 1, 1500, 0, 1, seed=0)
    worker.set_weights({"q": np.zeros((25, 4)), "epsilon": 1.0}, 0)
    frag = worker.sample().payload
    grid = worker.envs.envs[0].unwrapped
    truncated = np.flatnonzero(frag.truncated[:-1, 0] & ~frag.terminated[:-1, 0])  # a goal at the limit is both
    assert len(truncated) >= 2
    for t in truncated:
        (r0, c0), (r1, c1) = grid.to_pos(int(frag.obs[t, 0])), grid.to_pos(int(frag.next_obs[t, 0]))
        assert abs(r0 - r1) + abs(c0 - c1) <= 1  # one move (or a bump), not a jump back to start
        assert frag.obs[t + 1, 0] == grid.start_state  # the next fragment step starts a new episode


def test_ray_backend_with_two_workers(tmp_path):
    # GridWorld episodes are short, so both workers finish some even if one actor starts seconds late.
    result = cliff(tmp_path, "ray", env="agentlab/GridWorld-v0", backend="ray", workers=2, steps=20_000,
                   fragment_length=100)
    data = runs.read_csv(result.run_dir / "episodes.csv")
    assert result.env_steps >= 20_000
    assert set(data["worker"]) == {0.0, 1.0}


def test_resume_continues_from_the_latest_checkpoint(tmp_path):
    first = cliff(tmp_path, "r", steps=2000)
    n_before = len(runs.read_csv(first.run_dir / "episodes.csv")["return"])
    second = train({"steps": 4000}, progress=False, resume=first.run_dir)
    assert second.run_dir == first.run_dir and second.env_steps == 4000
    data = runs.read_csv(first.run_dir / "episodes.csv")
    assert len(data["return"]) > n_before and min(data["env_steps"][n_before:]) > 2000
    assert runs.latest_checkpoint(first.run_dir).name == "ckpt_000000004000.pt"
    # Training continued from the checkpointed table (and envs): the same Q as 4,000 steps never stopped,
    # and not the Q that 2,000 steps from a fresh table would give.
    straight = cliff(tmp_path, "straight", steps=4000)
    np.testing.assert_array_equal(second.learner.q, straight.learner.q)
    assert not np.array_equal(second.learner.q, first.learner.q)
    assert json.loads(json.dumps(runs.read_config(first.run_dir)))["run"]["steps"] == 4000
