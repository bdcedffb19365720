"""Runs that survive: exact resume, signals, truncated logs, corrupt or foreign checkpoints, CUDA runs on a CPU."""

import csv
import io
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import gymnasium
import numpy as np
import pytest
import torch

from agentlab import evaluate, runs, saliency
from agentlab import run as cli
from agentlab import train as train_module
from agentlab.train import train

FIXTURES = Path(__file__).parent / "fixtures"


def rows(path: Path) -> list[dict[str, str]]:
    """A CSV's rows without the columns that measure time."""
    with open(path, newline="") as f:
        return [{k: v for k, v in r.items() if k not in ("wall_time", "steps_per_s")} for r in csv.DictReader(f)]


def flat(state: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in state.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return a == b


def stop_at(monkeypatch, step: int) -> None:
    """Make the next run stop as a SIGINT would, once it has passed ``step`` env steps."""
    periodic = train_module.Driver.periodic

    def stopping(self):
        periodic(self)
        if self.env_steps >= step:
            self.stop_signal = signal.SIGINT

    monkeypatch.setattr(train_module.Driver, "periodic", stopping)


@pytest.mark.parametrize("values, stop", [
    ({"algo": "double_q", "env": "agentlab/CliffWalking-v0", "steps": 3000, "envs_per_worker": 2}, 1507),
    ({"algo": "rainbow", "env": "CartPole-v1", "steps": 2500, "eval_every": 1000, "eval_episodes": 2}, 1300),
    ({"algo": "dqn", "env": "MountainCar-v0", "steps": 2500, "learning_starts": 500}, 1100),
    ({"algo": "a2c", "env": "Acrobot-v1", "steps": 3000}, 1700),
    ({"algo": "dqn", "env": "Acrobot-v1", "steps": 2000, "learning_starts": 500, "normalize_obs": True}, 900),
])
def test_stopped_and_resumed_ends_bit_identical_to_never_stopped(tmp_path, monkeypatch, values, stop):
    values = {**values, "backend": "local", "workers": 2}
    straight = train({**values, "run_dir": str(tmp_path / "a")}, progress=False)
    with monkeypatch.context() as m:
        stop_at(m, stop)
        stopped = train({**values, "run_dir": str(tmp_path / "b")}, progress=False)
    assert stopped.signal == signal.SIGINT and stop <= stopped.env_steps < values["steps"]
    resumed = train({}, progress=False, resume=tmp_path / "b")
    assert resumed.env_steps == straight.env_steps
    a, b = flat(straight.learner.state_dict()), flat(resumed.learner.state_dict())
    assert a.keys() == b.keys()
    assert [k for k in a if not same(a[k], b[k])] == []
    for name in ("episodes.csv", "metrics.csv"):
        assert rows(tmp_path / "a" / name) == rows(tmp_path / "b" / name), name
    if "eval_every" in values:
        assert rows(tmp_path / "a" / "evals.csv") == rows(tmp_path / "b" / "evals.csv")


def test_resume_after_a_kill_drops_the_rows_written_after_the_checkpoint(tmp_path):
    """As after SIGKILL: the newest checkpoint is gone but the logs ran on; resuming replays the lost steps."""
    values = {"algo": "q_learning", "env": "agentlab/CliffWalking-v0", "backend": "local", "steps": 3000,
              "checkpoint_every": 1000, "eval_every": 500, "eval_episodes": 1}
    straight = train({**values, "run_dir": str(tmp_path / "a")}, progress=False)
    train({**values, "run_dir": str(tmp_path / "b")}, progress=False)
    for path in runs.checkpoints(tmp_path / "b")[-2:]:  # keep only the checkpoint at 1000 steps
        path.unlink()
    resumed = train({}, progress=False, resume=tmp_path / "b")
    for name in ("episodes.csv", "metrics.csv", "evals.csv"):
        steps = [float(r["env_steps"]) for r in rows(tmp_path / "b" / name)]
        assert steps == sorted(steps) and len(steps) > 2, name
        assert rows(tmp_path / "a" / name) == rows(tmp_path / "b" / name), name
    np.testing.assert_array_equal(straight.learner.q, resumed.learner.q)


def test_metrics_csv_keeps_a_metric_that_first_appears_later(tmp_path):
    result = train({"algo": "q_learning", "env": "agentlab/GridWorld-v0", "backend": "local", "steps": 2000,
                    "eval_every": 1000, "run_dir": str(tmp_path / "r")}, progress=False)
    data = runs.read_csv(result.run_dir / "metrics.csv")
    evals = [v for v in data["eval"] if not np.isnan(v)]
    assert np.isnan(data["eval"][0]) and len(evals) >= 2  # absent from the first row, kept from the first eval on


def test_a_late_column_widens_the_header_and_keeps_earlier_rows(tmp_path):
    log = runs.CsvLog(tmp_path / "m.csv")
    log.write({"env_steps": 1, "loss": 0.5})
    log.write({"env_steps": 2, "loss": 0.25, "eval": 10.0})
    log.close()
    again = runs.CsvLog(tmp_path / "m.csv")  # a resumed run appends under the widened header
    again.write({"env_steps": 3, "eval": 11.0})
    again.close()
    assert (tmp_path / "m.csv").read_text().splitlines() == ["env_steps,loss,eval", "1,0.5,", "2,0.25,10", "3,,11"]


def test_dqn_checkpoint_holds_the_replay_and_off_waits_for_learning_starts_again(tmp_path, capsys):
    values = {"algo": "dqn", "env": "CartPole-v1", "backend": "local", "steps": 1500, "learning_starts": 500,
              "buffer_size": 5000}
    kept = train({**values, "run_dir": str(tmp_path / "on")}, progress=False)
    state = runs.load_checkpoint(runs.latest_checkpoint(kept.run_dir))["learner"]
    assert len(state["replay"]["contents"]["action"]) == len(kept.learner.replay) > 1000
    resumed = train({"steps": 1600}, progress=False, resume=kept.run_dir)
    assert len(resumed.learner.replay) > 1000 and resumed.learner.version > kept.learner.version

    off = train({**values, "checkpoint_replay": "off", "run_dir": str(tmp_path / "off")}, progress=False)
    assert "contents" not in runs.load_checkpoint(runs.latest_checkpoint(off.run_dir))["learner"]["replay"]
    capsys.readouterr()
    again = train({"steps": off.env_steps + 1}, progress=False, resume=off.run_dir)  # one more fragment
    assert "holds no replay" in capsys.readouterr().err
    new_steps = again.env_steps - off.env_steps
    assert 0 < new_steps < 500 and len(again.learner.replay) == new_steps
    assert again.learner.version == off.learner.version  # fewer new steps than learning_starts: no update yet


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_writes_a_final_checkpoint_and_the_curve(tmp_path, signum, code):
    run_dir = tmp_path / "r"
    proc = subprocess.Popen([sys.executable, "-m", "agentlab.run", "--algo", "q_learning", "--backend", "local",
                             "--steps", "2000000", "--run-dir", str(run_dir), "--quiet"],
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (run_dir / "metrics.csv").is_file() or not rows(run_dir / "metrics.csv"):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.2)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    latest = runs.load_checkpoint(runs.latest_checkpoint(run_dir))
    assert latest["env_steps"] >= float(rows(run_dir / "metrics.csv")[-1]["env_steps"]) > 0
    assert (run_dir / "curve.png").is_file()
    assert signal.Signals(signum).name in err


class _Unsaveable(gymnasium.Wrapper):
    """An env holding something envs.state cannot capture (as a physics engine handle would be)."""

    def __init__(self, env):
        super().__init__(env)
        self.handle = io.BytesIO()


def test_an_env_that_cannot_be_saved_resumes_with_fresh_episodes(tmp_path, capsys):
    if "test/UnsaveableCartPole-v0" not in gymnasium.registry:
        gymnasium.register("test/UnsaveableCartPole-v0", entry_point=lambda **kw: _Unsaveable(
            gymnasium.make("CartPole-v1", **kw)), max_episode_steps=500)
    values = {"algo": "a2c", "env": "test/UnsaveableCartPole-v0", "backend": "local", "steps": 600,
              "run_dir": str(tmp_path / "r")}
    train(values, progress=False)
    capsys.readouterr()
    result = train({"steps": 900}, progress=False, resume=tmp_path / "r")
    assert result.env_steps >= 900 and "episodes start fresh" in capsys.readouterr().err


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    train({"algo": "q_learning", "env": "agentlab/GridWorld-v0", "backend": "local", "steps": 3000,
           "checkpoint_every": 1000, "run_dir": str(run_dir)}, progress=False)
    return run_dir


def snapshot(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_corrupt_latest_checkpoint_falls_back_to_the_previous_one(tiny, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(tiny, copy)
    latest = runs.latest_checkpoint(copy)
    latest.write_bytes(b"garbage")
    capsys.readouterr()
    result = train({"steps": 3500}, progress=False, resume=copy)
    warning = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and latest.name in warning[0] and "ckpt_000000002000.pt" in warning[0]
    assert result.env_steps == 3500 and runs.latest_checkpoint(copy).name == "ckpt_000000003500.pt"
    # Nothing deleted: the unreadable file is kept aside when the resumed run writes that step again.
    assert (copy / "checkpoints" / (latest.name + ".corrupt")).read_bytes() == b"garbage"


@pytest.mark.parametrize("flag, value", [("--algo", "sarsa"), ("--env", "agentlab/FourRooms-v0")])
def test_resume_with_another_algo_or_env_is_one_line_and_changes_nothing(tiny, capsys, flag, value):
    before = snapshot(tiny)
    assert cli.main(["--resume", str(tiny), flag, value, "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and value in err
    assert snapshot(tiny) == before


def test_a_checkpoint_of_a_newer_format_is_refused_in_one_line(tiny, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(tiny, copy)
    for path in runs.checkpoints(copy):
        state = torch.load(path, weights_only=True)
        torch.save({**state, "format": runs.CHECKPOINT_FORMAT + 1}, path)
    assert cli.main(["--resume", str(copy), "--quiet"]) == 2
    assert f"format {runs.CHECKPOINT_FORMAT + 1}" in capsys.readouterr().err


@pytest.mark.parametrize("fixture", ["q_learning_format1", "rainbow_format1"])
def test_the_committed_format_1_checkpoints_keep_loading(tmp_path, fixture, capsys):
    """Checkpoints written by the format-1 code, committed: evaluate and resume must keep working on them."""
    copy = tmp_path / fixture
    shutil.copytree(FIXTURES / fixture, copy)
    assert evaluate.main([str(copy), "--episodes", "2"]) == 0
    steps = runs.load_checkpoint(runs.latest_checkpoint(copy))["env_steps"]
    result = train({"steps": steps + 200, "backend": "local"}, progress=False, resume=copy)
    assert result.env_steps >= steps + 200


def _as_if_saved_on_cuda(path: Path) -> None:
    """Rewrite a checkpoint's tensor locations to ``cuda:0``, as torch.save writes them on a GPU."""
    with zipfile.ZipFile(path) as z:
        files = {name: z.read(name) for name in z.namelist()}
    pickle_name = next(n for n in files if n.endswith("data.pkl"))
    original = files[pickle_name]
    files[pickle_name] = original.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")
    assert files[pickle_name] != original
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, data in files.items():
            z.writestr(name, data)


@pytest.mark.skipif(torch.cuda.is_available(), reason="simulates a CPU-only machine")
def test_a_run_trained_on_cuda_evaluates_resumes_and_draws_saliency_on_a_cpu(tmp_path, capsys):
    run_dir = tmp_path / "gpu"
    train({"algo": "dqn", "env": "agentlab/GridWorldImage-v0", "backend": "local", "steps": 600,
           "learning_starts": 200, "run_dir": str(run_dir)}, progress=False)
    config = run_dir / "config.yaml"
    config.write_text(config.read_text().replace("device: auto", "device: cuda"))
    for path in runs.checkpoints(run_dir):
        _as_if_saved_on_cuda(path)
    with pytest.raises(RuntimeError, match="CUDA"):  # the simulation is real: a plain load needs a GPU
        torch.load(runs.latest_checkpoint(run_dir), weights_only=True)
    assert evaluate.main([str(run_dir), "--episodes", "1"]) == 0
    assert saliency.main([str(run_dir), "--out", str(tmp_path / "s.png")]) == 0
    capsys.readouterr()
    result = train({"steps": 800}, progress=False, resume=run_dir)
    assert result.env_steps >= 800 and "no GPU" in capsys.readouterr().err


def test_a_resume_whose_workers_fail_to_start_changes_nothing(tiny, tmp_path, monkeypatch):
    """Rows are dropped and the config rewritten only once the workers are up (an unreachable cluster, say)."""
    copy = tmp_path / "copy"
    shutil.copytree(tiny, copy)
    runs.checkpoints(copy)[-1].unlink()  # the logs now run past the newest checkpoint: a resume would drop rows
    before = snapshot(copy)

    def unreachable(*args, **kwargs):
        raise train_module.ConfigError("cannot reach the cluster")

    monkeypatch.setattr(train_module, "LocalBackend", unreachable)
    with pytest.raises(train_module.ConfigError, match="cluster"):
        train({"steps": 5000}, progress=False, resume=copy)
    assert snapshot(copy) == before


def test_a_resume_that_extends_the_budget_stretches_the_schedules_derived_from_it() -> None:
    """A2C's rate anneals over the run's steps; resuming with more steps must not train on at a rate of 0."""
    from agentlab.config import to_dict

    def saved(**values):
        run_cfg, algo_cfg, _ = train_module.resolve({"algo": "a2c", "env": "Acrobot-v1", "steps": 30_000, **values})
        return {"run": to_dict(run_cfg), "algo": to_dict(algo_cfg)}

    first = saved()
    assert train_module.resolve({"steps": 30_000}, first)[1].lr_decay_steps == 30_000  # an interruption: as before
    assert train_module.resolve({"steps": 60_000}, first)[1].lr_decay_steps == 60_000  # a longer budget: stretched
    own = saved(lr_decay_steps=10_000)
    assert train_module.resolve({"steps": 60_000}, own)[1].lr_decay_steps == 10_000  # a length the user set stays
