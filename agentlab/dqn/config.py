"""Hyperparameters of the DQN family, and the presets of ``--algo dqn`` and ``--algo rainbow``.

Defaults are DQN (Mnih et al. 2015) with every Rainbow component off; Rainbow (Hessel et al. 2018) is
the same config with the flags on (``RAINBOW_FLAGS``), not a subclass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentlab.config import MemorySettings, invalid, names_in, setting


@dataclass
class DQNConfig(MemorySettings):
    lr: float = setting(1e-3, gt=0)
    """Adam learning rate."""
    adam_eps: float = setting(1e-8, gt=0)
    """Adam's ε (Rainbow uses 1.5e-4, i.e. 0.01 / batch size)."""
    gamma: float = setting(0.99, ge=0, le=1)
    """Discount factor."""
    batch_size: int = setting(64, ge=1)
    """Transitions per learner step."""
    buffer_size: int = setting(100_000, ge=1)
    """Replay capacity in transitions."""
    checkpoint_replay: str = setting("auto", choices=("auto", "on", "off"))
    """Save the replay's contents in checkpoints (``auto``: when the buffer takes at most a quarter of the RAM)."""
    learning_starts: int = setting(1_000, ge=0)
    """Env steps collected before the first learner step."""
    replay_ratio: float = setting(0.25, gt=0)
    """Learner steps per env step after ``learning_starts`` (0.25: one update every 4 steps)."""
    target_update_period: int = setting(500, ge=1)
    """Learner steps between target-network updates."""
    tau: float = setting(1.0, gt=0, le=1)
    """Polyak weight of each target update: θ' ← τθ + (1 − τ)θ' (1.0: hard copy)."""
    epsilon_start: float = setting(1.0, ge=0, le=1)
    """ε of the ε-greedy behaviour policy at the first env step."""
    epsilon_end: float = setting(0.05, ge=0, le=1)
    """ε after the linear decay."""
    epsilon_decay_steps: int = setting(10_000, ge=0)
    """Env steps (all workers) over which ε decays linearly from ``epsilon_start`` to ``epsilon_end``."""
    apex_epsilon: float = setting(0.4, ge=0, le=1)
    """Ape-X base ε: with N > 1 workers, worker i's ε never drops below ε^(1 + 7i/(N − 1))."""
    double: bool = False
    """Double Q-learning target: the online net picks argmax_a at s', the target net evaluates it."""
    dueling: bool = setting(False, fixed=True)
    """Dueling head: Q = V + A − aggregate(A) (Wang et al. 2016)."""
    dueling_aggregate: str = setting("mean", choices=("mean", "max"))
    """How the dueling head centres the advantages: ``mean`` or ``max``."""
    noisy: bool = setting(False, fixed=True)
    """Factorised-Gaussian noisy linear layers in the head, instead of ε-greedy (Fortunato et al. 2018)."""
    noisy_sigma0: float = setting(0.5, ge=0)
    """σ₀ of noisy layers: σ is initialised to σ₀/√fan_in."""
    distributional: bool = setting(False, fixed=True)
    """C51 categorical return distribution with a cross-entropy loss (Bellemare et al. 2017)."""
    num_atoms: int = setting(51, ge=2, fixed=True)
    """Atoms of the categorical support."""
    v_min: float = -10.0
    """Lowest atom of the support."""
    v_max: float = 10.0
    """Highest atom of the support."""
    prioritized: bool = setting(False, fixed=True)
    """Proportional prioritized replay (Schaul et al. 2016)."""
    alpha: float = setting(0.5, ge=0)
    """Priority exponent: P(i) ∝ p_i^α."""
    beta0: float = setting(0.4, ge=0, le=1)
    """Initial importance-sampling exponent, annealed linearly to 1."""
    beta_steps: int = setting(100_000, ge=0)
    """Replay samples (learner steps) over which β reaches 1."""
    priority_eps: float = setting(1e-6, gt=0)
    """Added to every priority so that no transition becomes unsampleable."""
    n_step: int = setting(1, ge=1)
    """Steps of the multi-step return."""
    loss: str = setting("huber", choices=("huber", "mse"))
    """TD loss of non-distributional heads: ``huber`` (δ = 1, Nature DQN's error clipping) or ``mse``."""
    max_grad_norm: float = setting(10.0, ge=0)
    """Clip the gradient's global norm to this (0: no clipping)."""
    encoder: str = setting("auto", choices=names_in("agentlab.encoders:ENCODERS", first=["auto"]), fixed=True)
    """Observation encoder (``agentlab.encoders``): auto, mlp, nature_cnn, nature_cnn_torso, ..."""
    hidden_sizes: tuple[int, ...] = setting((128, 128), ge=1, fixed=True)
    """Hidden layer sizes of the ``mlp`` encoder."""
    encoder_weights: str = ""
    """Path to a state dict for the encoder body, loaded before training; empty: random init."""
    freeze_encoder: bool = setting(False, fixed=True)
    """Keep the encoder's parameters fixed: requires_grad off and excluded from the optimizer."""
    head_hidden: tuple[int, ...] = setting((), ge=1, fixed=True)
    """Hidden layer sizes of each head stream (noisy when ``noisy``), between encoder and outputs."""
    frame_stack: int = setting(-1, ge=-1, fixed=True)
    """Frames per stacked observation, stored once in replay (-1: 4 for Atari images, else off; 0: off)."""
    sequence_length: int = setting(40, ge=2, fixed=True)
    """With memory (R2D2): steps per replayed sequence, burn-in included; ``batch_size`` counts sequences."""
    sequence_overlap: int = setting(20, ge=0, fixed=True)
    """With memory: steps a stored sequence shares with the one before it in the same episode."""
    burn_in: int = setting(10, ge=0)
    """With memory: first steps of a sequence that only unroll the network from the stored state (no loss)."""
    priority_eta: float = setting(0.9, ge=0, le=1)
    """With memory: a sequence's priority ``η max|δ| + (1 − η) mean|δ|`` (R2D2's η = 0.9)."""

    def validate(self) -> None:
        if self.distributional and self.v_min >= self.v_max:
            raise invalid("v_max", self.v_max, f"more than v_min ({self.v_min}): the support is [v_min, v_max]",
                          self.v_min + 20.0)
        if self.memory and self.sequence_overlap >= self.sequence_length:
            raise invalid("sequence_overlap", self.sequence_overlap, f"less than sequence_length "
                          f"({self.sequence_length}), or sequences never advance", self.sequence_length // 2)
        if self.memory and self.burn_in >= self.sequence_length:
            raise invalid("burn_in", self.burn_in, f"less than sequence_length ({self.sequence_length}), so some "
                          "steps get a loss", self.sequence_length // 4)
        if self.batch_size > self.buffer_size:
            raise invalid("batch_size", self.batch_size, f"at most buffer_size ({self.buffer_size}), the replay "
                          "it samples from", self.buffer_size)

    @property
    def atoms(self) -> int:
        """Outputs per action: ``num_atoms`` when distributional, else 1 (the Q value)."""
        return self.num_atoms if self.distributional else 1

    def epsilon_at(self, env_steps: int) -> float:
        """The linear ε schedule at this many env steps (counted over all workers)."""
        progress = min(1.0, env_steps / max(1, self.epsilon_decay_steps))
        return self.epsilon_start + progress * (self.epsilon_end - self.epsilon_start)


RAINBOW_FLAGS: dict[str, Any] = dict(
    double=True, dueling=True, noisy=True, distributional=True, prioritized=True, n_step=3
)
"""The six Rainbow components on top of DQN (Hessel et al. 2018, Sec. 3)."""


def is_atari(env_id: str) -> bool:
    return env_id.startswith("ALE/")


def dqn_preset(env_id: str) -> dict[str, Any]:
    """Tuned CartPole settings; Nature DQN on Atari (Mnih et al. 2015, Extended Data Table 1)."""
    if "CartPole" in env_id:
        # After rl-baselines3-zoo's DQN settings: bursts of 128 updates every 256 steps (one fragment),
        # here with the target refreshed twice per burst, which solved sooner on 5 of 5 seeds.
        return dict(
            lr=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1_024, replay_ratio=0.5,
            target_update_period=64, epsilon_decay_steps=8_000, epsilon_end=0.04, apex_epsilon=0.04,
            hidden_sizes=(256, 256), fragment_length=256,
            v_min=0.0, v_max=100.0,  # C51's support when the ablation turns it on: returns ≤ 1/(1 − γ)
        )
    if is_atari(env_id):
        # Adam stands in for the paper's RMSProp (lr 2.5e-4); ε-decay and replay start count agent steps.
        return dict(
            lr=1e-4, adam_eps=1.5e-4, batch_size=32, buffer_size=1_000_000, learning_starts=50_000,
            replay_ratio=0.25, target_update_period=10_000, epsilon_start=1.0, epsilon_end=0.1,
            epsilon_decay_steps=1_000_000, encoder="nature_cnn", head_hidden=(), loss="huber",
            steps=10_000_000,
        )
    if env_id.startswith("MinAtar/"):
        # Young & Tian 2019 (MinAtar), Sec. 4 and their examples/dqn.py: conv 16 3×3 → 128, replay 100k,
        # batch 32, one update per step, target every 1,000, replay start 5,000, ε 1 → 0.1 over the first
        # 100k steps, Huber loss, γ 0.99, 5M steps (frames: MinAtar has no frame skip). Their RMSprop
        # (lr 2.5e-4, squared-gradient momentum 0.95, min 0.01) has Adam standing in, as in the Atari preset.
        return dict(
            lr=2.5e-4, adam_eps=3.125e-4, batch_size=32, buffer_size=100_000, learning_starts=5_000,
            replay_ratio=1.0, target_update_period=1_000, epsilon_start=1.0, epsilon_end=0.1, apex_epsilon=0.1,
            epsilon_decay_steps=100_000, encoder="minatar_cnn", head_hidden=(), loss="huber", gamma=0.99,
            steps=5_000_000,
        )
    return {}


def rainbow_preset(env_id: str) -> dict[str, Any]:
    """All components on; Hessel et al. 2018 Table 1 on Atari (frames = 4 env steps)."""
    values: dict[str, Any] = dict(RAINBOW_FLAGS)
    if "CartPole" in env_id:
        # Tuned on 5 seeds: (256,) hidden layers solved all five, (128,) stalled near 150 on one in five.
        values.update(
            lr=1e-3, adam_eps=1e-8, batch_size=64, buffer_size=50_000, learning_starts=1_000,
            replay_ratio=0.5, target_update_period=250, v_min=0.0, v_max=100.0, num_atoms=51,
            hidden_sizes=(256,), head_hidden=(256,), beta_steps=25_000, fragment_length=16,
        )
    elif is_atari(env_id):
        values.update(
            lr=6.25e-5, adam_eps=1.5e-4, batch_size=32, buffer_size=1_000_000,
            learning_starts=20_000,  # 80k frames
            replay_ratio=0.25,  # one update every 4 steps
            target_update_period=2_000,  # 32k frames = 8k env steps = 2k learner steps
            v_min=-10.0, v_max=10.0, num_atoms=51, noisy_sigma0=0.5, alpha=0.5, beta0=0.4,
            beta_steps=2_500_000,  # β → 1 over training: 10M env steps = 2.5M learner steps
            encoder="nature_cnn_torso", head_hidden=(512,), steps=10_000_000,
        )
    elif env_id.startswith("MinAtar/"):
        # Obando-Ceron & Castro 2021, "Revisiting Rainbow", MinAtar setting (their Dopamine gin files): the
        # MinAtar network (conv 16 3×3 → 128) under noisy dueling C51 heads, 3-step returns, replay 100k,
        # batch 32, an update every 4 steps, replay start 1,000, target every 1,000 steps (= 250 updates
        # here, which count learner steps), Adam lr 1e-4, ε 3.125e-4. Returns are not clipped in MinAtar:
        # the support spans ±100.
        values.update(
            lr=1e-4, adam_eps=3.125e-4, batch_size=32, buffer_size=100_000, learning_starts=1_000,
            replay_ratio=0.25, target_update_period=250, v_min=-100.0, v_max=100.0, num_atoms=51,
            beta_steps=1_250_000, encoder="minatar_cnn", head_hidden=(), steps=5_000_000,
        )
    return values
