"""Every setting is checked, type and range, before anything starts: one line naming the key and a fix.

Table-driven over bad values of the run config and each algorithm config; the declaration mechanism
itself on a small dataclass; the replay-memory estimate against the real allocation; and refusals of
resume, evaluate, plot and saliency that leave a run folder byte for byte as it was.
"""

from __future__ import annotations

import dataclasses
import math
import shlex
import subprocess
import sys
import typing
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from agentlab import algorithms, config, evaluate, plot, run, runs, saliency
from agentlab.config import ConfigError, RunConfig, field_docs, invalid, setting, validate
from agentlab.replay import ReplayBuffer, replay_nbytes
from agentlab.train import resolve, train

torch.set_num_threads(1)

TABULAR = {"algo": "q_learning"}
DQN = {"algo": "dqn", "env": "CartPole-v1"}
A2C = {"algo": "a2c", "env": "CartPole-v1"}

BAD = [
    # run config
    (TABULAR, "steps", "0"), (TABULAR, "steps", "-5"), (TABULAR, "steps", "true"), (TABULAR, "steps", "1.5"),
    (TABULAR, "steps", "nan"), (TABULAR, "steps", "1e400"), (TABULAR, "minutes", ".nan"), (TABULAR, "minutes", "inf"),
    (TABULAR, "minutes", "-1"), (TABULAR, "workers", "0"), (TABULAR, "envs_per_worker", "0"),
    (TABULAR, "fragment_length", "0"), (TABULAR, "sync_every", "0"), (TABULAR, "in_flight", "0"),
    (TABULAR, "learner_threads", "0"), (TABULAR, "seed", "-1"), (TABULAR, "episodes", "-1"),
    (TABULAR, "checkpoint_every", "-1"), (TABULAR, "eval_episodes", "-2"), (TABULAR, "eval_every", "-1"),
    (TABULAR, "backend", "slurm"), (TABULAR, "backend", ""), (TABULAR, "device", "gpu"), (TABULAR, "env", ""),
    (TABULAR, "worker_timeout_s", "-1"), (TABULAR, "max_worker_restarts", "-1"), (TABULAR, "dashboard", "2"),
    (TABULAR, "solve_return", "nan"), (TABULAR, "workers", "[2]"), (TABULAR, "address", "localhost"),
    # tabular
    (TABULAR, "alpha", "0"), (TABULAR, "alpha", "1.5"), (TABULAR, "alpha", "nan"), (TABULAR, "gamma", "-0.1"),
    (TABULAR, "gamma", "1.01"), (TABULAR, "epsilon", "2"), (TABULAR, "epsilon_min", "-0.1"),
    (TABULAR, "epsilon_decay", "0"), (TABULAR, "epsilon_decay", "1.5"), (TABULAR, "q_init", "-inf"),
    (TABULAR, "alpha", "fast"), (TABULAR, "gamma", "true"),
    # DQN family
    (DQN, "lr", "0"), (DQN, "lr", "-1e-3"), (DQN, "adam_eps", "0"), (DQN, "batch_size", "0"),
    (DQN, "buffer_size", "0"), (DQN, "replay_ratio", "0"), (DQN, "target_update_period", "0"), (DQN, "tau", "0"),
    (DQN, "tau", "1.5"), (DQN, "epsilon_start", "1.5"), (DQN, "epsilon_end", "-0.1"), (DQN, "apex_epsilon", "2"),
    (DQN, "num_atoms", "1"), (DQN, "n_step", "0"), (DQN, "loss", "l1"), (DQN, "dueling_aggregate", "min"),
    (DQN, "encoder", "resnet"), (DQN, "encoder", ""), (DQN, "hidden_sizes", "[0]"), (DQN, "hidden_sizes", "[64, -1]"),
    (DQN, "hidden_sizes", "[64.5]"), (DQN, "hidden_sizes", "64"), (DQN, "hidden_sizes", "[true]"),
    (DQN, "head_hidden", "[0]"), (DQN, "frame_stack", "-2"), (DQN, "alpha", "-1"), (DQN, "beta0", "2"),
    (DQN, "priority_eps", "0"), (DQN, "max_grad_norm", "-1"), (DQN, "double", "maybe"), (DQN, "noisy_sigma0", "-1"),
    (DQN, "gamma", "inf"), (DQN, "beta_steps", "-1"), (DQN, "epsilon_decay_steps", "-1"), (DQN, "v_min", "nan"),
    # A2C / A3C
    (A2C, "gamma", "2"), (A2C, "gae_lambda", "1.5"), (A2C, "learning_rate", "0"), (A2C, "optimizer", "lbfgs"),
    (A2C, "rms_alpha", "1.0"), (A2C, "eps", "-1"), (A2C, "value_coef", "-1"), (A2C, "entropy_coef", "-0.01"),
    (A2C, "activation", "gelu"), (A2C, "encoder", "resnet"), (A2C, "max_grad_norm", "nan"),
    (A2C, "hidden_sizes", "[32, 0]"), (A2C, "shared_encoder", "0"),
    ({"algo": "a3c", "env": "CartPole-v1"}, "gamma", "-1"),
]

CROSS_FIELD = [
    ({**TABULAR, "epsilon": "0.1", "epsilon_min": "0.5", "epsilon_decay": "0.99"}, "epsilon_min"),
    ({**DQN, "distributional": "true", "v_min": "10", "v_max": "-10"}, "v_max"),
    ({**DQN, "distributional": "true", "v_min": "5", "v_max": "5"}, "v_max"),
    ({**DQN, "batch_size": "64", "buffer_size": "32"}, "batch_size"),
    ({**TABULAR, "solve_return": "-20"}, "eval_every"),
]


def one_line(error: pytest.ExceptionInfo, key: str) -> str:
    message = str(error.value)
    assert "\n" not in message and key in message, message
    return message


@pytest.mark.parametrize("base, key, value", BAD, ids=[f"{b['algo']}-{k}={v}" for b, k, v in BAD])
def test_bad_values_are_one_line_errors_naming_the_key_and_a_fix(base, key, value):
    with pytest.raises(ConfigError) as error:
        resolve({**base, key: value})
    assert f"--set {key}=" in one_line(error, key)


@pytest.mark.parametrize("values, key", CROSS_FIELD, ids=[k for _, k in CROSS_FIELD])
def test_cross_field_constraints(values, key):
    with pytest.raises(ConfigError) as error:
        resolve(values)
    assert f"--set {key}=" in one_line(error, key)


def test_the_suggested_fix_is_itself_accepted():
    for base, key, value in BAD:
        with pytest.raises(ConfigError) as error:
            resolve({**base, key: value})
        message = str(error.value)
        if f"--set {key}=" not in message or "is not a valid" in message:
            continue  # a value that does not parse offers the default after "e.g."; checked below
        fix = shlex.split(message.rsplit(f"--set {key}=", 1)[1])  # as a shell passes it: '' is empty
        resolve({**base, key: fix[0] if fix else ""})


def test_good_configs_pass_and_numbers_parse_as_python_reads_them():
    for algo in algorithms.REGISTRY:
        for env in ("agentlab/CliffWalking-v0", "CartPole-v1", "ALE/Pong-v5"):
            resolve({"algo": algo, "env": env})  # every preset is valid
    run_cfg, algo_cfg, _ = resolve({**DQN, "steps": "1e5", "lr": "1e-3", "hidden_sizes": "[32, 32]",
                                    "solve_return": "475", "eval_every": "1_000", "device": "cuda:1",
                                    "address": "ray://head:10001"})
    assert run_cfg.steps == 100_000 and isinstance(run_cfg.steps, int)
    assert algo_cfg.lr == 1e-3 and algo_cfg.hidden_sizes == (32, 32) and run_cfg.eval_every == 1000
    assert resolve({**TABULAR, "epsilon": "0"})[1].epsilon == 0.0  # ε below epsilon_min is fine when fixed


def test_errors_of_the_cli_are_one_line_exit_2_and_no_run_folder(tmp_path):
    cases = [(["--algo", "q_learning", "--steps", "0"], "steps"),  # each start imports torch: two are enough
             (["--algo", "dqn", "--env", "CartPole-v1", "--set", "buffer_size=100000000000"], "buffer_size")]
    for argv, key in cases:
        out = subprocess.run([sys.executable, "-m", "agentlab.run", *argv, "--backend", "local", "--quiet"],
                             capture_output=True, text=True, cwd=tmp_path, timeout=120)
        lines = out.stderr.strip().splitlines()
        assert out.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), out.stderr
        assert key in lines[0] and "Traceback" not in out.stderr
    assert list(tmp_path.iterdir()) == []  # no runs/ folder, nothing written


# ---- the mechanism, on a config of its own ----------------------------------------------------------------


@dataclass
class Camera:
    size: tuple[int, int] = setting((84, 84), ge=1)
    """Height and width."""
    name: str = setting("front", nonempty=True)
    """Which camera."""
    mode: str = setting("rgb", choices=("rgb", "gray"))
    """Colour mode."""
    port: str = setting("cam0", pattern=r"cam\d", means="cam0 ... cam9")
    """Device port."""
    taps: tuple[float, ...] = setting((0.5, 0.5), length=2, ge=0, le=1)
    """Filter taps."""
    low: float = setting(0.0, finite=False)
    """Lower clip (may be -inf)."""
    high: float = 1.0
    """Upper clip."""

    def validate(self) -> None:
        if self.low >= self.high:
            raise invalid("high", self.high, f"more than low ({self.low})", self.low + 1)


@pytest.mark.parametrize("field, value, expected", [
    ("size", (84,), "a list of exactly 2 values"),
    ("size", (84, 84, 3), "a list of exactly 2 values"),
    ("size", (84.0, 84), "a list of 2 values (a whole number, a whole number)"),
    ("size", (0, 84), "1 or more"),
    ("name", " ", "a non-empty name"),
    ("mode", "rgba", "mode 'rgba' is not one of rgb, gray; use --set mode=rgb"),
    ("port", "usb", "port must be cam0 ... cam9, got usb; use --set port=cam0"),
    ("taps", (0.5,), "exactly 2"),
    ("taps", (0.5, 1.5), "in [0, 1]"),
    ("low", math.nan, "a finite number"),
    ("high", math.inf, "a finite number"),
    ("high", -1.0, "high must be more than low (0.0), got -1.0; use --set high=1.0"),
])
def test_declared_constraints(field, value, expected):
    with pytest.raises(ConfigError, match="^" + field) as error:
        validate(dataclasses.replace(Camera(), **{field: value}))
    assert expected in one_line(error, field)


def test_declared_constraints_accept_edge_values():
    validate(Camera(size=(1, 1), taps=(0.0, 1.0), low=-math.inf, mode="gray", port="cam9"))
    assert field_docs(Camera) == {"size": "Height and width.", "name": "Which camera.", "mode": "Colour mode.",
                                  "port": "Device port.", "taps": "Filter taps.", "low": "Lower clip (may be -inf).",
                                  "high": "Upper clip."}


def _wrong_type(kind: typing.Any) -> typing.Any:
    """A value that is not of ``kind``."""
    if typing.get_origin(kind) is tuple:
        return 5
    return {bool: 1, int: 1.5, float: "x", str: 3}.get(kind, "x" if float in typing.get_args(kind) else 2.5)


def all_config_classes() -> list[type]:
    return [RunConfig, *{algorithms.get(name).config_cls for name in algorithms.REGISTRY}]


@pytest.mark.parametrize("cls", all_config_classes(), ids=lambda c: c.__name__)
def test_every_field_of_every_config_is_typed_documented_and_valid_by_default(cls):
    validate(cls())
    hints = typing.get_type_hints(cls)
    assert set(field_docs(cls)) == {f.name for f in dataclasses.fields(cls)}  # --list-keys shows every key
    for f in dataclasses.fields(cls):
        with pytest.raises(ConfigError) as error:
            validate(dataclasses.replace(cls(), **{f.name: _wrong_type(hints[f.name])}))
        one_line(error, f.name)


# ---- replay memory -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("capacity, shape, dtype, prioritized, frame_stack", [
    (1_000, (4,), np.float32, False, 0),
    (1_025, (7, 7, 3), np.uint8, True, 0),
    (10, (), np.int64, False, 0),
    (3_000, (4, 21, 21), np.uint8, True, 4),
    (500, (2, 10, 12), np.uint8, False, 2),
])
def test_replay_estimate_matches_the_allocation(capacity, shape, dtype, prioritized, frame_stack):
    buffer = ReplayBuffer(capacity, shape, dtype, seed=0, prioritized=prioritized, frame_stack=frame_stack)
    assert replay_nbytes(capacity, shape, dtype, prioritized, frame_stack) == buffer.nbytes
    arrays = [a for a in vars(buffer).values() if isinstance(a, np.ndarray)]
    arrays += [a for part in (buffer._frames, buffer._tree) if part is not None
               for a in vars(part).values() if isinstance(a, np.ndarray)]
    assert buffer.nbytes == sum(a.nbytes for a in arrays)  # nbytes counts every array it holds


def test_learner_logs_the_replay_figure(capsys):
    from agentlab.dqn.config import DQNConfig
    from agentlab.dqn.learner import DQNLearner

    obs, actions = gym.spaces.Box(-1, 1, (4,), np.float32), gym.spaces.Discrete(2)
    learner = DQNLearner(DQNConfig(buffer_size=20_000, hidden_sizes=(8,)), obs, actions, seed=0)
    # obs and next_obs 2·4·4 bytes, action 8, reward 4, discount 4: 48 bytes a transition
    assert learner.replay.nbytes == 20_000 * 48
    assert "replay: 20,000 transitions, 1.0 MB" in capsys.readouterr().err


def test_memory_check_arithmetic():
    config.check_memory("replay", 1_000, "transitions", 2_000_000, "buffer_size", available=2_000_000)
    with pytest.raises(ConfigError) as error:
        config.check_memory("replay", 1_000, "transitions", 2_000_001, "buffer_size", available=1_000_000)
    assert one_line(error, "buffer_size").endswith("use --set buffer_size=250")  # half of what is available


def test_a_huge_replay_is_refused_before_any_run_folder_exists(tmp_path, monkeypatch):
    run_dir = tmp_path / "dqn"
    with pytest.raises(ConfigError) as error:
        train({**DQN, "buffer_size": 10**12, "backend": "local", "run_dir": str(run_dir)}, progress=False)
    assert "--set buffer_size=" in one_line(error, "buffer_size")
    monkeypatch.setattr(config, "available_memory", lambda: 4_000_000)  # the default 100k-transition replay: 4.8 MB
    with pytest.raises(ConfigError, match="buffer_size"):
        train({**DQN, "backend": "local", "run_dir": str(run_dir)}, progress=False)
    assert not run_dir.exists()


# ---- refusals leave a run folder as it was -----------------------------------------------------------------


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    assert run.main(["--algo", "q_learning", "--steps", "2000", "--backend", "local", "--run-dir", str(run_dir),
                     "--quiet"]) == 0
    return run_dir


REFUSALS = [
    (run.main, ["--resume", "{run}", "--set", "gamma=2"], "gamma"),
    (run.main, ["--resume", "{run}", "--set", "steps=-1"], "steps"),
    (run.main, ["--resume", "{run}", "--set", "alpah=0.1"], "alpah"),
    (run.main, ["--resume", "{run}", "--set", "workers=1.5"], "workers"),
    (run.main, ["--resume", "{run}", "--env", "agentlab/GridWorld-v0"], "env"),
    (run.main, ["--resume", "{run}", "--stepz", "5"], "stepz"),
    (evaluate.main, ["{run}", "--episodes", "0"], "--episodes"),
    (evaluate.main, ["{run}", "--episodes", "many"], "--episodes"),
    (evaluate.main, ["{run}", "--gif", "{run}/no/such/folder/policy.gif"], "--gif"),
    (evaluate.main, ["{run}", "--gif", "{run}/policy.png"], "--gif"),
    (plot.main, ["{run}", "--out", "{run}/curve.txt"], "--out"),
    (plot.main, ["{run}", "{run}/checkpoints", "--out", "{run}/curves.png"], "not a run folder"),
    (plot.main, ["{run}", "--x", "time"], "--x"),
    (saliency.main, ["{run}"], "image observations"),
    (saliency.main, ["{run}", "--frames", "0"], "--frames"),
    (saliency.main, ["{run}", "--every", "-1"], "--every"),
]


def exit_code(main, argv: list[str]) -> int:
    """What the command returns, or exits with (argparse errors exit)."""
    try:
        return main(argv)
    except SystemExit as e:
        return int(e.code)


@pytest.mark.parametrize("main, argv, expected", REFUSALS, ids=[f"{m.__module__}:{' '.join(a[1:])}"
                                                                 for m, a, _ in REFUSALS])
def test_refusals_leave_the_run_folder_unchanged(tiny_run, capsys, main, argv, expected):
    before = snapshot(tiny_run)
    assert exit_code(main, [a.format(run=tiny_run) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and expected in err, err
    assert snapshot(tiny_run) == before


def test_a_hand_edited_bad_config_is_refused_by_resume_and_evaluate(tiny_run, tmp_path, capsys):
    import shutil

    copy = tmp_path / "edited"
    shutil.copytree(tiny_run, copy)
    text = (copy / "config.yaml").read_text()
    assert text.count("  gamma: 1.0\n") == 1  # the CliffWalking preset's
    (copy / "config.yaml").write_text(text.replace("  gamma: 1.0\n", "  gamma: 7\n"))
    before = snapshot(copy)
    for main, argv in ((run.main, ["--resume", str(copy)]), (evaluate.main, [str(copy)])):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: gamma must be in [0, 1], got 7") and "\n" not in err, err
        assert snapshot(copy) == before


@pytest.fixture(scope="module")
def tiny_dqn(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("runs") / "dqn"
    train({**DQN, "steps": 256, "learning_starts": 10_000, "buffer_size": 1_000, "workers": 1, "backend": "local",
           "hidden_sizes": (16,), "run_dir": str(run_dir)}, progress=False)
    return run_dir


def test_a_replay_too_big_for_the_machine_refuses_resume_and_evaluate_unchanged(tiny_dqn, monkeypatch, capsys):
    run_dir = tiny_dqn
    before = snapshot(run_dir)
    monkeypatch.setattr(config, "available_memory", lambda: 10_000)  # the replay needs 48,000 bytes
    with pytest.raises(ConfigError, match="use --set buffer_size=100$"):
        train({"steps": 512}, progress=False, resume=run_dir)
    capsys.readouterr()
    assert evaluate.main([str(run_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: replay of 1,000 transitions (buffer_size=1000) needs") and "\n" not in err, err
    assert snapshot(run_dir) == before


def test_a_frame_stack_that_does_not_fit_the_observations_is_one_line():
    from agentlab.dqn.config import DQNConfig
    from agentlab.dqn.learner import DQNLearner

    with pytest.raises(ConfigError) as error:
        DQNLearner(DQNConfig(frame_stack=4), gym.spaces.Box(-1, 1, (4,), np.float32), gym.spaces.Discrete(2), 0)
    assert "use --set frame_stack=0" in one_line(error, "frame_stack")


def test_yaml_file_values_are_typed_and_checked_like_set(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text("algo: dqn\nenv: CartPole-v1\nlr: 1e-3\nsteps: 1e5\nhidden_sizes: [32, 32]\n")
    run_cfg, algo_cfg, _ = resolve(config.load_yaml(good))
    assert (algo_cfg.lr, run_cfg.steps, algo_cfg.hidden_sizes) == (1e-3, 100_000, (32, 32))
    bad = tmp_path / "bad.yaml"
    bad.write_text("algo: dqn\nenv: CartPole-v1\ngamma: 1.5\n")
    assert run.main(["--config", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: gamma must be in [0, 1], got 1.5; use --set gamma=0.99"


@pytest.mark.parametrize("key, value", [("hidden_sizes", "[8]"), ("dueling", "true"), ("prioritized", "true"),
                                        ("encoder", "mlp")])
def test_a_resume_keeps_what_shapes_its_checkpoint(tiny_dqn, capsys, key, value):
    before = snapshot(tiny_dqn)
    assert run.main(["--resume", str(tiny_dqn), "--set", f"{key}={value}", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {key} is fixed for the life of a run") and "\n" not in err, err
    assert snapshot(tiny_dqn) == before


def test_a_resume_may_restate_a_fixed_setting_or_change_others(tiny_dqn):
    saved = runs.read_config(tiny_dqn)
    _, algo_cfg, _ = resolve({"hidden_sizes": "[16]", "encoder": "auto", "lr": "3e-4"}, saved)
    assert algo_cfg.hidden_sizes == (16,) and algo_cfg.lr == 3e-4


def test_a_new_run_into_a_folder_holding_a_run_is_refused_and_the_folder_kept(tmp_path):
    values = {"algo": "q_learning", "env": "agentlab/GridWorld-v0", "backend": "local", "steps": 300,
              "run_dir": str(tmp_path)}
    train(values, progress=False)  # an empty folder (tmp_path) is fine
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(ConfigError, match="--resume") as refused:
        train(values, progress=False)
    assert "\n" not in str(refused.value)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
