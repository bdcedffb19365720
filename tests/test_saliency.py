"""Saliency is |∂Q(s, a*)/∂s|: exact for a linear Q, and drawn for a trained run."""

import numpy as np
import torch

from agentlab import run, saliency


def test_saliency_of_a_linear_q_is_the_chosen_rows_weights():
    w = torch.tensor([[1.0, -2.0, 0.5, 0.0], [3.0, 1.0, -1.0, 2.0]])  # Q(s) = W s, 2 actions, 2×2 "image"
    obs = np.array([[1.0, 1.0], [1.0, 1.0]], dtype=np.float32)  # Q = [-0.5, 5] -> a* = 1
    sal, action, _ = saliency.saliency(lambda x, state: (x.flatten(1) @ w.T, state), obs, {})
    assert action == 1
    np.testing.assert_allclose(sal, np.abs(w[1].numpy()).reshape(2, 2))


def test_saliency_cli_draws_a_png_for_an_image_run(tmp_path, capsys):
    run_dir = tmp_path / "r"
    assert run.main(["--algo", "dqn", "--env", "agentlab/GridWorldImage-v0", "--steps", "300", "--backend", "local",
                     "--workers", "1", "--set", "learning_starts=100", "--set", "buffer_size=500",
                     "--run-dir", str(run_dir), "--quiet"]) == 0
    out = tmp_path / "s.png"
    assert saliency.main([str(run_dir), "--out", str(out), "--frames", "2", "--every", "1"]) == 0
    assert out.stat().st_size > 5_000
    capsys.readouterr()
    tab = tmp_path / "t"
    assert run.main(["--algo", "sarsa", "--env", "agentlab/GridWorld-v0", "--steps", "100", "--backend", "local",
                     "--run-dir", str(tab), "--quiet"]) == 0
    assert saliency.main([str(tab)]) == 2
    assert "need image observations" in capsys.readouterr().err


def test_saliency_of_an_agent_with_memory_carries_its_state(tmp_path):
    run_dir = tmp_path / "m"
    assert run.main(["--algo", "a2c", "--env", "agentlab/GridWorldImage-v0", "--steps", "200", "--backend", "local",
                     "--workers", "1", "--set", "memory=gru", "--set", "memory_size=8", "--run-dir", str(run_dir),
                     "--quiet"]) == 0
    _, _, _, learner = saliency.load_run(run_dir)
    scores, state = saliency.action_scores(learner)
    obs = np.full((40, 40, 3), 128, np.uint8)  # GridWorldImage's frames
    _, _, after = saliency.saliency(scores, obs, state)
    assert not torch.equal(after["h"], state["h"])  # the memory moved: the next map sees this step
    assert saliency.main([str(run_dir), "--out", str(tmp_path / "m.png"), "--frames", "2", "--every", "1"]) == 0
