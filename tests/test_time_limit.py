"""The wall-time limit (``minutes``) and the ``updates`` column that learner updates/s are computed from."""

from pathlib import Path

import numpy as np
import pytest

from agentlab import runs
from agentlab.config import ConfigError
from agentlab.train import resolve, train


def cliff(tmp_path: Path, **values):
    base = {"algo": "q_learning", "env": "agentlab/CliffWalking-v0", "backend": "local",
            "run_dir": str(tmp_path / "run")}
    return train({**base, **values}, progress=False)


def test_minutes_stops_the_run_long_before_its_steps_and_still_checkpoints(tmp_path):
    steps = 10**9
    result = cliff(tmp_path, steps=steps, minutes=0.02)  # 1.2 s
    assert 0 < result.env_steps < steps // 1000
    assert result.wall_time >= 0.02 * 60
    assert result.elapsed >= result.wall_time  # counted from the call: setup too
    assert runs.latest_checkpoint(result.run_dir).name == f"ckpt_{result.env_steps:012d}.pt"
    final = runs.read_csv(result.run_dir / "metrics.csv")  # the stopping round is always logged
    assert final["env_steps"][-1] == result.env_steps
    assert final["updates"][-1] == result.learner.version


def test_metrics_rows_carry_the_learner_update_count(tmp_path):
    result = cliff(tmp_path, steps=3000, fragment_length=16)
    updates = np.array(runs.read_csv(result.run_dir / "metrics.csv")["updates"])
    assert len(updates) > 10
    assert np.all(np.diff(updates) >= 0) and updates[0] >= 1
    assert updates[-1] == result.learner.version == 188  # one update per 16-step fragment: ceil(3000 / 16)


@pytest.mark.parametrize("minutes", [-1, -0.5])
def test_negative_minutes_is_a_config_error(minutes):
    with pytest.raises(ConfigError, match="minutes must be 0"):
        resolve({"algo": "q_learning", "minutes": minutes})
