"""Hyperparameters of ``--algo dreamer`` (Hafner et al. 2023, DreamerV3, Appendix W's table), sized for a CPU.

The paper's loss scales, KL balance, free bits, unimix, λ, horizon, entropy, slow critic and return
normalisation are kept; the networks are its smallest sizes or below (``deter`` 128 against the 12M model's
2048; 16 × 16 latents against 32 × 32), and the discount is 0.99 (effective horizon 100 steps) instead of
0.997: a CPU run makes a few thousand updates, not the hundreds of thousands a return horizon of 333 steps
takes to propagate. An update replays 8 sequences of 64 steps every 2 env steps, a replay ratio of 256 replayed
steps per env step (the paper raises the ratio for data efficiency; RLlib's tuned CartPole example uses 1,024),
with half the paper's batch: twice the updates for the same CPU time, since a short run is limited by how many
updates the world model gets (on the image gridworld, one update per 16 env steps with 16 sequences left the
decoder unable to place the agent after 4,000 steps). On CartPole's vectors the cheaper 16 sequences every 16
env steps solves sooner in CPU time; docs/benchmarks.md's CartPole figure sets it.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentlab.config import invalid, setting


@dataclass
class DreamerConfig:
    deter: int = setting(128, ge=1, fixed=True)
    """Size of the RSSM's deterministic GRU state h."""
    stoch: int = setting(16, ge=1, fixed=True)
    """Categorical variables of the stochastic latent z (the paper's 32)."""
    classes: int = setting(16, ge=2, fixed=True)
    """Classes of each categorical latent variable (the paper's 32)."""
    units: int = setting(128, ge=1, fixed=True)
    """Width of every hidden layer: encoder, decoder, RSSM heads, reward, continue, actor and critic."""
    layers: int = setting(2, ge=1, fixed=True)
    """Hidden layers of the vector encoder and decoder and of each head."""
    channels: tuple[int, ...] = setting((16, 32, 64), ge=1, nonempty=True, fixed=True)
    """Image observations: filters of each stride-2 stage of generative's ConvEncoder and ConvDecoder."""
    bins: int = setting(255, ge=3, fixed=True)
    """Two-hot bins of the reward and critic heads, evenly spaced in symlog space over [-20, 20]."""
    unimix: float = setting(0.01, ge=0, lt=1)
    """Uniform mixture in the latent and policy categoricals (1%)."""
    free_bits: float = setting(1.0, ge=0)
    """KL below this many nats gets no gradient (free bits)."""
    dyn_scale: float = setting(0.5, ge=0)
    """β_dyn: weight of the dynamics KL, which trains the prior towards the posterior."""
    rep_scale: float = setting(0.1, ge=0)
    """β_rep: weight of the representation KL, which trains the posterior towards the prior."""
    model_lr: float = setting(3e-4, gt=0)
    """Adam learning rate of the world model (the paper's 1e-4; higher for short CPU runs)."""
    actor_lr: float = setting(1e-4, gt=0)
    """Adam learning rate of the actor (the paper's 3e-5)."""
    critic_lr: float = setting(1e-4, gt=0)
    """Adam learning rate of the critic (the paper's 3e-5)."""
    adam_eps: float = setting(1e-8, gt=0)
    """Adam's ε for all three optimizers."""
    model_grad_clip: float = setting(1000.0, gt=0)
    """Clip the world model's gradient norm to this."""
    ac_grad_clip: float = setting(100.0, gt=0)
    """Clip the actor's and the critic's gradient norms to this."""
    imagine_starts: int = setting(256, ge=0)
    """Posterior states of a batch that imagination starts from, drawn at random (0: all, as in the paper)."""
    horizon: int = setting(15, ge=1)
    """Imagined steps from each posterior start state."""
    gamma: float = setting(0.99, ge=0, le=1)
    """Discount γ of imagined returns (the paper's 0.997; see the module docstring)."""
    lam: float = setting(0.95, ge=0, le=1)
    """λ of the λ-returns."""
    entropy_coef: float = setting(3e-4, ge=0)
    """η: the actor's entropy bonus."""
    return_decay: float = setting(0.99, ge=0, lt=1)
    """EMA decay of the returns' 5th and 95th percentiles that scale the advantages."""
    slow_critic_fraction: float = setting(0.02, gt=0, le=1)
    """Each update moves the slow critic this fraction of the way to the critic."""
    slow_reg: float = setting(1.0, ge=0)
    """Weight of the critic's loss towards the slow critic's prediction."""
    batch_size: int = setting(8, ge=1)
    """Sequences per update (the paper's 16; see the module docstring)."""
    sequence_length: int = setting(64, ge=2, fixed=True)
    """Steps per replayed sequence (an episode's last one is padded; sequences never cross an episode)."""
    sequence_overlap: int = setting(32, ge=0, fixed=True)
    """Steps a stored sequence shares with the one before it in the same episode."""
    buffer_size: int = setting(100_000, ge=1)
    """Replay capacity in env steps."""
    learning_starts: int = setting(1_024, ge=0)
    """Env steps collected before the first update."""
    train_every: int = setting(2, ge=1)
    """Env steps (over all workers) per update: one update trains the model, then the actor and critic."""

    def validate(self) -> None:
        if self.sequence_overlap >= self.sequence_length:
            raise invalid("sequence_overlap", self.sequence_overlap, f"less than sequence_length "
                          f"({self.sequence_length}), or sequences never advance", self.sequence_length // 2)

    @property
    def latent_size(self) -> int:
        """Features of a model state: ``h`` and the flattened one-hot ``z``."""
        return self.deter + self.stoch * self.classes
