"""Published tuned settings, one table for every algorithm (as rl-baselines3-zoo keeps its YAML files).

Each row of ``PRESETS`` names the ``--algo`` names and the env ids it applies to, the run and algorithm keys
it sets, and ``source``: where the values come from. ``preset(algo, env_id)`` applies every matching row in
table order, a later row overriding an earlier one's keys; the user's config file and ``--set`` override
the result. An env without a row gets the algorithm's config defaults (and any row that matches every env,
such as A2C's 5-step fragments).

Plain Python, no torch: ``--algo q_learning`` resolves its preset without importing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any


@dataclass(frozen=True)
class Preset:
    algos: tuple[str, ...]
    """The ``--algo`` names the row applies to."""
    envs: tuple[str, ...]
    """Env id patterns (``fnmatch``, case-sensitive): ``*CartPole*``, ``ALE/*``; ``*`` matches every env."""
    values: Mapping[str, Any]
    """Run keys (``RunConfig`` fields) and algorithm keys (fields of each algorithm's config)."""
    source: str
    """Where the values come from, one line: a paper's table, a zoo file, or our own tuning runs."""

    def matches(self, algo: str, env_id: str) -> bool:
        return algo in self.algos and any(fnmatchcase(env_id, pattern) for pattern in self.envs)


BOARD_GAMES = ("pettingzoo.classic.*",)
"""PettingZoo's classic games, named by module path."""

TABULAR = ("q_learning", "sarsa", "expected_sarsa", "double_q")
"""The tabular TD control rules of ``agentlab.tabular``."""

RAINBOW_FLAGS: dict[str, Any] = dict(
    double=True, dueling=True, noisy=True, distributional=True, prioritized=True, n_step=3
)
"""The six Rainbow components on top of DQN (Hessel et al. 2018, Sec. 3)."""

NO_NORMALIZATION: dict[str, Any] = {"normalize_obs": False, "normalize_reward": False}
"""The actor-critics' observation and reward normalisation off: for rows whose source trains on raw inputs."""

CONSTANT_LR: dict[str, Any] = {"lr_end": 1.0}
"""A2C's learning rate held constant (its default falls to 0 over the run): for rows measured that way."""

BOOK_MAZES = ("agentlab/DynaMaze-v0", "agentlab/BlockingMaze-v0", "agentlab/ShortcutMaze-v0")
"""The mazes of Sutton & Barto 2018, chapter 8."""

EVERY_ENV = ("*",)
CARTPOLE = ("*CartPole*",)  # CartPole-v1 and its variants (agentlab/MaskedCartPole-v1)
ATARI = ("ALE/*",)
MINATAR = ("MinAtar/*",)

PRESETS: tuple[Preset, ...] = (
    # Tabular TD control and Dyna-Q: online updates (one step per fragment).
    Preset(TABULAR + ("dyna_q",), EVERY_ENV, {"fragment_length": 1, "workers": 1},
           "Sutton & Barto 2018, chapter 6: tabular TD control updates online, one step at a time"),
    Preset(TABULAR + ("dyna_q",), ("*CliffWalking*",),
           {"alpha": 0.5, "gamma": 1.0, "epsilon": 0.1, "epsilon_decay": 1.0, "steps": 20_000},
           "Sutton & Barto 2018, Example 6.6 (Cliff Walking)"),
    # One sample in flight, so that with Ray too the actor acts on the table that includes the last step's
    # planning (as local runs do; with two in flight Dyna-Q+ on the shortcut maze found no goal in 1,500
    # steps, against 38 episodes).
    Preset(("dyna_q",), EVERY_ENV, {"in_flight": 1},
           "agentlab tuning: Ray runs of Dyna-Q+ on the shortcut maze match local ones only with one in flight"),
    Preset(("dyna_q",), BOOK_MAZES, {"alpha": 0.1, "gamma": 0.95, "epsilon": 0.1, "epsilon_decay": 1.0},
           "Sutton & Barto 2018, Example 8.1 (Dyna Maze)"),
    # Run length of each of the book's experiments: Figure 8.2's 50 episodes, Figures 8.4 and 8.5's time steps.
    Preset(("dyna_q",), ("agentlab/DynaMaze-v0",), {"episodes": 50}, "Sutton & Barto 2018, Figure 8.2"),
    Preset(("dyna_q",), ("agentlab/BlockingMaze-v0",), {"steps": 3000}, "Sutton & Barto 2018, Figure 8.4"),
    Preset(("dyna_q",), ("agentlab/ShortcutMaze-v0",), {"steps": 6000}, "Sutton & Barto 2018, Figure 8.5"),
    # DQN.
    # After rl-baselines3-zoo's DQN settings: bursts of 128 updates every 256 steps (one fragment), the target
    # refreshed once per burst (SB3 copies it every 10 env steps, all between bursts). The rate decays linearly
    # to a tenth over the run: at a constant rate 3 of 5 seeds ended the 50k budget below 475 after solving.
    Preset(("dqn",), CARTPOLE, dict(
        lr=2.3e-3, lr_end=0.1, batch_size=64, buffer_size=100_000, learning_starts=1_024, replay_ratio=0.5,
        target_update_period=128, epsilon_decay_steps=8_000, epsilon_end=0.04, apex_epsilon=0.04,
        hidden_sizes=(256, 256), fragment_length=256,
        # C51's support when the ablation turns it on: returns ≤ 1/(1 − γ)
        v_min=0.0, v_max=100.0, support_spacing="linear",
    ), "rl-baselines3-zoo hyperparams/dqn.yml CartPole-v1; rate decayed to a tenth (agentlab tuning, 5 seeds)"),
    # Adam stands in for the paper's RMSProp (lr 2.5e-4); ε-decay and replay start count agent steps.
    Preset(("dqn",), ATARI, dict(
        lr=1e-4, adam_eps=1.5e-4, batch_size=32, buffer_size=1_000_000, learning_starts=50_000,
        replay_ratio=0.25, target_update_period=10_000, epsilon_start=1.0, epsilon_end=0.1,
        epsilon_decay_steps=1_000_000, encoder="nature_cnn", head_hidden=(), loss="huber",
        steps=10_000_000,
    ), "Mnih et al. 2015 (Nature DQN), Extended Data Table 1"),
    # Young & Tian 2019 (MinAtar), Sec. 4 and their examples/dqn.py: conv 16 3×3 → 128, replay 100k,
    # batch 32, one update per step, target every 1,000, replay start 5,000, ε 1 → 0.1 over the first
    # 100k steps, Huber loss, γ 0.99, 5M steps (frames: MinAtar has no frame skip). Their RMSprop
    # (lr 2.5e-4, squared-gradient momentum 0.95, min 0.01) has Adam standing in, as in the Atari preset.
    Preset(("dqn",), MINATAR, dict(
        lr=2.5e-4, adam_eps=3.125e-4, batch_size=32, buffer_size=100_000, learning_starts=5_000,
        replay_ratio=1.0, target_update_period=1_000, epsilon_start=1.0, epsilon_end=0.1, apex_epsilon=0.1,
        epsilon_decay_steps=100_000, encoder="minatar_cnn", head_hidden=(), loss="huber", gamma=0.99,
        steps=5_000_000,
    ), "Young & Tian 2019 (MinAtar), Sec. 4 and examples/dqn.py"),
    # Rainbow: all components on, on every env.
    Preset(("rainbow",), EVERY_ENV, RAINBOW_FLAGS, "Hessel et al. 2018, Sec. 3: the six components"),
    Preset(("rainbow",), EVERY_ENV, {"lr": 1e-3},
           "ours: Rainbow's defaults on Acrobot, MountainCar and LunarLander (docs/benchmarks.md, classic control)"),
    # Tuned on 5 seeds: (256,) hidden layers solved all five, (128,) stalled near 150 on one in five. Batches of 32
    # (the paper's) solved the five at a median 10k env steps where 64 took 12k, at half the cost per update.
    Preset(("rainbow",), CARTPOLE, dict(
        lr=1e-3, adam_eps=1e-8, batch_size=32, buffer_size=50_000, learning_starts=1_000,
        replay_ratio=0.5, target_update_period=250, v_min=0.0, v_max=100.0, num_atoms=51, support_spacing="linear",
        hidden_sizes=(256,), head_hidden=(256,), beta_steps=25_000, fragment_length=16,
    ), "agentlab tuning on CartPole-v1, 5 seeds"),
    # Frames = 4 env steps.
    Preset(("rainbow",), ATARI, dict(
        lr=6.25e-5, adam_eps=1.5e-4, batch_size=32, buffer_size=1_000_000,
        learning_starts=20_000,  # 80k frames
        replay_ratio=0.25,  # one update every 4 steps
        target_update_period=2_000,  # 32k frames = 8k env steps = 2k learner steps
        v_min=-10.0, v_max=10.0, num_atoms=51, support_spacing="linear", noisy_sigma0=0.5, alpha=0.5, beta0=0.4,
        beta_steps=2_500_000,  # β → 1 over training: 10M env steps = 2.5M learner steps
        encoder="nature_cnn_torso", head_hidden=(512,), steps=10_000_000,
    ), "Hessel et al. 2018, Table 1 (Atari)"),
    # Their Dopamine gin files: the MinAtar network (conv 16 3×3 → 128) under noisy dueling C51 heads, 3-step
    # returns, replay 100k, batch 32, an update every 4 steps, replay start 1,000, target every 1,000 steps
    # (= 250 updates here, which count learner steps), Adam lr 1e-4, ε 3.125e-4. Returns are not clipped in
    # MinAtar: the support spans ±100.
    Preset(("rainbow",), MINATAR, dict(
        lr=1e-4, adam_eps=3.125e-4, batch_size=32, buffer_size=100_000, learning_starts=1_000,
        replay_ratio=0.25, target_update_period=250, v_min=-100.0, v_max=100.0, num_atoms=51, support_spacing="linear",
        beta_steps=1_250_000, encoder="minatar_cnn", head_hidden=(), steps=5_000_000,
    ), "Obando-Ceron & Castro 2021, Revisiting Rainbow, MinAtar setting (Dopamine gin files)"),
    # A2C and A3C: 5-step fragments of 8 envs per worker everywhere (16 envs with the 2 default workers). With one
    # env per worker, Acrobot-v1 stayed at −500 for 100k steps; with 8 it reached −77 (tanh, separate value net).
    Preset(("a2c", "a3c"), EVERY_ENV, {"fragment_length": 5, "envs_per_worker": 8},
           "Mnih et al. 2016: t_max = 5 steps per update, 16 actor-learners (Stable-Baselines3's A2C n_steps)"),
    # rl-baselines3-zoo's A2C setting (8 envs, 5 steps, no entropy bonus) on Stable-Baselines3's MLP
    # policy: tanh, a value network of its own, orthogonal init. The shared ReLU trunk needed ~7× more env
    # steps (median of 5 seeds), and on seed 0 changing only one of the two did not solve within 200k;
    # PyTorch's default init needed 2.5× SB3's steps (median of 20 seeds), orthogonal init 0.8× (10 seeds).
    Preset(("a2c", "a3c"), CARTPOLE, {"workers": 2, "envs_per_worker": 4, "activation": "tanh",
                                      "shared_encoder": False, "orthogonal_init": True, "entropy_coef": 0.0,
                                      "steps": 300_000, **NO_NORMALIZATION, **CONSTANT_LR},
           "rl-baselines3-zoo hyperparams/a2c.yml CartPole-v1, on SB3's MlpPolicy"),
    # A3C gets 8 envs per worker so each gradient averages as many steps (40) as an A2C update.
    Preset(("a3c",), CARTPOLE, {"envs_per_worker": 8},
           "agentlab: as many steps per A3C gradient (40) as per A2C update"),
    Preset(("a2c", "a3c"), ATARI, {"workers": 2, "envs_per_worker": 8, "learning_rate": 7e-4,
                                   "optimizer": "rmsprop", "rms_alpha": 0.99, "eps": 1e-5, "entropy_coef": 0.01,
                                   "value_coef": 0.5, "max_grad_norm": 0.5, "shared_encoder": True,
                                   "steps": 10_000_000, **NO_NORMALIZATION, **CONSTANT_LR},
           "Mnih et al. 2016 via OpenAI Baselines' A2C on Atari (16 envs, RMSprop, one network for both heads)"),
    # The Atari setting above (Mnih et al. 2016 via Baselines) on the MinAtar paper's network, conv 16 3×3
    # → 128 (Young & Tian 2019), shared by both heads; 16 envs, 5M steps (that paper's budget).
    Preset(("a2c", "a3c"), MINATAR, {"workers": 2, "envs_per_worker": 8, "learning_rate": 7e-4,
                                     "optimizer": "rmsprop", "rms_alpha": 0.99, "eps": 1e-5, "entropy_coef": 0.01,
                                     "value_coef": 0.5, "max_grad_norm": 0.5, "encoder": "minatar_cnn",
                                     "shared_encoder": True, "steps": 5_000_000, **NO_NORMALIZATION, **CONSTANT_LR},
           "Mnih et al. 2016 via Baselines, on Young & Tian 2019's MinAtar network and budget"),
    # PPO.
    # Stable-Baselines3's PPO default: 2,048 steps per rollout (n_steps), here 2 workers × 1,024. With the run-wide
    # 32-step fragments (64 per update, 10 epochs of 64) LunarLander-v3 ended at −147.9 after 1M steps; with 2,048
    # at 103.5 after 300k (seed 0).
    Preset(("ppo",), EVERY_ENV, {"fragment_length": 1024},
           "Stable-Baselines3's PPO defaults: n_steps = 2,048 per update"),
    # 8 envs × 32 steps, batch 256, 20 epochs, γ 0.98, λ 0.8, no entropy bonus, lr lin_1e-3 and clip lin_0.2
    # over 1e5 steps, SB3's MlpPolicy.
    Preset(("ppo",), CARTPOLE, {"workers": 2, "envs_per_worker": 4, "fragment_length": 32, "minibatch_size": 256,
                                "epochs": 20, "gamma": 0.98, "gae_lambda": 0.8, "entropy_coef": 0.0,
                                "learning_rate": 1e-3, "clip_range": 0.2, "anneal_steps": 100_000,
                                "anneal_clip": True, "steps": 100_000, **NO_NORMALIZATION},
           "rl-baselines3-zoo hyperparams/ppo.yml CartPole-v1"),
    # Pgx's MinAtar PPO example (Koyamada et al. 2023, after PureJaxRL; examples/minatar-ppo/train.py):
    # 128-step rollouts, 3 epochs, γ 0.99, λ 0.95, clip 0.2 for the ratio and the value, entropy 0.01,
    # c1 0.5 on a halved squared error (0.25 on ours), Adam 3e-4 constant, gradient norm 0.5. They run
    # 4,096 envs with minibatches of 4,096; here 16 envs (2 workers × 8) give 2,048-step rollouts in 8
    # minibatches of 256. The network is the MinAtar paper's (conv 16 3×3 → 128, Young & Tian 2019)
    # shared by both heads; 5M steps is that paper's budget.
    Preset(("ppo",), MINATAR, {"workers": 2, "envs_per_worker": 8, "fragment_length": 128, "minibatch_size": 256,
                               "epochs": 3, "gamma": 0.99, "gae_lambda": 0.95, "clip_range": 0.2,
                               "value_clip": 0.2, "entropy_coef": 0.01, "value_coef": 0.25, "learning_rate": 3e-4,
                               "encoder": "minatar_cnn", "shared_encoder": True, "steps": 5_000_000,
                               **NO_NORMALIZATION},
           "Pgx examples/minatar-ppo/train.py (Koyamada et al. 2023, after PureJaxRL), on 16 envs"),
    # 8 actors × 128 steps, 3 epochs of minibatches 32 × 8 = 256, Adam lr 2.5e-4·α and clip 0.1·α with α
    # annealed 1 → 0, γ 0.99, λ 0.95, c1 1.0, c2 0.01; 10M steps (40M frames). Nature CNN shared by policy
    # and value; gradient norm 0.5 as in the Baselines code.
    Preset(("ppo",), ATARI, {"workers": 2, "envs_per_worker": 4, "fragment_length": 128, "minibatch_size": 256,
                             "epochs": 3, "gamma": 0.99, "gae_lambda": 0.95, "learning_rate": 2.5e-4,
                             "clip_range": 0.1, "anneal_steps": 10_000_000, "anneal_clip": True, "value_coef": 1.0,
                             "entropy_coef": 0.01, "encoder": "nature_cnn", "shared_encoder": True,
                             "steps": 10_000_000, **NO_NORMALIZATION},
           "Schulman et al. 2017, Table 5 (Atari)"),
    # Self-play on PettingZoo's board games: in self-play the opponent's ε is part of the env the values are learnt
    # against, so exploration is long (half of a 200k budget) and ends near greedy.
    Preset(("dqn", "rainbow") + TABULAR, BOARD_GAMES, {"envs_per_worker": 8, "fragment_length": 4},
           "ours: 8 games a worker, each agent's turns shipped 4 at a time (benchmarks/games.py)"),
    Preset(("dqn",), BOARD_GAMES, {"epsilon_decay_steps": 100_000, "epsilon_end": 0.2, "double": True,
                                   "apex_epsilon": 0.02, "lr": 1e-3, "lr_end": 0.0, "random_opening": 4},
           "ours: self-play tic-tac-toe, 0 losses to minimax in both seats (docs/benchmarks.md, issue 11); an Ape-X "
           "floor of 0.4 on one worker made its games' opponent 40% random (29 losses with 2 Ray workers); the "
           "policies that still lost had never learnt positions three plies in that their own openings avoid, which "
           "exploring starts (random_opening) and ε 0.2 reach"),
    Preset(TABULAR, BOARD_GAMES, {"alpha": 0.5, "epsilon": 0.3, "epsilon_decay": 0.99992, "epsilon_min": 0.05,
                                  "q_init": 0.5, "optimism_apart": True, "random_opening": 2},
           "ours: self-play tic-tac-toe, optimistic values and ε 0.3 → 0.05 (docs/benchmarks.md, issue 11); with 16 "
           "games (2 workers) and no openings it lost to minimax as second player on every seed; with exploring "
           "starts of up to 2 random moves 6 of 9 Ray runs and 5 of 6 local seeds lost none; the moves still lost "
           "were rarely tried ones valued at what was left of q_init, which greedy play now counts against them "
           "(optimism_apart)"),
)
"""Every tuned setting; ``preset`` applies the rows matching an (algo, env id) pair in this order."""


def preset(algo: str, env_id: str) -> dict[str, Any]:
    """Run and algorithm keys for ``algo`` on ``env_id``; the user's config and ``--set`` override them."""
    values: dict[str, Any] = {}
    for row in PRESETS:
        if row.matches(algo, env_id):
            values.update(row.values)
    return values
