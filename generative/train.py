"""Train a generative model on the one-shape synthetic images for a time budget, then score it on held-out ones.

    python -m generative.train vae --minutes 3 --clock cpu --out runs/gen-vae
    python -m generative.train {ae,dae,vae,cvae,gan,cgan} [--minutes M] [--out DIR] [--seed S]

Training images come from ``seed``, held-out ones from ``seed + 1``. The loop is perception's
(``perception.loop``): ``--clock cpu`` counts this process's CPU seconds, fair on a busy shared machine.
Writes into ``--out``: ``model.pt`` (``{config, state_dict}``, loads with ``weights_only=True``; redraw with
``python -m generative.sample``), ``metrics.json`` and ``samples.png`` (samples, a row per class for the
conditional models; for the autoencoders, inputs above their reconstructions).

Held-out metrics: ``recon_mse`` (per pixel and channel; the VAEs decode the posterior mean); for the
denoising autoencoder also ``denoise_mse``, the clean images back from masked ones (its training task: it
sees clean inputs only at test time, with more signal than it was trained on); ``elbo`` in nats
per image for the VAEs; ``fid``, the Fréchet distance between the features (``generative.fid``) of samples and
of held-out images; ``class_acc`` for conditional models, the shapes classifier's accuracy on samples
generated per class. Beside them, the baselines of the same run: PCA at the same latent size (``pca_recon_mse``,
``pca_fid`` of its samples) and ``real_fid``, held-out half against held-out half.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from generative.autoencoder import mask_noise
from generative.data import shape_images
from generative.fid import ClassifierConfig, ShapeClassifier, classify, feature_distance, load_or_train_classifier
from generative.grid import save_grid
from generative.losses import class_loss, discriminator_loss, generator_loss, negative_elbo, r1_penalty
from generative.models import CONDITIONAL, KINDS, WITH_PRIOR, ModelConfig, build_model
from generative.networks import DECODERS
from generative.pca import PCA
from generative.sample import sample_rows
from perception.cli import OneLineParser
from perception.loop import check_clock, run_folder_problem, save_run, train_for

MAX_THREADS = 4
"""Most torch threads a wall-clock run takes by default (the networks are small; only 2 threads were measured)."""


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    """The network to train."""
    batch_size: int = 64
    """Images per step, drawn at random from the training set."""
    learning_rate: float = 2e-3
    """Peak Adam learning rate of the autoencoders and VAEs, cosine-decayed over the budget."""
    gan_learning_rate: float = 1e-3
    """Peak Adam learning rate of the GAN's generator (and of its discriminator, times ``discriminator_lr_scale``),
    cosine-decayed over the budget (Radford et al.'s 2e-4 without R1; with it, 1e-3 reached a lower ``fid``)."""
    discriminator_lr_scale: float = 1.0
    """The discriminator's peak rate over ``gan_learning_rate``; above 1, the two time-scale update rule (Heusel et al.
    2017): a discriminator that learns faster than its generator, so that what it tells the generator is up to date."""
    gan_beta1: float = 0.5
    """Adam's β₁ for the GAN players (Radford et al.: 0.5 steadies training)."""
    r1_gamma: float = 1.0
    """Weight ``γ`` of the R1 penalty ``γ/2 · E‖∇ₓ D(x)‖²`` on real images (Mescheder et al. 2018); 0 = none."""
    acgan_fake_class_loss: bool = False
    """Whether AC-GAN's discriminator also learns the class of generated images, as in Odena et al.'s eq. 3.
    Off: its class head learns from real images only, so the generator's class loss can be met only by what
    tells real classes apart, not by a feature the two players agree on between themselves (with it on,
    the background colour was seen to). Off: ``class_acc`` 0.614 at 9 CPU min against 0.516 on."""
    twin_weight: float = 1.0
    """With ``twin_classifier``: the weight of the twin's term in the generator's loss; 1 is TAC-GAN (Gong et al.
    2019), 0 plain AC-GAN, between them a partial correction of AC-GAN's pull towards easy samples."""
    beta: float = 1.0
    """Weight of the VAEs' KL term; 1 is the ELBO, > 1 a β-VAE (Higgins et al. 2017)."""
    decoder_std: float = 0.1
    """Fixed standard deviation of the VAEs' Gaussian decoder ``p(x|z)``, in pixel units."""
    mask_fraction: float = 0.25
    """The denoising autoencoder's masking noise: the chance each input component is zeroed."""
    train_images: int = 10000
    """Size of the training set (images of ``seed``)."""
    eval_images: int = 2000
    """Size of the held-out set (images of ``seed + 1``), split in halves for ``real_fid``."""
    threads: int = 0
    """``torch.set_num_threads``; 0: one under ``clock="cpu"`` (the most work per CPU second), else every core up to
    ``MAX_THREADS`` (the most per wall second: 1.5 times one thread's steps on 2 cores)."""
    clock: str = "wall"
    """What the budget counts: ``wall`` seconds, or this process's ``cpu`` seconds."""
    log_every_s: float = 30.0
    """Seconds between progress lines."""
    classifier_path: str = ""
    """Cached shapes classifier for ``fid`` and ``class_acc``; '' = runs/generative/shapes-classifier-<size>px.pt."""
    classifier_minutes: float = 2.0
    """Budget (same clock) to train that classifier when no cached one matches."""
    classifier_seed: int = 0
    """Seed of that classifier's images and weights, whatever the model's seed: every run is scored by one
    instrument (and shares its cache file)."""

    def __post_init__(self) -> None:
        check_clock(self.clock)
        for name in ("batch_size", "train_images"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.threads < 0:
            raise ValueError(f"threads must be at least 0 (0: chosen by the clock), got {self.threads}")
        if self.eval_images < 4:
            raise ValueError(f"eval_images must be at least 4 (two halves for real_fid), got {self.eval_images}")
        if self.discriminator_lr_scale <= 0:
            raise ValueError(f"discriminator_lr_scale must be > 0, got {self.discriminator_lr_scale}")
        if self.twin_weight < 0:
            raise ValueError(f"twin_weight must be >= 0, got {self.twin_weight}")
        if self.decoder_std <= 0 or self.beta < 0 or self.r1_gamma < 0 or not 0 <= self.mask_fraction < 1:
            raise ValueError("need decoder_std > 0, beta >= 0, r1_gamma >= 0 and 0 <= mask_fraction < 1")

    @property
    def num_threads(self) -> int:
        """``threads``, with 0 resolved by the clock (see ``threads``)."""
        if self.threads:
            return self.threads
        return 1 if self.clock == "cpu" else min(MAX_THREADS, os.cpu_count() or 1)

    @property
    def classifier_file(self) -> Path:
        default = Path("runs") / "generative" / f"shapes-classifier-{self.model.image_size}px.pt"
        return Path(self.classifier_path) if self.classifier_path else default


KIND_DEFAULTS: dict[str, dict[str, Any]] = {
    "cvae": {"channels": (16, 32, 64), "decoder": "layered", "turns": 4, "beta": 1.5},
    "cgan": {"channels": (16, 32, 64), "decoder": "layered", "turns": 4, "r1_gamma": 0.01, "pixel_noise": True,
             "twin_classifier": True},
}
"""What each kind trains with unless told otherwise, beside the dataclasses' defaults: the settings whose ``class_acc``
reached 0.90 in 10 minutes on 2 cores (docs/benchmarks.md, "Generative models": the CVAE's at stop 30, the AC-GAN's at
stops 36 and 37, where its triangle class still draws other shapes that the classifier names triangles)."""


def config_for(kind: str, **settings: Any) -> TrainConfig:
    """``TrainConfig`` for ``kind``: the dataclasses' defaults, then ``KIND_DEFAULTS[kind]``, then ``settings`` (keys
    of ``ModelConfig`` or ``TrainConfig``); ``ValueError`` naming any other key."""
    model_keys = {f.name for f in fields(ModelConfig)} - {"kind"}
    train_keys = {f.name for f in fields(TrainConfig)} - {"model"}
    defaults = dict(KIND_DEFAULTS.get(kind, {}))
    if settings.get("decoder", defaults.get("decoder")) != "layered":
        defaults.pop("turns", None)  # the layered decoder's: not a default for another decoder
    merged = {**defaults, **settings}
    unknown = sorted(set(merged) - model_keys - train_keys)
    if unknown:
        known = ", ".join(sorted(model_keys | train_keys))
        raise ValueError(f"unknown setting(s) {', '.join(unknown)}; choose from {known}")
    model = ModelConfig(kind=kind, **{k: v for k, v in merged.items() if k in model_keys})
    return TrainConfig(model=model, **{k: v for k, v in merged.items() if k in train_keys})


def make_step(model: nn.Module, config: TrainConfig, images: torch.Tensor, labels: torch.Tensor,
              order: torch.Generator) -> tuple[Callable[[int], dict], list[torch.optim.Optimizer]]:
    """The loop's ``step`` for ``config.model.kind`` and the optimizers whose rates the loop schedules."""
    kind, batch_size = config.model.kind, config.batch_size

    def batch() -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.randint(len(images), (batch_size,), generator=order)
        return images[index], labels[index]  # [B, 3, S, S], [B]

    if kind in ("ae", "dae"):
        optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)

        def autoencoder_step(i: int) -> dict[str, torch.Tensor]:
            x, _ = batch()
            x_in = mask_noise(x, config.mask_fraction, order) if kind == "dae" else x  # x̃ ~ q_D(x̃|x) for a DAE
            loss = F.mse_loss(model(x_in), x)  # reconstruct the clean x
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return {"mse": loss}

        return autoencoder_step, [optimizer]

    if kind in ("vae", "cvae"):
        optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)

        def vae_step(i: int) -> dict[str, torch.Tensor]:
            x, y = batch()
            x_mean, mu, logvar = model(x, y if kind == "cvae" else None)
            loss, terms = negative_elbo(x, x_mean, mu, logvar, config.decoder_std, config.beta)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return terms

        return vae_step, [optimizer]

    return make_gan_step(model, config, batch, order)


def make_gan_step(model: nn.Module, config: TrainConfig, batch: Callable[[], tuple[torch.Tensor, torch.Tensor]],
                  order: torch.Generator) -> tuple[Callable[[int], dict], list[torch.optim.Optimizer]]:
    """``make_step`` for the GANs: ``batch()`` draws real images and labels, ``order`` the noise and classes."""
    kind, batch_size = config.model.kind, config.batch_size
    betas = (config.gan_beta1, 0.999)
    g_optimizer = torch.optim.Adam(model.generator_parameters(), lr=config.gan_learning_rate, betas=betas)
    d_optimizer = torch.optim.Adam(model.discriminator.parameters(),
                                   lr=config.gan_learning_rate * config.discriminator_lr_scale, betas=betas)
    conditional = kind == "cgan"

    def gan_step(i: int) -> dict[str, torch.Tensor]:
        # Goodfellow et al.'s Algorithm 1 with k = 1: one discriminator step, then one generator step.
        x, y = batch()
        y_fake = torch.randint(config.model.num_classes, (batch_size,), generator=order) if conditional else None
        z = torch.randn(batch_size, config.model.latent_dim, generator=order)
        fake = model.generate(z, y_fake, model.prior_turns(batch_size, order), order)  # [B, 3, S, S]
        x.requires_grad_(config.r1_gamma > 0)
        real_logits, real_classes, _ = model.discriminator(x)
        fake_logits, fake_classes, fake_twin = model.discriminator(fake.detach())
        d_loss = discriminator_loss(real_logits, fake_logits)
        if config.r1_gamma > 0:
            d_loss = d_loss + config.r1_gamma / 2 * r1_penalty(real_logits, x)
        if conditional:  # AC-GAN: D also maximises L_C on real (and, if asked, generated) images
            d_loss = d_loss + class_loss(real_classes, y)
            if config.acgan_fake_class_loss:
                d_loss = d_loss + class_loss(fake_classes, y_fake)
            if fake_twin is not None:  # TAC-GAN: the twin classifier learns the class of generated images
                d_loss = d_loss + class_loss(fake_twin, y_fake)
        d_optimizer.zero_grad()
        d_loss.backward()
        d_optimizer.step()

        fake_logits, fake_classes, fake_twin = model.discriminator(fake)
        g_loss = generator_loss(fake_logits)  # non-saturating: −log D(G(z))
        if conditional:  # AC-GAN: G maximises L_C too (and L_S through the non-saturating loss)
            g_loss = g_loss + class_loss(fake_classes, y_fake)
            if fake_twin is not None:  # TAC-GAN: and minimises the twin's, so it is not drawn to easy samples
                g_loss = g_loss - config.twin_weight * class_loss(fake_twin, y_fake)
        g_optimizer.zero_grad()
        g_loss.backward()
        g_optimizer.step()
        return {"d_loss": d_loss, "g_loss": g_loss, "D(x)": torch.sigmoid(real_logits).mean()}

    return gan_step, [g_optimizer, d_optimizer]


def balanced_labels(num: int, num_classes: int) -> torch.Tensor:
    """``0, 1, ..., C−1, 0, 1, ...``: ``num`` labels, each class equally often (±1)."""
    return torch.arange(num) % num_classes


@torch.no_grad()
def generate(model: nn.Module, config: ModelConfig, num: int, generator: torch.Generator) -> torch.Tensor:
    """``num`` samples from the prior, classes balanced for a conditional model."""
    y = balanced_labels(num, config.num_classes) if config.kind in CONDITIONAL else None
    return model.sample(num, y, generator)


@torch.no_grad()
def reconstruct(model: nn.Module, config: ModelConfig, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The autoencoders' ``decode(encode(x))``; the VAEs decode the posterior mean ``μ`` (under its likeliest
    turn, when the decoder turns its object)."""
    if config.kind in ("ae", "dae"):
        return model(x)
    label = y if config.kind == "cvae" else None
    mu, _ = model.encode(x, label)
    if not config.turns:
        return model.decode(mu, label)
    x_means = model.decode_turns(mu, label)  # [K, B, C, S, S]
    best = (x_means - x).pow(2).flatten(2).sum(2).argmin(0)  # [B]: the turn of highest likelihood
    return x_means[best, torch.arange(len(x))]


@torch.no_grad()
def evaluate(model: nn.Module, config: TrainConfig, x: torch.Tensor, y: torch.Tensor,
             classifier: ShapeClassifier, seed: int) -> dict:
    """Held-out metrics of ``model`` (see the module docstring) on images ``x`` with labels ``y``."""
    model.eval()
    kind, metrics = config.model.kind, {}
    generator = torch.Generator().manual_seed(seed)
    half = len(x) // 2
    real_features = classify(classifier, x[half:2 * half])[0]  # held-out half B
    if kind not in ("gan", "cgan"):
        metrics["recon_mse"] = float(F.mse_loss(reconstruct(model, config.model, x, y), x))
    if kind == "dae":  # its own task: the clean x back from x̃ ~ q_D(x̃|x)
        metrics["denoise_mse"] = float(F.mse_loss(model(corrupt(x, config, seed)), x))
    if kind in ("vae", "cvae"):
        x_mean, mu, logvar = model(x, y if kind == "cvae" else None)
        _, terms = negative_elbo(x, x_mean, mu, logvar, config.decoder_std)
        metrics.update(elbo=float(terms["elbo"]), kl=float(terms["kl"]), recon_nll=float(terms["recon_nll"]))
    if kind in WITH_PRIOR:
        samples = generate(model, config.model, half, generator)
        features, predicted = classify(classifier, samples)
        metrics["fid"] = feature_distance(features, real_features)
        if kind in CONDITIONAL:
            metrics["class_acc"] = float((predicted == balanced_labels(half, config.model.num_classes)).float().mean())
    return metrics


def corrupt(x: torch.Tensor, config: TrainConfig, seed: int) -> torch.Tensor:
    """The held-out images under the denoising autoencoder's masking noise, the same draw every time."""
    return mask_noise(x, config.mask_fraction, torch.Generator().manual_seed(seed))


def baselines(train_x: torch.Tensor, x: torch.Tensor, config: TrainConfig, classifier: ShapeClassifier,
              seed: int) -> dict:
    """PCA at the same latent size (held-out ``recon_mse``, ``fid`` of its samples; for a denoising
    autoencoder, ``denoise_mse`` from the same corrupted images) and the real-versus-real ``fid``."""
    with torch.random.fork_rng():  # the randomised SVD's draw: the same baseline whatever trained before
        torch.manual_seed(seed)
        pca = PCA.fit(train_x, config.model.latent_dim)
    half = len(x) // 2
    real_a, real_b = (classify(classifier, part)[0] for part in (x[:half], x[half:2 * half]))
    samples = pca.sample(half, torch.Generator().manual_seed(seed)).view(-1, *x.shape[1:]).clamp(0, 1)
    metrics = {"pca_recon_mse": float(F.mse_loss(pca.reconstruct(x).clamp(0, 1), x)),
               "pca_fid": feature_distance(classify(classifier, samples)[0], real_b),
               "real_fid": feature_distance(real_a, real_b)}
    if config.model.kind == "dae":
        metrics["pca_denoise_mse"] = float(F.mse_loss(pca.reconstruct(corrupt(x, config, seed)).clamp(0, 1), x))
    return metrics


@torch.no_grad()
def picture(model: nn.Module, config: TrainConfig, x: torch.Tensor, y: torch.Tensor, seed: int) -> torch.Tensor:
    """Rows for ``samples.png``: inputs over reconstructions for the autoencoders, else samples."""
    kind, columns = config.model.kind, 10
    if kind in ("ae", "dae"):
        inputs = x[:2 * columns]
        if kind == "dae":
            inputs = corrupt(inputs, config, seed)
        recon = model(inputs)
        return torch.stack([inputs[:columns], recon[:columns], inputs[columns:], recon[columns:]])
    rows = config.model.num_classes if kind in CONDITIONAL else 6
    return sample_rows(model, config.model, rows, columns, seed)


def train(minutes: float, out: Path, seed: int = 0, config: TrainConfig | None = None) -> dict:
    """Train for ``minutes`` of ``config.clock``; write ``model.pt``, ``metrics.json``, ``samples.png`` to ``out``."""
    config = config or TrainConfig()
    out = Path(out)
    torch.set_num_threads(config.num_threads)
    size = config.model.image_size
    classifier, classifier_acc = load_or_train_classifier(
        config.classifier_file, ClassifierConfig(image_size=size, num_classes=config.model.num_classes,
                         train_images=config.train_images),
        config.classifier_minutes, config.classifier_seed, config.clock)
    torch.manual_seed(seed)  # after the classifier, which seeds its own training: the model starts the same either way
    train_x, train_y = shape_images(config.train_images, size, seed)
    heldout_x, heldout_y = shape_images(config.eval_images, size, seed + 1)
    model = build_model(config.model)
    step, optimizers = make_step(model, config, train_x, train_y, torch.Generator().manual_seed(seed))
    print(f"training {config.model.kind} ({sum(p.numel() for p in model.parameters()):,} parameters) for "
          f"{minutes:g} {config.clock} min into {out}", flush=True)
    model.train()
    result = train_for(minutes, step, optimizers, clock=config.clock, log_every_s=config.log_every_s)
    metrics = evaluate(model, config, heldout_x, heldout_y, classifier, seed + 1)
    metrics.update(baselines(train_x, heldout_x, config, classifier, seed + 1))
    if config.model.pixel_noise:  # the generator's learned pixel noise, beside the data's 0.06
        metrics["pixel_noise_sigma"] = model.log_noise.exp().item()
    metrics.update(classifier_heldout_acc=classifier_acc, steps=result.steps, threads=config.num_threads,
                   images_seen=result.steps * config.batch_size, train_seconds=round(result.train_seconds, 1),
                   train_cpu_seconds=round(result.train_cpu_seconds, 1), heldout_seed=seed + 1, seed=seed,
                   config=asdict(config))
    save_run(out, {"config": asdict(config.model), "state_dict": model.state_dict()}, metrics)
    save_grid(picture(model, config, heldout_x, heldout_y, seed + 1), out / "samples.png")
    shown = {k: v for k, v in metrics.items() if isinstance(v, float) and k not in ("train_seconds",)}
    print(" ".join(f"{k} {v:.4g}" for k, v in shown.items()) + f" after {result.steps} steps")
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m generative.train", description=__doc__.split("\n")[0])
    parser.add_argument("model", choices=KINDS, help="what to train")
    parser.add_argument("--minutes", type=float, default=3.0, help="training budget (see --clock)")
    parser.add_argument("--out", type=Path, default=None, help="run folder (default: under runs/)")
    parser.add_argument("--seed", type=int, default=0, help="training images and initialisation")
    # The settings below default to KIND_DEFAULTS[model], then to the config dataclasses' defaults.
    setting = parser.add_argument_group("settings (defaults: the dataclasses', with KIND_DEFAULTS for cvae and cgan)")

    def add(flag: str, dest: str, help: str, **kwargs) -> None:
        setting.add_argument(flag, dest=dest, default=argparse.SUPPRESS, help=help, **kwargs)

    add("--clock", "clock", "what --minutes counts (wall)", choices=["wall", "cpu"])
    add("--latent-dim", "latent_dim", "size of z (and of PCA's baseline) (16)", type=int)
    add("--image-size", "image_size", "side of the square images (32)", type=int)
    add("--channels", "channels", "filters of each stride-2 stage (the image side must halve cleanly that often) "
        "(32 64 128; cvae, cgan: 16 32 64)", type=int, nargs="+")
    add("--decoder", "decoder", "conv: DCGAN's transposed convolutions; layered (cvae, cgan): the class draws one "
        "object's mask, placed by a spatial transformer over a smooth background (conv; cvae, cgan: layered)",
        choices=list(DECODERS))
    add("--turns", "turns", "with --decoder layered: K equally spaced angles the object may be turned by, one "
        "template per class; 0: a continuous style instead (0; cvae, cgan: 4)", type=int)
    add("--min-scale", "min_scale", "with --decoder layered: the object's frame's smallest side, a fraction of the "
        "image's (0.05)", type=float)
    add("--beta", "beta", "KL weight of the VAEs, a β-VAE when > 1 (1; cvae: 1.5)", type=float)
    add("--r1-gamma", "r1_gamma", "the GANs' R1 penalty weight, 0: none (1; cgan: 0.01)", type=float)
    add("--gan-learning-rate", "gan_learning_rate", "peak Adam rate of the generator; the discriminator's is it times "
        "--d-lr-scale (1e-3)", type=float)
    add("--d-lr-scale", "discriminator_lr_scale", "the discriminator's rate over --gan-learning-rate; > 1 is the two "
        "time-scale update rule (1)", type=float)
    add("--acgan-fake-class-loss", "acgan_fake_class_loss", "AC-GAN's discriminator also learns the class of "
        "generated images, Odena et al.'s eq. 3 (off)", action=argparse.BooleanOptionalAction)
    add("--pixel-noise", "pixel_noise", "gan, cgan: the generator adds Gaussian pixel noise of a learned σ to its "
        "images (off; cgan: on)", action=argparse.BooleanOptionalAction)
    add("--twin-classifier", "twin_classifier", "cgan: TAC-GAN's twin classifier (Gong et al. 2019), against "
        "AC-GAN's easy-sample bias (cgan: on)", action=argparse.BooleanOptionalAction)
    add("--twin-weight", "twin_weight", "the twin's term in G's loss: 1 is TAC-GAN, 0 AC-GAN (1)", type=float)
    add("--threads", "threads", "torch threads; 0: 1 with --clock cpu (the most work per CPU second), else every "
        "core up to 4 (0)", type=int)
    add("--train-images", "train_images", "training set size (10000)", type=int)
    add("--eval-images", "eval_images", "held-out set size, halves for real_fid (2000)", type=int)
    add("--classifier", "classifier_path", "cached shapes classifier for fid / class_acc", type=str)
    add("--classifier-minutes", "classifier_minutes", "its budget when not cached (2)", type=float)
    args = parser.parse_args(argv)
    settings = {k: v for k, v in vars(args).items() if k not in ("model", "minutes", "out", "seed")}
    if args.minutes < 0 or settings.get("classifier_minutes", 0) < 0:
        parser.error("--minutes and --classifier-minutes must be >= 0")
    try:
        config = config_for(args.model, **settings)
    except ValueError as error:
        parser.error(str(error))
    out = args.out or Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}_generative-{args.model}_s{args.seed}"
    if problem := run_folder_problem(out):
        parser.error(problem)
    train(args.minutes, out, args.seed, config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
