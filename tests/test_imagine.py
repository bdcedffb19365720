"""agentlab.imagine: a Dreamer run's GIF of real steps beside its world model's open-loop predictions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from agentlab.dreamer.networks import build_networks
from agentlab.imagine import dream
from agentlab.imagine import main as imagine_main
from agentlab.train import resolve, train

TINY = dict(deter=16, stoch=4, classes=4, units=16, layers=1, bins=15, batch_size=2, sequence_length=8,
            sequence_overlap=4, learning_starts=64, train_every=16, imagine_starts=16, horizon=3)
"""A network and replay small enough for a run of a few hundred steps in seconds."""


def test_dream_filters_the_context_then_ignores_the_observations(tmp_path) -> None:
    import gymnasium as gym

    env = gym.make("CartPole-v1")
    cfg = resolve({"algo": "dreamer", "env": "CartPole-v1", **TINY})[1]
    torch.manual_seed(0)
    model = build_networks(cfg, env.observation_space, env.action_space)[0].eval()
    start = {"h": np.zeros((1, 16), np.float32), "z": np.zeros((1, 16), np.float32),
             "action": np.zeros((1, 2), np.float32)}
    obs = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    actions = np.array([0, 1, 1, 0, 1, 0])
    real, predicted = dream(model, start, obs, actions, context=2)
    assert real.shape == predicted.shape == (6, 4)
    torch.testing.assert_close(real, torch.as_tensor(obs))  # the env's units (symlog undone)
    changed = obs.copy()
    changed[2:] += 5.0  # observations after the context: the open-loop prediction never reads them
    _, again = dream(model, start, changed, actions, context=2)
    torch.testing.assert_close(again, predicted)
    changed[1] += 5.0  # one the model filtered: its view changes
    assert not torch.allclose(dream(model, start, changed, actions, context=2)[1], predicted)


def test_the_command_line_writes_a_frame_per_step_and_refuses_other_algorithms(tmp_path, capsys) -> None:
    train({"algo": "dreamer", "env": "CartPole-v1", "backend": "local", "workers": 1, "steps": 256,
           "run_dir": str(tmp_path / "run"), **TINY}, progress=False)
    out = tmp_path / "dream.gif"
    assert imagine_main([str(tmp_path / "run"), "--out", str(out), "--steps", "6", "--context", "2"]) == 0
    gif = Image.open(out)
    assert gif.n_frames == int(capsys.readouterr().out.split(": ")[1].split(" steps")[0]) <= 6
    train({"algo": "q_learning", "env": "agentlab/GridWorld-v0", "backend": "local", "workers": 1, "steps": 100,
           "run_dir": str(tmp_path / "tabular")}, progress=False)
    assert imagine_main([str(tmp_path / "tabular"), "--out", str(tmp_path / "x.gif")]) == 2
    err = capsys.readouterr().err.strip()
    assert "trained q_learning, which has no world model" in err and "\n" not in err
    with pytest.raises(SystemExit) as exit_info:
        imagine_main([str(tmp_path / "run"), "--out", str(tmp_path / "x.png")])
    assert exit_info.value.code == 2
