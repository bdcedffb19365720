"""The command-line contract: bad input gets one line and exit code 2; evaluate and plot on a tiny run."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agentlab import evaluate, plot, run


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    code = run.main(["--algo", "q_learning", "--env", "agentlab/CliffWalking-v0", "--steps", "8000",
                     "--backend", "local", "--run-dir", str(run_dir), "--quiet"])
    assert code == 0
    return run_dir


def one_line_error(capsys, argv, main=run.main) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    return err


@pytest.mark.parametrize("argv, expected", [
    (["--algo", "q_learnin"], "did you mean 'q_learning'"),
    (["--algo", "q_learning", "--env", "agentlab/CliffWalkin-v0"], "agentlab/CliffWalking-v0"),
    (["--algo", "q_learning", "--set", "alpah=0.3"], "did you mean 'alpha'"),
    (["--algo", "q_learning", "--set", "alpha=fast"], "alpha='fast' is not a valid float"),
    (["--algo", "q_learning", "--steps", "lots"], "steps='lots' is not a valid int"),
    (["--algo", "q_learning", "--set", "alpha"], "--set expects key=value"),
    (["--config", "/nonexistent/cfg.yaml"], "does not exist"),
    (["--algo", "q_learning", "--env", "CartPole-v1", "--backend", "local"], "Discrete observations"),
    (["--algo", "q_learning", "--backend", "slurm"], "backend 'slurm'"),
    (["--resume", "/tmp"], "not a run folder"),
    (["--algo", "dqn", "--env", "CartPole-v1", "--set", "encoder=resnet"], "encoder 'resnet' is not one of auto,"),
    (["--algo", "dqn", "--env", "CartPole-v1", "--set", "encoder=nature_cnn"], "needs image observations"),
    (["--algo", "dqn", "--env", "CartPole-v1", "--set", "loss=l1"], "loss 'l1' is not one of huber, mse"),
    (["--algo", "a2c", "--env", "CartPole-v1", "--set", "optimizer=lbfgs"], "optimizer 'lbfgs' is not one of"),
])
def test_bad_input_gets_one_line_and_exit_2(capsys, argv, expected):
    assert expected in one_line_error(capsys, argv)


def test_unreadable_config_file(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("alpha: [unclosed\n")
    assert "unreadable" in one_line_error(capsys, ["--config", str(bad)])
    flat = tmp_path / "flat.yaml"
    flat.write_text("algo: q_learning\nenv: agentlab/CliffWalking-v0\nalpah: 0.1\n")
    assert "unknown config key 'alpah'" in one_line_error(capsys, ["--config", str(flat)])


def test_argparse_errors_are_one_line_too():
    out = subprocess.run([sys.executable, "-m", "agentlab.run", "--stepz", "5"], capture_output=True, text=True)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1


def test_corrupt_checkpoints_are_reported_and_not_overwritten(tiny_run, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny_run, copy)
    for path in (copy / "checkpoints").glob("*.pt"):
        path.write_bytes(b"not a checkpoint")
    before = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    err = one_line_error(capsys, ["--resume", str(copy)])
    assert "no checkpoint" in err and "corrupt" in err
    assert {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()} == before


def test_config_file_and_set_reach_the_run(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("run:\n  algo: sarsa\n  env: agentlab/GridWorld-v0\nalgo:\n  alpha: 0.25\n")
    run_dir = tmp_path / "r"
    assert run.main(["--config", str(cfg), "--set", "gamma=0.5", "--steps", "300", "--backend", "local",
                     "--run-dir", str(run_dir), "--quiet"]) == 0
    import yaml

    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert saved["run"]["algo"] == "sarsa" and saved["run"]["steps"] == 300
    assert saved["algo"]["alpha"] == 0.25 and saved["algo"]["gamma"] == 0.5


def test_evaluate_prints_json_and_the_greedy_path(tiny_run, capsys, tmp_path):
    gif = tmp_path / "policy.gif"
    assert evaluate.main([str(tiny_run), "--episodes", "3", "--gif", str(gif)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    result = json.loads(out[-1])
    assert result["episodes"] == 3 and result["mean_return"] == -13.0 and result["std_return"] == 0.0
    grid = "\n".join(out[:-1])
    assert "S" in grid and "G" in grid and grid.count("*") == 12  # the greedy path along the cliff edge
    assert json.loads((tiny_run / "eval.json").read_text()) == result
    assert gif.stat().st_size > 0


def test_evaluate_rejects_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert "not a run folder" in one_line_error(capsys, [str(tmp_path)], main=evaluate.main)


def test_plot_draws_seeds_as_mean_and_band(tmp_path):
    dirs = []
    for seed in (0, 1):
        d = tmp_path / f"s{seed}"
        assert run.main(["--algo", "sarsa", "--env", "agentlab/CliffWalking-v0", "--steps", "3000",
                         "--seed", str(seed), "--backend", "local", "--run-dir", str(d), "--quiet"]) == 0
        dirs.append(d)
    out = tmp_path / "curves.png"
    assert plot.main([*map(str, dirs), "--out", str(out), "--x", "wall_time"]) == 0
    assert out.stat().st_size > 10_000
    import matplotlib.image

    assert matplotlib.image.imread(out).shape[2] in (3, 4)


def test_list_keys_shows_algorithm_keys(capsys):
    assert run.main(["--algo", "sarsa", "--list-keys"]) == 0
    out = capsys.readouterr().out
    for key in ("alpha", "gamma", "epsilon", "epsilon_min", "epsilon_decay", "fragment_length"):
        assert key in out


def test_default_demo_is_ppo_on_cartpole_with_ray_workers_and_its_preset() -> None:
    from agentlab.presets import preset
    from agentlab.train import resolve

    run_cfg, algo_cfg, _ = resolve(dict(run.DEMO))
    assert (run_cfg.algo, run_cfg.env, run_cfg.backend, run_cfg.workers) == ("ppo", "CartPole-v1", "ray", 2)
    tuned = preset("ppo", "CartPole-v1")
    assert all(getattr(algo_cfg, key) == value for key, value in tuned.items() if hasattr(algo_cfg, key))
    assert run_cfg.steps == tuned["steps"]  # the zoo's budget, over which its rate and clip anneal
    assert run_cfg.solve_return == 475 and run_cfg.eval_every > 0 and run_cfg.eval_episodes == 20
