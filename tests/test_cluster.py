"""A real two-node Ray cluster on this machine: workers spread over both nodes, and a run that outlives one.

``ray start --head`` and a second ``ray start --address`` (``benchmarks.chaos.TwoNodeCluster``); then
``python -m agentlab.run --address ...`` trains DQN on CartPole-v1 with two workers, and the second
node is killed (raylet, object store and workers) once 5,000 of its 20,000 env steps have passed.
"""

from __future__ import annotations

import pytest

from benchmarks.chaos import EVAL_EVERY, cluster_run


@pytest.mark.slow
def test_stopping_the_second_node_moves_its_worker_to_the_head_and_the_run_finishes(tmp_path):
    result = cluster_run("dqn", seed=0, out=tmp_path, stop_at=EVAL_EVERY // 2, steps=20_000)
    assert result["rc"] == 0
    assert result["spread_over_both"]  # one worker on each node before the stop
    assert result["workers_on_stopped_node"] == 1
    assert result["on_head_after_stop"] == 2  # its replacement found room on the node that is left
    assert result["restarts"] >= 1
    assert result["env_steps"] >= 20_000
    assert result["greedy"] > 0  # the final evaluation ran
