"""The tools a new user expects: best checkpoint, TensorBoard, GIFs, --seeds, rliable statistics, the end-of-run
summary, third-party env ids, Discrete observations for deep agents, and one-line errors for unsupported spaces."""

import json
import shlex
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from agentlab import evaluate, plot, run, runs, stats

TINY_DQN = ["--algo", "dqn", "--env", "CartPole-v1", "--backend", "local", "--workers", "1", "--quiet",
            "--set", "eval_every=400", "--set", "eval_episodes=2", "--set", "learning_starts=200",
            "--set", "fragment_length=100", "--set", "checkpoint_every=400"]


def one_line_error(capsys, argv, main=run.main) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    return err


# --- statistics on hand-made data -------------------------------------------------------------------------------

def test_iqm_trims_a_quarter_at_each_end():
    assert stats.iqm(np.arange(1.0, 9.0)) == pytest.approx(4.5)  # mean of 3, 4, 5, 6
    assert stats.iqm(np.array([0, 1, 2, 3, 4, 5, 6, 1000.0])) == pytest.approx(3.5)  # the outlier is cut
    assert stats.iqm(np.array([[4.0, 1, 3, 2], [10, 0, 0, 10]])) == pytest.approx([2.5, 5.0])  # per row
    summary = stats.summarize({"a": [0, 1, 2, 3, 4, 5, 6, 1000.0]}, resamples=200)
    assert summary["IQM"][0] == pytest.approx(3.5) and summary["median"][0] == pytest.approx(3.5)
    assert summary["mean"][0] == pytest.approx(1021 / 8)


def test_bootstrap_ci_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    covered = 0
    for trial in range(100):
        data = {"a": rng.normal(5.0, 1.0, 30), "b": rng.normal(5.0, 3.0, 30)}
        low, high = stats.stratified_bootstrap(data, stats.mean, resamples=500, seed=trial)
        covered += low <= 5.0 <= high
    assert 85 <= covered <= 100


def test_stratification_keeps_the_task_mix():
    # Two tasks of very different scale: a plain bootstrap mixes their counts and widens the interval.
    rng = np.random.default_rng(1)
    by_task = {"easy": rng.normal(0.0, 1.0, 10), "hard": rng.normal(100.0, 1.0, 10)}
    low, high = stats.stratified_bootstrap(by_task, stats.mean, resamples=2000)
    plain_low, plain_high = stats.stratified_bootstrap({"all": stats.pooled(by_task)}, stats.mean, resamples=2000)
    assert low <= np.mean(stats.pooled(by_task)) <= high
    assert (high - low) < 0.25 * (plain_high - plain_low)
    assert stats.stratified_bootstrap(by_task, stats.mean, seed=3) == stats.stratified_bootstrap(
        by_task, stats.mean, seed=3)


def test_performance_profile_by_hand():
    profile = stats.performance_profile({"a": [1, 2, 3, 4], "b": [10, 20]}, [0.0, 2.5, 15.0, 25.0])
    # a: 4/4, 2/4, 0, 0; b: 2/2, 2/2, 1/2, 0; each task weighs the same.
    assert profile == pytest.approx([1.0, 0.75, 0.25, 0.0])


def fake_run(root: Path, name: str, algo: str, env: str, score: float | None, returns: list[float] = ()) -> Path:
    run_dir = root / name
    run_dir.mkdir()
    runs.write_config(run_dir, {"algo": algo, "env": env, "seed": 0}, {})
    if score is not None:
        (run_dir / "eval.json").write_text(json.dumps({"mean_return": score, "std_return": 0.0, "episodes": 5}))
    log = runs.CsvLog(run_dir / "episodes.csv", runs.EPISODE_COLUMNS)
    for i, ret in enumerate(returns):
        log.write({"env_steps": i, "wall_time": 0.0, "worker": 0, "return": ret, "length": 1})
    log.close()
    return run_dir


def test_plot_stats_scores_runs_and_prints_the_table(tmp_path, capsys):
    dirs = [fake_run(tmp_path, f"r{i}", "dqn", "CartPole-v1", s) for i, s in enumerate([0, 1, 2, 3, 4, 5, 6, 1000])]
    # no eval.json: the mean of the last 10% of its 20 episode returns (the last two: 7 and 9)
    late = fake_run(tmp_path, "late", "ppo", "CartPole-v1", None, [0.0] * 18 + [7.0, 9.0])
    assert plot.run_score(late) == pytest.approx(8.0)
    out = tmp_path / "stats.png"
    assert plot.main([*map(str, dirs), str(late), "--stats", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    dqn = next(line for line in lines if line.startswith("dqn"))
    assert dqn.split()[1:3] == ["8", "1"] and "127.6" in dqn and "3.5 [" in dqn  # runs, envs, mean, IQM
    assert next(line for line in lines if line.startswith("ppo")).split()[3] == "8"
    assert out.stat().st_size > 10_000
    empty = fake_run(tmp_path, "empty", "dqn", "CartPole-v1", None)
    assert "no eval.json" in one_line_error(capsys, [str(empty), "--stats"], main=plot.main)


# --- a tiny DQN run: TensorBoard, best checkpoint, GIF ----------------------------------------------------------

@pytest.fixture(scope="module")
def dqn_run(tmp_path_factory) -> tuple[Path, str]:
    run_dir = tmp_path_factory.mktemp("dqn") / "cartpole"
    torch.set_num_threads(1)
    capture = pytest.MonkeyPatch()
    import io
    import sys

    err = io.StringIO()
    capture.setattr(sys, "stderr", err)
    try:
        assert run.main([*TINY_DQN, "--steps", "1200", "--run-dir", str(run_dir)]) == 0
    finally:
        capture.undo()
    return run_dir, err.getvalue()


def test_tensorboard_events_hold_the_csv_columns(dqn_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir, _ = dqn_run
    events = EventAccumulator(str(run_dir / "tb"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"episodes/return", "episodes/length", "metrics/loss", "metrics/steps_per_s", "metrics/return_mean",
            "evals/mean_return", "evals/std_return"} <= tags
    evals = runs.read_csv(run_dir / "evals.csv")
    scalars = events.Scalars("evals/mean_return")
    assert [e.step for e in scalars] == [int(s) for s in evals["env_steps"]]
    assert [e.value for e in scalars] == pytest.approx(evals["mean_return"], rel=1e-5)
    episodes = runs.read_csv(run_dir / "episodes.csv")
    assert [e.value for e in events.Scalars("episodes/return")] == pytest.approx(episodes["return"], rel=1e-5)


def test_a_resume_appends_events_and_hides_those_after_its_checkpoint(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = tmp_path / "cliff"
    argv = ["--algo", "q_learning", "--env", "agentlab/CliffWalking-v0", "--backend", "local", "--quiet"]
    assert run.main([*argv, "--steps", "2000", "--run-dir", str(run_dir), "--set", "checkpoint_every=500"]) == 0
    for late in runs.checkpoints(run_dir)[-2:]:  # as if the run had died just after step 1000
        late.unlink()
    assert run.main(["--resume", str(run_dir), "--quiet"]) == 0
    assert len(list((run_dir / "tb").glob("events.out.tfevents.*"))) == 2
    events = EventAccumulator(str(run_dir / "tb"))
    events.Reload()
    metrics = runs.read_csv(run_dir / "metrics.csv")
    logged = [int(s) for s, r in zip(metrics["env_steps"], metrics["return_mean"], strict=True) if r == r]
    assert [e.step for e in events.Scalars("metrics/return_mean")] == logged  # once each, in order


def test_a_resume_in_the_same_second_still_writes_an_event_file_read_after_the_old_one(tmp_path):
    import os
    import socket
    import time

    from agentlab.recorder import Recorder

    tb = tmp_path / "tb"
    tb.mkdir()
    # TensorBoard's names: second, host, pid, then a counter compared as text, where "999999" sorts after "1000000".
    old = tb / f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}.999999"
    old.write_bytes(b"")
    recorder = Recorder(tmp_path, total_steps=10, start_steps=5, progress=False, start_wall=0.0)
    recorder.tb.close()
    assert sorted(p.name for p in tb.iterdir())[0] == old.name


def test_best_checkpoint_is_the_best_evaluation(dqn_run):
    run_dir, _ = dqn_run
    evals = runs.read_csv(run_dir / "evals.csv")
    best = runs.load_checkpoint(run_dir / "checkpoints" / runs.BEST)
    top = int(np.argmax(evals["mean_return"]))  # the first of equal bests: a later one must beat it
    assert best["eval"]["mean_return"] == pytest.approx(evals["mean_return"][top], rel=1e-5)
    assert best["env_steps"] == int(evals["env_steps"][top])
    assert runs.BEST not in [p.name for p in runs.checkpoints(run_dir)]  # never a resume point


def rewrite_best(run_dir: Path, source: Path, score: float) -> dict[str, torch.Tensor]:
    """Make ``source`` (a checkpoint) the run's best, with an evaluation score of ``score``; its online weights."""
    state = runs.load_checkpoint(source)
    runs.save_best(run_dir, {"learner": state["learner"], "env_steps": state["env_steps"], "algo": "dqn",
                             "env": "CartPole-v1", "eval": {"mean_return": score, "std_return": 0.0, "episodes": 2}})
    return state["learner"]["online"]


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_evaluate_uses_best_unless_told_latest(dqn_run, tmp_path, capsys):
    import shutil

    run_dir = tmp_path / "copy"
    shutil.copytree(dqn_run[0], run_dir)
    oldest, *_, latest = runs.checkpoints(run_dir)
    best_weights = rewrite_best(run_dir, oldest, 1e9)
    latest_weights = runs.load_checkpoint(latest)["learner"]["online"]
    assert not same_weights(best_weights, latest_weights)
    assert same_weights(evaluate.load_run(run_dir)[3].online.state_dict(), best_weights)
    assert same_weights(evaluate.load_run(run_dir, "latest")[3].online.state_dict(), latest_weights)
    assert evaluate.main([str(run_dir), "--episodes", "1", "--checkpoint", "latest"]) == 0
    policy, best_net = evaluate.load_policy(run_dir), evaluate.load_run(run_dir)[3].online.eval()
    obs = np.random.default_rng(0).normal(0.0, 0.5, (20, 4)).astype(np.float32)
    with torch.no_grad():
        greedy = best_net.q_values(best_net(torch.as_tensor(obs))).argmax(1).numpy()
    assert [int(policy.act(o)) for o in obs] == greedy.tolist()
    (run_dir / "checkpoints" / runs.BEST).write_bytes(b"truncated")  # a corrupt best: auto falls back to latest
    assert same_weights(evaluate.load_run(run_dir)[3].online.state_dict(), latest_weights)
    assert "using the latest checkpoint" in capsys.readouterr().err
    assert "corrupt" in one_line_error(capsys, [str(run_dir), "--checkpoint", "best"], main=evaluate.main)
    (run_dir / "checkpoints" / runs.BEST).unlink()
    assert same_weights(evaluate.load_run(run_dir)[3].online.state_dict(), latest_weights)
    capsys.readouterr()
    err = one_line_error(capsys, [str(run_dir), "--checkpoint", "best"], main=evaluate.main)
    assert "no best checkpoint" in err and "--checkpoint latest" in err


def test_a_resume_keeps_the_best_unless_beaten(dqn_run, tmp_path):
    import shutil

    run_dir = tmp_path / "copy"
    shutil.copytree(dqn_run[0], run_dir)
    unbeatable = rewrite_best(run_dir, runs.checkpoints(run_dir)[0], 1e9)
    assert run.main([*TINY_DQN, "--resume", str(run_dir), "--steps", "1600"]) == 0
    best = runs.load_checkpoint(run_dir / "checkpoints" / runs.BEST)
    assert best["eval"]["mean_return"] == 1e9 and same_weights(best["learner"]["online"], unbeatable)
    rewrite_best(run_dir, runs.checkpoints(run_dir)[0], -1e9)
    assert run.main([*TINY_DQN, "--resume", str(run_dir), "--steps", "2000"]) == 0
    best = runs.load_checkpoint(run_dir / "checkpoints" / runs.BEST)
    evals = runs.read_csv(run_dir / "evals.csv")
    after = [r for s, r in zip(evals["env_steps"], evals["mean_return"], strict=True) if s > 1600]
    assert best["env_steps"] > 1600 and best["eval"]["mean_return"] == pytest.approx(max(after), rel=1e-5)


def test_gif_of_a_cartpole_episode(dqn_run, tmp_path, capsys):
    import shutil

    from PIL import Image

    run_dir = tmp_path / "copy"
    shutil.copytree(dqn_run[0], run_dir)
    rewrite_best(run_dir, runs.checkpoints(run_dir)[0], 1e9)  # an early policy: a short episode, a quick test
    gif = tmp_path / "cartpole.gif"
    capsys.readouterr()
    assert evaluate.main([str(run_dir), "--episodes", "1", "--gif", str(gif)]) == 0
    steps = json.loads(capsys.readouterr().out.splitlines()[-1])["mean_return"]  # CartPole: +1 a step
    with Image.open(gif) as image:  # Pillow merges identical frames and adds up their durations
        assert image.size == (600, 400) and image.n_frames > 1
        shown = 0
        for k in range(image.n_frames):
            image.seek(k)
            shown += image.info["duration"]
    assert shown == pytest.approx(steps * 125, rel=0.06)  # every step's frame at 8 a second (GIFs count in 10 ms)


class RandomActor:
    def __init__(self, space):
        self.space = space

    def initial_state(self, num_envs):
        return {}

    def act(self, obs, state, episode_start, explore=True):
        return [self.space.sample()], state, {}


class LeanActor:
    """Pushes the cart the way the pole leans: deterministic, with episodes of different lengths."""

    def __init__(self):
        self.batches: list[int] = []

    def initial_state(self, num_envs):
        return {}

    def act(self, obs, state, episode_start, explore=True):
        self.batches.append(len(obs))
        return (obs[:, 2] > 0).astype(np.int64), state, {}


def test_evaluation_in_waves_gives_the_returns_of_one_env_at_a_time():
    import envs

    one, waves = LeanActor(), LeanActor()
    alone = evaluate.run_episodes(one, [envs.make_eval("CartPole-v1")], 7, seed=3)
    beside = evaluate.run_episodes(waves, [envs.make_eval("CartPole-v1") for _ in range(3)], 7, seed=3)
    assert beside == alone and len(set(alone)) > 1  # episode k from seed 3 + k, whatever env plays it
    assert max(waves.batches) == 3 and waves.batches[-1] == 1  # waves of 3, 3 and 1 episodes
    # one act per step of a wave, as many as its longest episode (a CartPole return is its length)
    assert len(waves.batches) == max(alone[:3]) + max(alone[3:6]) + alone[6] < len(one.batches) == sum(alone)


@pytest.mark.parametrize("env_id", ["ALE/Pong-v5", "MinAtar/Breakout-v1", "Acrobot-v1", "agentlab/FourRooms-v0"])
def test_every_kind_of_env_draws_gif_frames(env_id, tmp_path):
    import envs

    evaluate.gif_env(env_id)  # the check evaluate --gif makes: it can draw
    env = envs.make_eval(env_id, render_mode="rgb_array", max_episode_steps=12)
    env.action_space.seed(0)
    frames: list = []
    evaluate.run_episodes(RandomActor(env.action_space), [env], 1, seed=0, frames=frames)
    assert 1 <= len(frames) <= 12
    assert all(f.ndim == 3 and f.shape[2] == 3 and f.dtype == np.uint8 for f in frames)
    evaluate.write_gif(frames, tmp_path / "episode.gif")
    from PIL import Image

    with Image.open(tmp_path / "episode.gif") as image:
        assert image.size == (frames[0].shape[1], frames[0].shape[0])


def test_an_env_that_cannot_draw_is_one_line(toy_module):
    from agentlab.config import ConfigError

    with pytest.raises(ConfigError, match="cannot draw frames .* without --gif"):
        evaluate.gif_env(f"{toy_module}:ToyLine-v0")


def test_end_of_run_summary_names_the_folder_eval_and_commands(dqn_run):
    run_dir, err = dqn_run
    assert f"run folder: {run_dir}" in err and "final eval: mean return" in err and "best checkpoint" in err
    for command in ("python -m agentlab.evaluate", "python -m agentlab.plot", "python -m agentlab.run --resume"):
        assert f"{command} {shlex.quote(str(run_dir))}" in err


# --- --seeds -----------------------------------------------------------------------------------------------------

def test_seeds_make_one_folder_each_and_the_printed_resume_works(tmp_path, capsys):
    base = tmp_path / "cliff"
    assert run.main(["--algo", "q_learning", "--env", "agentlab/CliffWalking-v0", "--steps", "600", "--backend",
                     "local", "--run-dir", str(base), "--seeds", "3", "1", "--quiet"]) == 0
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert [line["run_dir"] for line in lines] == [f"{base}_s3", f"{base}_s1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cliff_s1", "cliff_s3"]
    assert runs.read_config(f"{base}_s3")["run"]["seed"] == 3 and runs.read_config(f"{base}_s1")["run"]["seed"] == 1
    assert f"python -m agentlab.plot {base}_s3 {base}_s1 --stats" in captured.err
    resume = next(line for line in captured.err.splitlines() if "--resume" in line and f"{base}_s1" in line)
    argv = shlex.split(resume.split("python -m agentlab.run", 1)[1])
    assert run.main([*argv, "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["env_steps"] == 1200


@pytest.mark.parametrize("argv, expected", [
    (["--seeds", "0", "1", "--resume", "/tmp"], "--seeds starts new runs"),
    (["--algo", "q_learning", "--seeds", "0", "0"], "repeats a seed"),
    (["--algo", "q_learning", "--seeds", "0", "1", "--seed", "2"], "--seeds and --seed"),
    (["--algo", "q_learning", "--seeds", "0", "-1", "--backend", "local"], "seed"),
])
def test_bad_seeds_are_one_line_errors(capsys, argv, expected):
    assert expected in one_line_error(capsys, argv)
    with pytest.raises(SystemExit) as exit_:
        run.main(["--algo", "q_learning", "--seeds", "zero"])
    assert exit_.value.code == 2 and "--seeds: invalid int value" in capsys.readouterr().err


# --- env ids and observation spaces ------------------------------------------------------------------------------

TOY_MODULE = '''
import gymnasium as gym
import numpy as np
from gymnasium import spaces


class Line(gym.Env):
    """Five cells in a row; action 1 steps right, 0 left; reward 1 on reaching the right end."""

    def __init__(self, obs="box", act="discrete"):
        self.obs_kind = obs
        self.observation_space = {
            "box": spaces.Box(0.0, 4.0, (1,), np.float32),
            "dict": spaces.Dict({"x": spaces.Discrete(5)}),
            "tuple": spaces.Tuple((spaces.Discrete(5), spaces.Discrete(2))),
            "multibinary": spaces.MultiBinary(5),
            "text": spaces.Text(5),
        }[obs]
        self.action_space = spaces.Discrete(2) if act == "discrete" else spaces.Box(-1.0, 1.0, (1,), np.float32)

    def _obs(self):
        if self.obs_kind == "box":
            return np.array([self.x], np.float32)
        if self.obs_kind == "dict":
            return {"x": self.x}
        if self.obs_kind == "tuple":
            return (self.x, 0)
        if self.obs_kind == "text":
            return str(self.x)
        return (np.arange(5) == self.x).astype(np.int8)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.x = 0
        return self._obs(), {}

    def step(self, action):
        right = action > 0 if np.ndim(action) == 0 else action[0] > 0
        self.x = min(4, max(0, self.x + (1 if right else -1)))
        return self._obs(), float(self.x == 4), self.x == 4, False, {}


gym.register("ToyLine-v0", entry_point=Line, max_episode_steps=30)
for kind in ("dict", "tuple", "multibinary", "text"):
    gym.register(f"ToyLine{kind.title()}-v0", entry_point=Line, kwargs={"obs": kind}, max_episode_steps=30)
gym.register("ToyLineBoxAction-v0", entry_point=Line, kwargs={"act": "box"}, max_episode_steps=30)
'''


@pytest.fixture
def toy_module(tmp_path, monkeypatch) -> str:
    (tmp_path / "agentlab_toy_envs.py").write_text(textwrap.dedent(TOY_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    return "agentlab_toy_envs"


def test_module_colon_env_id_imports_the_module_that_registers_it(toy_module, tmp_path, capsys):
    run_dir = tmp_path / "toy"
    assert run.main(["--algo", "dqn", "--env", f"{toy_module}:ToyLine-v0", "--steps", "300", "--backend", "local",
                     "--workers", "1", "--run-dir", str(run_dir), "--quiet", "--set", "learning_starts=100"]) == 0
    assert runs.read_config(run_dir)["run"]["env"] == f"{toy_module}:ToyLine-v0"
    assert evaluate.main([str(run_dir), "--episodes", "1"]) == 0
    capsys.readouterr()
    err = one_line_error(capsys, ["--algo", "dqn", "--env", "no_such_module_here:Toy-v0", "--backend", "local"])
    assert "importing module 'no_such_module_here' failed" in err


@pytest.mark.parametrize("env_id, algo", [("ToyLineDict-v0", "dqn"), ("ToyLineTuple-v0", "ppo"),
                                          ("ToyLineTuple-v0", "q_learning"), ("ToyLineMultibinary-v0", "a2c")])
def test_composite_observations_train_and_evaluate(toy_module, tmp_path, capsys, env_id, algo):
    run_dir = tmp_path / "toy"
    assert run.main(["--algo", algo, "--env", f"{toy_module}:{env_id}", "--steps", "300", "--backend", "local",
                     "--workers", "1", "--run-dir", str(run_dir), "--quiet"]) == 0
    assert evaluate.main([str(run_dir), "--episodes", "1"]) == 0


@pytest.mark.parametrize("env_id, named", [
    ("ToyLineText-v0", "observation space Text"),
    ("ToyLineBoxAction-v0", "Discrete actions, got Box"),
])
def test_unsupported_spaces_are_one_line_errors(toy_module, tmp_path, capsys, env_id, named):
    err = one_line_error(capsys, ["--algo", "dqn", "--env", f"{toy_module}:{env_id}", "--backend", "local",
                                  "--run-dir", str(tmp_path / "never")])
    assert named in err
    assert not (tmp_path / "never").exists()


def test_dqn_learns_a_gridworld_from_one_hot_discrete_observations(tmp_path):
    from agentlab.train import train

    torch.set_num_threads(1)
    result = train({"algo": "dqn", "env": "agentlab/GridWorld-v0", "steps": 2000, "backend": "local", "workers": 1,
                    "eval_episodes": 1, "run_dir": str(tmp_path / "grid"), "learning_starts": 200, "gamma": 0.9,
                    "epsilon_decay_steps": 1000, "target_update_period": 100, "replay_ratio": 1.0}, progress=False)
    assert result.eval["mean_return"] >= -20  # an untrained greedy policy wanders until the 100-step limit: -100


@pytest.mark.parametrize("algo", ["rainbow", "a2c", "a3c", "ppo"])
def test_deep_agents_take_discrete_observations_one_hot(algo, tmp_path):
    from agentlab.train import train

    torch.set_num_threads(1)
    result = train({"algo": algo, "env": "FrozenLake-v1", "steps": 200, "backend": "local", "workers": 1,
                    "eval_episodes": 1, "run_dir": str(tmp_path / algo)}, progress=False)
    assert result.env_steps >= 200 and 0.0 <= result.eval["mean_return"] <= 1.0

    def weights(state):
        for key, value in state.items():
            if isinstance(value, dict):
                yield from weights(value)
            elif key.endswith("weight") and isinstance(value, torch.Tensor) and value.ndim == 2:
                yield value

    assert 16 in {w.shape[1] for w in weights(result.learner.state_dict())}  # a layer reads the 16 states one-hot


@pytest.mark.slow
def test_seeds_side_by_side_as_ray_tasks(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    monkeypatch.chdir(tmp_path)  # a relative --run-dir: the tasks write under the driver's directory all the same
    assert run.main(["--algo", "dqn", "--env", "CartPole-v1", "--steps", "600", "--workers", "1", "--run-dir",
                     "cp", "--seeds", "0", "1", "--quiet", "--set", "eval_every=300", "--set", "eval_episodes=2",
                     "--set", "learning_starts=100"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [Path(line["run_dir"]) for line in lines] == [tmp_path / "cp_s0", tmp_path / "cp_s1"]
    for seed in (0, 1):
        assert runs.read_config(tmp_path / f"cp_s{seed}")["run"]["seed"] == seed
        assert (tmp_path / f"cp_s{seed}" / "checkpoints" / runs.BEST).is_file()
        assert list((tmp_path / f"cp_s{seed}" / "tb").glob("events.out.tfevents.*"))
