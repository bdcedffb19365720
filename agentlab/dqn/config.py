"""Hyperparameters of ``--algo dqn`` and ``--algo rainbow`` (their tuned settings are rows of ``agentlab.presets``).

Defaults are DQN (Mnih et al. 2015) with every Rainbow component off; Rainbow (Hessel et al. 2018) is
the same config with the flags on (``agentlab.presets.RAINBOW_FLAGS``), not a subclass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from agentlab.config import MemorySettings, invalid, linear_decay, names_in, setting


@dataclass
class DQNConfig(MemorySettings):
    # Schedule lengths that a run sets to this fraction of its ``steps`` unless given (SB3's exploration_fraction).
    budget_fractions: ClassVar[dict[str, float]] = {"epsilon_decay_steps": 0.1, "lr_decay_steps": 1.0}

    lr: float = setting(2.5e-4, gt=0)
    """Adam learning rate (Nature DQN's 2.5e-4: 1e-3 left CartPole's greedy policy swinging between 90 and 500)."""
    lr_end: float = setting(1.0, ge=0, le=1)
    """Learning rate after ``lr_decay_steps``, as a fraction of ``lr``, reached linearly (1: constant)."""
    lr_decay_steps: int = setting(100_000, ge=1)
    """Env steps (all workers) of the learning rate's linear decay; in a run, its ``steps`` unless set."""
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
    replay_ratio: float = setting(1.0, gt=0)
    """Learner steps per env step after ``learning_starts`` (1: one update per step, 0.25: one every 4 steps)."""
    target_update_period: int = setting(250, ge=1)
    """Learner steps between target-network updates (with ``replay_ratio`` 1, every 250 env steps)."""
    tau: float = setting(1.0, gt=0, le=1)
    """Polyak weight of each target update: θ' ← τθ + (1 − τ)θ' (1.0: hard copy)."""
    epsilon_start: float = setting(1.0, ge=0, le=1)
    """ε of the ε-greedy behaviour policy at the first env step."""
    epsilon_end: float = setting(0.05, ge=0, le=1)
    """ε after the linear decay."""
    epsilon_decay_steps: int = setting(10_000, ge=0)
    """Env steps (all workers) of ε's linear decay to ``epsilon_end``; in a run, a tenth of its ``steps`` unless set."""
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
    v_min: float = -500.0
    """Lowest atom of the support."""
    v_max: float = 500.0
    """Highest atom of the support."""
    support_spacing: str = setting("h", choices=("h", "linear"), fixed=True)
    """C51 atoms even in Pohlen et al. 2018's h(x) (``h``: dense near 0, reaching any return scale) or ``linear``."""
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
    normalize_obs: bool = setting(False, fixed=True)
    """Standardise vector observations by the running mean and variance of those trained on, clipped to ±10."""
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

    def lr_at(self, env_steps: int) -> float:
        """The linear learning-rate schedule at this many env steps (counted over all workers)."""
        return linear_decay(self.lr, self.lr_end, env_steps, self.lr_decay_steps)

    def epsilon_at(self, env_steps: int) -> float:
        """The linear ε schedule at this many env steps (counted over all workers)."""
        progress = min(1.0, env_steps / max(1, self.epsilon_decay_steps))
        return self.epsilon_start + progress * (self.epsilon_end - self.epsilon_start)
