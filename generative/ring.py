"""A GAN on a ring of 8 Gaussians in 2-D: the standard check that a GAN covers every mode (Metz et al. 2017).

The data are 8 isotropic Gaussians of standard deviation ``std`` centred evenly on a circle of radius
``radius``. A mode is covered when at least ``min_fraction`` of the generated points lie within ``3 std`` of
its centre (the criterion of Srivastava et al. 2017, VEEGAN); ``high_quality`` is the fraction of points
within ``3 std`` of some centre. Both players are MLPs trained with the same non-saturating losses
(``generative.losses``) and the same time-budgeted loop (``perception.loop``) as the image GANs.

    python -m generative.ring --minutes 1.75 --clock cpu --out docs/figures/generative_ring.png
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
from matplotlib.figure import Figure
from torch import nn

from generative.losses import discriminator_loss, generator_loss, r1_penalty
from perception.cli import OneLineParser
from perception.loop import check_clock, train_for


@dataclass
class RingConfig:
    modes: int = 8
    """Gaussians on the ring."""
    radius: float = 2.0
    """Radius of the ring."""
    std: float = 0.05
    """Standard deviation of each Gaussian."""
    latent_dim: int = 8
    """Size of the generator's noise."""
    hidden: int = 128
    """Width of both players' two hidden layers."""
    batch_size: int = 512
    """Real and generated points per step."""
    learning_rate: float = 2e-4
    """Peak Adam learning rate of both players (β₁ = 0.5), cosine-decayed over the budget."""
    r1_gamma: float = 0.1
    """Weight ``γ`` of the R1 penalty ``γ/2 · E‖∇ₓ D(x)‖²`` on real points (Mescheder et al. 2018); 0 = none."""
    eval_points: int = 2500
    """Generated points scored at the end."""
    min_fraction: float = 0.01
    """Share of the generated points within 3 std of a centre for that mode to count as covered."""


def ring_centres(config: RingConfig) -> torch.Tensor:
    """The ``[modes, 2]`` centres ``radius · (cos 2πk/modes, sin 2πk/modes)``."""
    angle = 2 * math.pi * torch.arange(config.modes) / config.modes
    return config.radius * torch.stack([angle.cos(), angle.sin()], dim=1)


def sample_ring(config: RingConfig, num: int, generator: torch.Generator) -> torch.Tensor:
    """``num`` points ``[num, 2]`` from the mixture, each mode equally likely."""
    which = torch.randint(config.modes, (num,), generator=generator)
    return ring_centres(config)[which] + config.std * torch.randn(num, 2, generator=generator)


def mlp(inputs: int, hidden: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, outputs))


def mode_coverage(points: torch.Tensor, config: RingConfig) -> tuple[int, float, torch.Tensor]:
    """``(modes covered, high-quality fraction, share of points near each mode [modes])`` of ``points``."""
    distance = torch.cdist(points, ring_centres(config))  # [N, modes]
    nearest, mode = distance.min(dim=1)
    close = nearest <= 3 * config.std
    share = torch.bincount(mode[close], minlength=config.modes).float() / len(points)  # [modes]
    return int((share >= config.min_fraction).sum()), float(close.float().mean()), share


def train_ring_gan(minutes: float, seed: int = 0, config: RingConfig | None = None, clock: str = "wall"
                   ) -> tuple[nn.Module, dict]:
    """Train for ``minutes`` of ``clock``; return the generator and its coverage of the ring."""
    config = config or RingConfig()
    check_clock(clock)
    torch.manual_seed(seed)
    data = torch.Generator().manual_seed(seed)
    generator, discriminator = mlp(config.latent_dim, config.hidden, 2), mlp(2, config.hidden, 1)
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=config.learning_rate, betas=(0.5, 0.999))
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=config.learning_rate, betas=(0.5, 0.999))

    def step(i: int) -> dict[str, torch.Tensor]:
        real = sample_ring(config, config.batch_size, data).requires_grad_(config.r1_gamma > 0)  # [B, 2]
        fake = generator(torch.randn(config.batch_size, config.latent_dim, generator=data))  # [B, 2]
        real_logits = discriminator(real).squeeze(1)
        d_loss = discriminator_loss(real_logits, discriminator(fake.detach()).squeeze(1))
        if config.r1_gamma > 0:
            d_loss = d_loss + config.r1_gamma / 2 * r1_penalty(real_logits, real)
        d_optimizer.zero_grad()
        d_loss.backward()
        d_optimizer.step()
        g_loss = generator_loss(discriminator(fake).squeeze(1))  # non-saturating
        g_optimizer.zero_grad()
        g_loss.backward()
        g_optimizer.step()
        return {"d_loss": d_loss, "g_loss": g_loss}

    result = train_for(minutes, step, [g_optimizer, d_optimizer], clock=clock, log_every_s=15.0)
    with torch.no_grad():
        points = generator(torch.randn(config.eval_points, config.latent_dim, generator=data))
    covered, quality, share = mode_coverage(points, config)
    return generator, {"modes_covered": covered, "modes": config.modes, "high_quality": quality,
                       "mode_shares": [round(v, 4) for v in share.tolist()], "steps": result.steps,
                       "train_cpu_seconds": round(result.train_cpu_seconds, 1), "points": points}


def draw(points: torch.Tensor, config: RingConfig, out: Path, title: str) -> None:
    fig = Figure(figsize=(4, 4))
    ax = fig.subplots()
    ax.scatter(*points.T.numpy(), s=2, alpha=0.4, label="generated")
    ax.scatter(*ring_centres(config).T.numpy(), marker="x", color="red", label="mode centres")
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)


def main(argv: list[str] | None = None) -> dict:
    parser = OneLineParser(prog="python -m generative.ring", description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=1.75, help="training budget (see --clock)")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall", help="what --minutes counts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="PNG of the generated points (optional)")
    parser.add_argument("--batch-size", type=int, default=RingConfig.batch_size)
    parser.add_argument("--learning-rate", type=float, default=RingConfig.learning_rate)
    parser.add_argument("--r1-gamma", type=float, default=RingConfig.r1_gamma, help="R1 penalty weight (0: none)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    config = RingConfig(batch_size=args.batch_size, learning_rate=args.learning_rate, r1_gamma=args.r1_gamma)
    _, metrics = train_ring_gan(args.minutes, args.seed, config, args.clock)
    points = metrics.pop("points")
    summary = f"modes covered {metrics['modes_covered']}/{config.modes}, high quality {metrics['high_quality']:.3f}"
    print(f"{summary} after {metrics['steps']} steps")
    if args.out:
        draw(points, config, args.out, f"GAN on a ring of 8 Gaussians: {summary}")
    return metrics


if __name__ == "__main__":
    main()
