"""The preset table: every row cited, every key one the algorithm knows, an env without a row left alone."""

from __future__ import annotations

import dataclasses

import pytest

from agentlab import algorithms
from agentlab.config import RunConfig, split_overrides
from agentlab.presets import PRESETS, RAINBOW_FLAGS, preset


@pytest.mark.parametrize("row", PRESETS, ids=lambda row: f"{'+'.join(row.algos)}:{'|'.join(row.envs)}")
def test_every_row_cites_a_source_and_names_known_algorithms(row):
    assert row.source.strip() and "\n" not in row.source
    assert row.algos and set(row.algos) <= set(algorithms.REGISTRY)
    assert row.envs and all(row.envs) and row.values


@pytest.mark.parametrize("row", PRESETS, ids=lambda row: f"{'+'.join(row.algos)}:{'|'.join(row.envs)}")
def test_every_key_is_a_run_key_or_a_field_of_each_algorithms_config(row):
    run_keys = {f.name for f in dataclasses.fields(RunConfig)}
    for algo in row.algos:
        config_cls = algorithms.get(algo).config_cls
        algo_keys = {f.name for f in dataclasses.fields(config_cls)}
        assert set(row.values) <= run_keys | algo_keys, (algo, set(row.values) - run_keys - algo_keys)
        split_overrides(dict(row.values), config_cls)  # typed as resolve() types them; unknown keys raise


def test_an_env_without_a_row_gets_only_the_rows_for_every_env():
    assert preset("dqn", "Acrobot-v1") == {}
    assert preset("ppo", "LunarLander-v3") == {"fragment_length": 1024}  # SB3's 2,048 steps a rollout, 2 workers
    assert preset("a2c", "Acrobot-v1") == preset("a3c", "Acrobot-v1") == {"fragment_length": 5, "envs_per_worker": 8}
    assert preset("rainbow", "MountainCar-v0") == {**RAINBOW_FLAGS, "lr": 1e-3}
    assert preset("q_learning", "FrozenLake-v1") == {"fragment_length": 1, "workers": 1}
    assert preset("dyna_q", "agentlab/TMaze-v0") == {"fragment_length": 1, "workers": 1, "in_flight": 1}
    assert preset("not_an_algo", "CartPole-v1") == {}


def test_cartpole_a2c_is_the_zoo_setting_on_sb3s_mlp_policy():
    values = preset("a2c", "CartPole-v1")
    assert values["activation"] == "tanh" and values["shared_encoder"] is False
    assert values["fragment_length"] == 5 and values["workers"] * values["envs_per_worker"] == 8
    assert preset("a2c", "agentlab/MaskedCartPole-v1") == values  # the variants match the same rows
    # A3C: as many steps per gradient (8 envs × 5 steps) as one A2C update over both workers.
    assert preset("a3c", "CartPole-v1") == {**values, "envs_per_worker": 8}


def test_later_rows_build_on_earlier_ones():
    cliff = preset("dyna_q", "agentlab/CliffWalking-v0")
    assert cliff["alpha"] == 0.5 and cliff["in_flight"] == 1 and cliff["workers"] == 1
    maze = preset("dyna_q", "agentlab/ShortcutMaze-v0")
    assert maze == {"fragment_length": 1, "workers": 1, "in_flight": 1, "alpha": 0.1, "gamma": 0.95,
                    "epsilon": 0.1, "epsilon_decay": 1.0, "steps": 6000}
    atari = preset("rainbow", "ALE/Pong-v5")
    assert all(atari[key] == value for key, value in RAINBOW_FLAGS.items()) and atari["num_atoms"] == 51
    assert "double" not in preset("dqn", "ALE/Pong-v5")


def test_presets_are_fresh_dicts():
    preset("a2c", "CartPole-v1")["workers"] = 99
    assert preset("a2c", "CartPole-v1")["workers"] == 2
    assert preset("rainbow", "CartPole-v1") is not RAINBOW_FLAGS


def test_exploration_follows_the_budget_unless_set() -> None:
    from agentlab.train import resolve

    def decay(**values) -> int:
        return resolve({"algo": "dqn", "env": "Acrobot-v1", **values})[1].epsilon_decay_steps

    assert decay(steps=80_000) == 8_000 and decay(steps=2_000_000) == 200_000  # a tenth of the run
    assert decay(steps=80_000, epsilon_decay_steps=3) == 3  # the user's value wins
    assert resolve({"algo": "dqn", "env": "CartPole-v1", "steps": 1_000_000})[1].epsilon_decay_steps == 8_000  # a row


def test_the_learning_rate_decays_over_the_run_unless_set() -> None:
    from agentlab.train import resolve

    def algo(**values):
        return resolve({"algo": "dqn", "env": "Acrobot-v1", **values})[1]

    assert algo(steps=80_000).lr_decay_steps == 80_000 and algo(steps=80_000).lr_end == 1.0  # constant by default
    assert algo(steps=80_000, lr_decay_steps=5).lr_decay_steps == 5
    cartpole = resolve({"algo": "dqn", "env": "CartPole-v1", "steps": 50_000})[1]
    assert cartpole.lr_end == 0.1 and cartpole.lr_decay_steps == 50_000
