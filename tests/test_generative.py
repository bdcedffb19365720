"""generative/: the ELBO's terms, the GAN losses, the Fréchet distance and PCA against hand values; the models'
shapes; the train → sample command lines end to end, their bad-input errors; and that it stands alone."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from generative.autoencoder import Autoencoder, mask_noise
from generative.fid import ClassifierConfig, augment, feature_distance, frechet_distance, gaussian_blur
from generative.losses import (
    class_loss,
    discriminator_loss,
    gaussian_kl,
    gaussian_log_likelihood,
    generator_loss,
    mixture_log_likelihood,
    negative_elbo,
    r1_penalty,
)
from generative.models import KINDS, ModelConfig, build_model
from generative.networks import ConvDecoder, LayeredDecoder
from generative.pca import PCA
from generative.ring import RingConfig, mode_coverage, ring_centres, train_ring_gan
from generative.sample import main as sample_main
from generative.train import TrainConfig, config_for, make_step, reconstruct
from generative.train import main as train_main
from generative.vae import VAE


def test_kl_matches_the_closed_form_by_hand_and_torch_distributions() -> None:
    mu, logvar = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, math.log(4.0)]])
    # ½ Σ (σ² + μ² − 1 − log σ²) = ½ [(1 + 1 − 1 − 0) + (4 + 0 − 1 − log 4)]
    assert gaussian_kl(mu, logvar).item() == pytest.approx(0.5 * (1 + 3 - math.log(4.0)), rel=1e-6)
    mu, logvar = torch.randn(5, 3), torch.randn(5, 3)
    reference = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(1)
    torch.testing.assert_close(gaussian_kl(mu, logvar), reference)
    assert gaussian_kl(torch.zeros(2, 4), torch.zeros(2, 4)).abs().max() == 0


def test_reparameterisation_gradient_reaches_mu_and_logvar() -> None:
    vae = VAE(3, 16, 4, (8, 8))
    mu = torch.tensor([[0.5, -1.0, 2.0, 0.0]], requires_grad=True)
    logvar = torch.tensor([[0.0, 1.0, -1.0, 0.5]], requires_grad=True)
    torch.manual_seed(0)
    z = vae.reparameterize(mu, logvar)
    eps = ((z - mu) / (0.5 * logvar).exp()).detach()  # the noise drawn
    z.sum().backward()
    torch.testing.assert_close(mu.grad, torch.ones_like(mu))  # ∂z/∂μ = 1
    torch.testing.assert_close(logvar.grad, 0.5 * (0.5 * logvar.detach()).exp() * eps)  # ∂z/∂logσ² = ½σε
    # Monte-Carlo: ∂/∂μ E[z²] = 2μ and ∂/∂logσ² E[z²] = σ², through the samples alone.
    mu2, logvar2 = torch.tensor([[1.5]], requires_grad=True), torch.tensor([[math.log(0.25)]], requires_grad=True)
    vae.reparameterize(mu2.expand(200_000, 1), logvar2.expand(200_000, 1)).pow(2).mean().backward()
    assert mu2.grad.item() == pytest.approx(3.0, abs=0.02) and logvar2.grad.item() == pytest.approx(0.25, abs=0.01)


def test_elbo_terms_add_up_and_the_likelihood_is_gaussian() -> None:
    x, x_mean = torch.rand(3, 1, 2, 2), torch.rand(3, 1, 2, 2)
    reference = Normal(x_mean, 0.1).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(gaussian_log_likelihood(x, x_mean, 0.1), reference)
    mu, logvar = torch.randn(3, 2), torch.randn(3, 2)
    loss, terms = negative_elbo(x, x_mean, mu, logvar, 0.1, beta=4.0)
    kl = gaussian_kl(mu, logvar).mean()
    torch.testing.assert_close(terms["elbo"], reference.mean() - kl)
    torch.testing.assert_close(loss, -reference.mean() + 4.0 * kl)  # β weighs the KL only


def test_the_turn_is_summed_out_of_the_likelihood_exactly() -> None:
    x = torch.zeros(2, 1, 1, 2)  # two images of two pixels
    x_means = torch.zeros(2, 2, 1, 1, 2)  # [K, B, ...]: every mean exact ...
    x_means[1, 0, 0, 0, 0] = 0.1  # ... but turn 1 of image 0, one σ off in one pixel
    floor = -2 * (math.log(0.1) + 0.5 * math.log(2 * math.pi))  # log N at the mean, two pixels
    expected = [floor + math.log((1 + math.exp(-0.5)) / 2), floor]  # log ½ (e^0 + e^−½) above the floor; log ½ · 2
    torch.testing.assert_close(mixture_log_likelihood(x, x_means, 0.1), torch.tensor(expected))
    # One turn is the plain Gaussian likelihood, and negative_elbo reads a leading turn axis as this mixture.
    torch.testing.assert_close(mixture_log_likelihood(x, x_means[:1], 0.1), gaussian_log_likelihood(x, x_means[0], 0.1))
    mu, logvar = torch.zeros(2, 3), torch.zeros(2, 3)
    _, terms = negative_elbo(x, x_means, mu, logvar, 0.1)
    assert terms["elbo"].item() == pytest.approx(sum(expected) / 2, rel=1e-6)


def test_gan_losses_on_hand_values() -> None:
    assert discriminator_loss(torch.zeros(4), torch.zeros(4)).item() == pytest.approx(2 * math.log(2))
    real, fake = torch.tensor([2.0]), torch.tensor([-1.0])
    # −log σ(2) − log(1 − σ(−1)) = log(1 + e^−2) + log(1 + e^−1)
    expected = math.log(1 + math.exp(-2)) + math.log(1 + math.exp(-1))
    assert discriminator_loss(real, fake).item() == pytest.approx(expected)
    assert generator_loss(torch.zeros(3)).item() == pytest.approx(math.log(2))
    # Non-saturating: where D rejects a sample (logit −5) the gradient is still strong, unlike log(1 − D(G(z))).
    logit = torch.tensor([-5.0], requires_grad=True)
    generator_loss(logit).backward()
    assert logit.grad.item() == pytest.approx(-torch.sigmoid(torch.tensor(5.0)).item())  # ≈ −0.993
    assert abs(logit.grad.item()) > 100 * torch.sigmoid(torch.tensor(-5.0)).item()  # saturating: σ(−5) ≈ 0.007
    assert class_loss(torch.zeros(1, 3), torch.tensor([2])).item() == pytest.approx(math.log(3))


def test_frechet_distance_of_identical_and_known_gaussians() -> None:
    a = torch.randn(6, 6)
    cov = a @ a.T + 0.1 * torch.eye(6)
    mu = torch.randn(6)
    assert frechet_distance(mu, cov, mu, cov) == pytest.approx(0.0, abs=1e-6)
    # 1-D: N(0, 1) vs N(1, 4): 1² + 1 + 4 − 2·√4 = 2
    assert frechet_distance(torch.zeros(1), torch.eye(1), torch.ones(1), 4 * torch.eye(1)) == pytest.approx(2.0)
    # Commuting (diagonal) covariances: ‖Δμ‖² + Σ (σ₁ − σ₂)², unchanged by a rotation of both.
    s1, s2 = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2.0, 2.0, 1.0])
    mu1, mu2 = torch.tensor([0.0, 1.0, 0.0]), torch.tensor([3.0, 1.0, 4.0])
    expected = 25.0 + 1.0 + 0.0 + 4.0
    assert frechet_distance(mu1, torch.diag(s1**2), mu2, torch.diag(s2**2)) == pytest.approx(expected)
    q, _ = torch.linalg.qr(torch.randn(3, 3))
    rotated = frechet_distance(q @ mu1, q @ torch.diag(s1**2) @ q.T, q @ mu2, q @ torch.diag(s2**2) @ q.T)
    assert rotated == pytest.approx(expected, rel=1e-5)
    features = torch.randn(4000, 3)
    assert feature_distance(features, features + torch.tensor([1.0, 0.0, 0.0])) == pytest.approx(1.0, rel=1e-6)


@pytest.mark.parametrize("num_rows,dim", [(60, 40), (1100, 1100)])  # exact SVD; the randomised one
def test_pca_reconstructs_a_rank_k_dataset_exactly(num_rows: int, dim: int) -> None:
    torch.manual_seed(0)
    k = 5
    x = torch.randn(num_rows, k) @ torch.randn(k, dim) + torch.randn(dim)  # rank k around a mean
    pca = PCA.fit(x, k)
    torch.testing.assert_close(pca.reconstruct(x), x, atol=2e-4, rtol=1e-4)
    torch.testing.assert_close(pca.components @ pca.components.T, torch.eye(k), atol=1e-5, rtol=0)
    assert (pca.variances[:-1] >= pca.variances[1:]).all()
    fewer = PCA.fit(x, k - 1)
    assert (fewer.reconstruct(x) - x).pow(2).mean() > 1e-3  # one direction short is no longer exact
    assert pca.sample(7).shape == (7, dim)


def test_every_model_builds_with_the_features_dim_protocol() -> None:
    x, y = torch.rand(2, 3, 32, 32), torch.tensor([0, 2])
    for kind in KINDS:
        model = build_model(ModelConfig(kind=kind, latent_dim=6, channels=(8, 16)))
        if kind in ("ae", "dae"):
            z = model.encode(x)
            assert z.shape == (2, model.features_dim) == (2, 6) and model.decode(z).shape == x.shape
        elif kind in ("vae", "cvae"):
            label = y if kind == "cvae" else None
            x_mean, mu, logvar = model(x, label)
            assert x_mean.shape == x.shape and mu.shape == logvar.shape == (2, 6)
        else:
            assert model.sample(2, y if kind == "cgan" else None).shape == x.shape
            logit, classes, twin = model.discriminator(x)
            assert logit.shape == (2,) and (classes is None) == (kind == "gan") and twin is None
    with pytest.raises(ValueError, match="unknown model 'flow'"):
        ModelConfig(kind="flow")
    with pytest.raises(ValueError, match="multiple of 2\\*\\*2"):
        Autoencoder(3, 30, 4, (8, 8))
    with pytest.raises(ValueError, match="needs the class labels"):
        build_model(ModelConfig(kind="cvae")).sample(2)


def test_mask_noise_zeroes_the_requested_fraction() -> None:
    x = torch.rand(50, 3, 16, 16) + 0.1  # nothing is zero to start with
    corrupted = mask_noise(x, 0.25, torch.Generator().manual_seed(0))
    assert (corrupted == 0).float().mean().item() == pytest.approx(0.25, abs=0.01)
    assert torch.equal(corrupted[corrupted != 0], x[corrupted != 0])


def test_ring_coverage_counts_modes() -> None:
    config = RingConfig()
    centres = ring_centres(config)
    assert torch.linalg.norm(centres, dim=1).allclose(torch.full((8,), 2.0))
    all_modes = centres.repeat(50, 1) + 0.01 * torch.randn(400, 2)
    assert mode_coverage(all_modes, config)[:2] == (8, 1.0)
    collapsed = torch.cat([centres[:3].repeat(100, 1), torch.zeros(100, 2)])  # 3 modes and junk at the centre
    covered, quality, _ = mode_coverage(collapsed, config)
    assert covered == 3 and quality == pytest.approx(0.75)


def test_ring_gan_trains_with_and_without_the_r1_penalty() -> None:
    for gamma in (0.0, 1.0):
        _, metrics = train_ring_gan(0.01, 0, RingConfig(batch_size=32, eval_points=100, r1_gamma=gamma))
        assert metrics["steps"] >= 1 and 0 <= metrics["modes_covered"] <= 8


def test_r1_penalty_is_the_squared_slope_of_d_on_the_real_points() -> None:
    x = torch.tensor([[1.0, 2.0], [0.0, -1.0]], requires_grad=True)
    w = torch.tensor([3.0, -4.0])
    assert r1_penalty(x @ w, x).item() == pytest.approx(25.0)  # ∇ₓ(w·x) = w, ‖w‖² = 25 for every x
    quadratic = (x**2).sum(1)  # ∇ₓ = 2x: ‖2x‖² = 20 and 4, mean 12
    penalty = r1_penalty(quadratic, x)
    assert penalty.item() == pytest.approx(12.0)
    penalty.backward()  # differentiable, so D's optimiser can descend it: ∂/∂x mean ‖2x‖² = 4x
    torch.testing.assert_close(x.grad, 4 * x.detach())


def test_classifier_augmentation_blurs_and_renoises_each_image_on_its_own() -> None:
    images = torch.zeros(2, 3, 9, 9)
    images[:, :, 4, 4] = 1.0  # one bright pixel
    blurred = gaussian_blur(images, torch.tensor([0.0, 1.0]))
    torch.testing.assert_close(blurred[0], images[0])  # σ = 0: unchanged
    assert blurred[1].sum().item() == pytest.approx(3.0, abs=1e-4)  # mass kept, per channel
    assert blurred[1, 0, 4, 4].item() == pytest.approx(1 / (2 * math.pi), rel=0.02)  # the 2-D Gaussian's peak
    flat = torch.full((4, 3, 16, 16), 0.5)
    out = augment(flat, ClassifierConfig(image_size=16, max_noise=0.1), torch.Generator().manual_seed(0))
    assert out.shape == flat.shape and 0 <= out.min() and out.max() <= 1
    spreads = (out - 0.5).flatten(1).std(1)
    assert spreads.max() <= 0.12 and spreads.max() > spreads.min()  # noise of its own strength per image


def test_a_conditional_decoder_reads_the_condition_at_every_stage() -> None:
    decoder = ConvDecoder(4, 3, 16, (8, 8), condition_dim=3)
    assert [stage[0].in_channels for stage in decoder.stages] == [8 + 3, 8 + 3]
    z = torch.randn(2, 4)
    c0, c1 = torch.eye(3)[[0, 0]], torch.eye(3)[[1, 1]]
    assert decoder(z, c0).shape == (2, 3, 16, 16) and not torch.allclose(decoder(z, c0), decoder(z, c1))
    with pytest.raises(ValueError, match="condition"):
        decoder(z)


def test_the_layered_decoder_maps_image_points_into_the_object_frame_by_hand() -> None:
    # t = (0.5, −0.25), s = 0.25: u_object = (u_image − t) / s.
    pose = torch.tensor([[math.atanh(0.5), math.atanh(-0.25), math.log(0.2 / 0.75)]])  # s = 0.05 + 0.95 σ(x)
    matrix = LayeredDecoder.place(pose)[0]  # [2, 3]

    def to_object(x: float, y: float) -> list[float]:
        return (matrix[:, :2] @ torch.tensor([x, y]) + matrix[:, 2]).tolist()

    assert to_object(0.5, -0.25) == pytest.approx([0, 0], abs=1e-6)  # t is the object's centre
    assert to_object(0.75, -0.25) == pytest.approx([1, 0], abs=1e-6)  # t + (s, 0): the frame's right edge
    assert to_object(0.25, 0.0) == pytest.approx([-1, 1], abs=1e-6)  # t + (−s, s): its bottom-left corner


def test_the_layered_decoder_paints_the_class_mask_in_one_colour_where_the_pose_puts_it() -> None:
    decoder = LayeredDecoder(4, 3, 16, (8, 8), condition_dim=3)
    with torch.no_grad():  # a pose of t = (0.5, 0.5), s = 0.525 (an 8.4 px frame); colour (1, 0, 0)
        decoder.to_pose.weight.zero_()
        decoder.to_pose.bias.copy_(torch.tensor([math.atanh(0.5), math.atanh(0.5), 0.0]))
        decoder.to_colour.weight.zero_()
        decoder.to_colour.bias.copy_(torch.tensor([20.0, -20.0, -20.0]))
        decoder.mask.stages[-1][0].weight.zero_()  # the class's mask: its whole frame
        decoder.mask.stages[-1][0].bias.fill_(20.0)
    image = decoder(torch.randn(2, 4), torch.eye(3)[[0, 2]])
    box = slice(10, 14)  # whole pixels in the window's flat part: 16 · (1.5 ± 0.525 · 7/8) / 2 ⊇ [8.4, 15.6]
    assert torch.allclose(image[:, :, box, box], torch.tensor([1.0, 0, 0])[:, None, None], atol=1e-4)
    assert not torch.allclose(image[:, :, :6, :6], torch.tensor([1.0, 0, 0])[:, None, None], atol=0.1)  # background
    with pytest.raises(ValueError, match="conditional model"):
        LayeredDecoder(4, 3, 16, (8, 8))


def test_the_placed_mask_is_supersampled_so_a_shrunk_fine_pattern_averages_out() -> None:
    decoder = LayeredDecoder(4, 1, 16, (8, 8), condition_dim=3)
    stripes = (torch.arange(16) % 2).float().expand(1, 1, 16, 16)  # [1, 1, 16, 16]: 1-px columns, 0 and 1
    pose = torch.tensor([[0.0, 0.0, math.log(0.55 / 0.45)]])  # s = 0.05 + 0.95 σ(x) ≈ 0.57: 16 px onto 9
    centre = slice(6, 10)  # inside the frame, away from its rim
    alpha = decoder.place_mask(stripes, pose)[0, 0, centre, centre]
    assert (alpha - 0.5).abs().max() < 0.1  # close to grey, the stripes' mean (measured: 0.06 off)
    decoder.supersample = 1  # one sample a pixel lands on whatever stripe is there
    assert (decoder.place_mask(stripes, pose)[0, 0, centre, centre] - 0.5).abs().max() > 0.25  # measured: 0.38


def test_the_layered_frame_never_shrinks_below_min_scale() -> None:
    pose = torch.tensor([[0.0, 0.0, -50.0]])  # a scale logit far below any the decoder would learn
    assert LayeredDecoder.place(pose, min_scale=0.25)[0, 0, 0].item() == pytest.approx(1 / 0.25)  # s = min_scale
    decoder = LayeredDecoder(4, 1, 16, (8, 8), condition_dim=3, min_scale=0.25)
    full = torch.ones(1, 1, 16, 16)  # a mask covering its whole frame
    area = decoder.place_mask(full, pose).sum().item()
    assert area == pytest.approx((0.25 * 16) ** 2, rel=0.05)  # a 4 × 4 px frame, not a speck
    with pytest.raises(ValueError, match="min_scale"):
        ModelConfig(kind="cgan", decoder="layered", min_scale=0.0)
    with pytest.raises(ValueError, match="has none: add --decoder layered"):  # the conv decoder has no frame
        ModelConfig(kind="cgan", decoder="conv", min_scale=0.2)


def test_a_turned_frame_maps_image_points_by_hand() -> None:
    # t = (0.5, 0), s ≈ 0.5, θ = π/2: u_object = R(−θ) (u_image − t) / s.
    pose = torch.tensor([[math.atanh(0.5), 0.0, math.log(0.45 / 0.5)]])  # s = 0.05 + 0.95 σ(x) = 0.5
    matrix = LayeredDecoder.place(pose, torch.tensor([math.pi / 2]))[0]

    def to_object(x: float, y: float) -> list[float]:
        return (matrix[:, :2] @ torch.tensor([x, y]) + matrix[:, 2]).tolist()

    assert to_object(0.5, 0.0) == pytest.approx([0, 0], abs=1e-6)  # the centre does not move
    assert to_object(0.5, 0.5) == pytest.approx([1, 0], abs=1e-6)  # the frame's +x axis now points along image +y
    assert to_object(0.0, 0.0) == pytest.approx([0, 1], abs=1e-6)  # and its +y axis along image −x


def test_the_layered_decoder_with_turns_turns_one_class_template() -> None:
    decoder = LayeredDecoder(4, 1, 16, (8, 8), condition_dim=3 + 4, turns=4)
    assert decoder.layout[0].in_features == 4 + 3  # the code and the class: the turn never reaches the layout
    with torch.no_grad():  # the frame at the centre, half the image; white on black
        decoder.to_pose.weight.zero_()
        decoder.to_pose.bias.copy_(torch.tensor([0.0, 0.0, math.log(0.45 / 0.5)]))
        decoder.to_colour.weight.zero_()
        decoder.to_colour.bias.fill_(20.0)
        decoder.to_background.weight.zero_()
        decoder.to_background.bias.fill_(-20.0)
    z, label = torch.randn(1, 4).expand(4, 4), torch.eye(3)[[2, 2, 2, 2]]
    images = decoder(z, torch.cat([label, torch.eye(4)], 1))[:, 0]  # [4, 16, 16]: turns 0, 1, 2, 3
    assert images.std() > 0.01  # an object of some shape (an untrained template, not turn-symmetric)
    for k in (1, 2, 3):  # turn k is turn 0 rotated by k quarter-turns (grid and frame are symmetric)
        torch.testing.assert_close(images[k], torch.rot90(images[0], -k, (0, 1)), atol=1e-5, rtol=0)
    assert not torch.allclose(images[1], images[0], atol=1e-3)
    with pytest.raises(ValueError, match="only the layered decoder turns"):
        VAE(3, 16, 4, (8, 8), num_classes=3, decoder_kind="conv", turns=4)


def test_a_vae_with_turns_decodes_every_turn_and_reconstructs_with_the_likeliest() -> None:
    config = ModelConfig(kind="cvae", image_size=16, latent_dim=4, channels=(8, 8), decoder="layered", turns=4)
    torch.manual_seed(0)
    vae = build_model(config)
    x, y = torch.rand(3, 3, 16, 16), torch.tensor([0, 1, 2])
    x_means, mu, _ = vae(x, y)
    assert x_means.shape == (4, 3, 3, 16, 16) and vae.sample(5, torch.arange(5) % 3).shape == (5, 3, 16, 16)
    with torch.no_grad():
        every = vae.decode_turns(mu, y)  # [K, B, ...] at the posterior mean
        errors = (every - x).pow(2).flatten(2).sum(2)  # [K, B]
        chosen = reconstruct(vae, config, x, y)
        for k in range(4):  # one layout placed K times is the decoder run with each turn
            torch.testing.assert_close(every[k], vae.decode(mu, y, torch.full((3,), k)), atol=1e-6, rtol=0)
    torch.testing.assert_close(chosen, every[errors.argmin(0), torch.arange(3)])
    with pytest.raises(ValueError, match="pass the turn"):
        vae.decode(mu, y)


@pytest.mark.parametrize("kind", ["gan", "cgan"])
def test_the_r1_penalty_adds_to_the_discriminator_loss_of_a_gan_step(kind) -> None:
    images, labels = torch.rand(8, 3, 16, 16), torch.arange(8) % 3
    losses = []
    for gamma in (0.0, 10.0):
        torch.manual_seed(0)
        config = TrainConfig(model=ModelConfig(kind=kind, image_size=16, latent_dim=4, channels=(8, 8)),
                             batch_size=4, r1_gamma=gamma)
        step, _ = make_step(build_model(config.model), config, images, labels, torch.Generator().manual_seed(0))
        losses.append(step(0)["d_loss"].item())
    assert losses[1] > losses[0]  # the same batch and weights, plus γ/2 · E‖∇ₓ D(x)‖² > 0


def test_the_discriminator_learns_at_its_own_time_scale() -> None:
    config = TrainConfig(model=ModelConfig(kind="gan", image_size=16, latent_dim=4, channels=(8, 8)), batch_size=4,
                         gan_learning_rate=2e-4, discriminator_lr_scale=3.0)
    model = build_model(config.model)
    _, (g_optimizer, d_optimizer) = make_step(model, config, torch.rand(8, 3, 16, 16), torch.zeros(8, dtype=torch.long),
                                              torch.Generator().manual_seed(0))
    assert g_optimizer.param_groups[0]["lr"] == pytest.approx(2e-4)
    assert d_optimizer.param_groups[0]["lr"] == pytest.approx(6e-4)
    assert {id(p) for p in d_optimizer.param_groups[0]["params"]} == {id(p) for p in model.discriminator.parameters()}
    with pytest.raises(ValueError, match="discriminator_lr_scale must be > 0"):
        TrainConfig(discriminator_lr_scale=0)


@pytest.mark.parametrize("fake_class", [False, True])
def test_acgan_discriminator_learns_the_class_of_real_images_only_unless_asked(fake_class, monkeypatch) -> None:
    import generative.train as train_module

    config = TrainConfig(model=ModelConfig(kind="cgan", image_size=16, latent_dim=4, channels=(8, 8)),
                         batch_size=4, acgan_fake_class_loss=fake_class)
    calls = []  # every class_loss the step computes
    monkeypatch.setattr(train_module, "class_loss", lambda out, y: calls.append(1) or class_loss(out, y))
    images, labels = torch.rand(8, 3, 16, 16), torch.arange(8) % 3
    step, _ = make_step(build_model(config.model), config, images, labels, torch.Generator().manual_seed(0))
    step(0)
    # D: real (and generated, if asked); then G: generated, through the generator.
    assert len(calls) == (3 if fake_class else 2)


@pytest.mark.parametrize("twin", [False, True])
def test_tac_gan_generator_is_scored_by_the_twin_classifier_with_the_opposite_sign(twin, monkeypatch) -> None:
    import generative.train as train_module

    config = TrainConfig(model=ModelConfig(kind="cgan", image_size=16, latent_dim=4, channels=(8, 8),
                                           twin_classifier=twin), batch_size=4)
    heads = []  # the class logits each class_loss saw, in the order the step computes them

    def fake_class_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        heads.append(logits)
        return logits.sum() * 0 + 5.0  # a constant 5 that still has a gradient path

    monkeypatch.setattr(train_module, "class_loss", fake_class_loss)
    monkeypatch.setattr(train_module, "generator_loss", lambda logits: logits.sum() * 0)
    images, labels = torch.rand(8, 3, 16, 16), torch.arange(8) % 3
    step, _ = make_step(build_model(config.model), config, images, labels, torch.Generator().manual_seed(0))
    g_loss = step(0)["g_loss"].item()
    # D: the real images' classes (and, with the twin, the generated ones'); G: C's loss, minus the twin's.
    assert len(heads) == (4 if twin else 2)
    assert g_loss == pytest.approx(0.0 if twin else 5.0)
    with pytest.raises(ValueError, match="twin_classifier"):
        ModelConfig(kind="gan", twin_classifier=True)


def test_pixel_noise_is_drawn_around_the_generator_image_and_its_sigma_is_trained() -> None:
    config = TrainConfig(model=ModelConfig(kind="gan", image_size=16, latent_dim=4, channels=(8, 8), pixel_noise=True),
                         batch_size=4)
    torch.manual_seed(0)
    gan = build_model(config.model).eval()
    z = torch.randn(64, 4)
    clean = gan.generator(z)  # the mean of p(x|z)
    noisy = gan.generate(z, generator=torch.Generator().manual_seed(1))
    assert (noisy - clean).std().item() == pytest.approx(math.exp(-3.0), rel=0.05)  # σ starts at e^−3 ≈ 0.05
    assert any(p is gan.log_noise for p in gan.generator_parameters())  # the generator's optimiser trains σ
    gan.train()
    step, _ = make_step(gan, config, torch.rand(8, 3, 16, 16), torch.zeros(8, dtype=torch.long),
                        torch.Generator().manual_seed(0))
    step(0)
    assert gan.log_noise.item() != -3.0  # one generator step moved it
    with pytest.raises(ValueError, match="decoder_std is its noise"):
        ModelConfig(kind="vae", pixel_noise=True)


def test_train_then_sample_command_lines(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    common = ["--minutes", "0.01", "--clock", "cpu", "--train-images", "200", "--eval-images", "40",
              "--classifier", str(tmp_path / "classifier.pt"), "--classifier-minutes", "0.01"]
    assert train_main(["cvae", "--out", str(run), "--decoder", "conv", *common]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    for key in ("recon_mse", "elbo", "fid", "class_acc", "pca_recon_mse", "pca_fid", "real_fid", "steps"):
        assert math.isfinite(metrics[key]), key
    assert 0 <= metrics["class_acc"] <= 1 and metrics["steps"] >= 1
    saved = torch.load(run / "model.pt", weights_only=True)
    assert saved["config"]["kind"] == "cvae"
    assert (run / "samples.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for extra in ([], ["--interpolate"]):
        out = tmp_path / f"drawn{len(extra)}.png"
        assert sample_main([str(run), "--out", str(out), "--rows", "2", "--columns", "3", *extra]) == 0
        assert out.read_bytes()[:4] == b"\x89PNG"
    for kind in ("cvae", "cgan"):  # their defaults: turned templates, end to end; the GAN's with pixel noise
        turned = tmp_path / f"turned-{kind}"
        assert train_main([kind, "--out", str(turned), *common]) == 0
        metrics = json.loads((turned / "metrics.json").read_text())
        assert metrics["config"]["model"]["turns"] == 4 and metrics["config"]["model"]["decoder"] == "layered"
        assert ("pixel_noise_sigma" in metrics) == (kind == "cgan")
        assert 0 < metrics.get("pixel_noise_sigma", 0.5) < 1
        out = tmp_path / f"walk-{kind}.png"
        assert sample_main([str(turned), "--out", str(out), "--rows", "4", "--columns", "3", "--interpolate"]) == 0
    assert train_main(["dae", "--out", str(tmp_path / "ae"), *common]) == 0
    metrics = json.loads((tmp_path / "ae" / "metrics.json").read_text())
    assert "fid" not in metrics and math.isfinite(metrics["denoise_mse"] + metrics["pca_denoise_mse"])
    assert metrics["pca_denoise_mse"] > metrics["pca_recon_mse"]  # masked inputs are harder to reconstruct
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:  # an autoencoder has no prior to sample
        sample_main([str(tmp_path / "ae"), "--out", str(tmp_path / "x.png")])
    assert exit_info.value.code == 2 and "no latent prior" in capsys.readouterr().err
    assert sample_main([str(tmp_path / "ae"), "--out", str(tmp_path / "walk.png"), "--interpolate"]) == 0
    kept = (run / "model.pt").read_bytes()
    for out, problem in ((run, "already holds a run"), (tmp_path / "walk.png", "is a file")):  # nothing overwritten
        with pytest.raises(SystemExit) as exit_info:
            train_main(["vae", "--out", str(out), *common])
        assert exit_info.value.code == 2 and problem in capsys.readouterr().err
    assert (run / "model.pt").read_bytes() == kept and (tmp_path / "walk.png").read_bytes()[:4] == b"\x89PNG"


def test_each_kind_trains_with_its_defaults_unless_told_otherwise() -> None:
    cgan = config_for("cgan")
    assert (cgan.model.decoder, cgan.model.turns, cgan.model.channels) == ("layered", 4, (16, 32, 64))
    assert cgan.r1_gamma == 0.01 and cgan.model.pixel_noise and cgan.model.twin_classifier
    assert config_for("cvae").beta == 1.5 and config_for("vae").beta == TrainConfig().beta
    assert config_for("gan").model == ModelConfig(kind="gan")  # no row: the dataclasses' defaults
    told = config_for("cgan", r1_gamma=1.0, pixel_noise=False, threads=2)
    assert (told.r1_gamma, told.model.pixel_noise, told.threads, told.model.turns) == (1.0, False, 2, 4)
    assert config_for("cgan", decoder="conv").model.turns == 0  # turns are the layered decoder's
    with pytest.raises(ValueError, match="unknown setting"):
        config_for("cvae", learning_rat=1e-3)


def test_threads_follow_the_clock_unless_given() -> None:
    assert TrainConfig(clock="cpu").num_threads == 1  # the most work per CPU second
    assert TrainConfig(clock="wall").num_threads == min(4, os.cpu_count() or 1)  # the most per wall second
    assert TrainConfig(clock="cpu", threads=3).num_threads == 3
    with pytest.raises(ValueError, match="threads must be at least 0"):
        TrainConfig(threads=-1)


@pytest.mark.parametrize("argv,message", [
    (["train", "flow"], "invalid choice: 'flow'"),
    (["train", "vae", "--latent-dim", "0"], "latent_dim"),
    (["train", "vae", "--minutes", "-1"], "--minutes"),
    (["train", "vae", "--decoder", "layered"], "use it with cvae or cgan"),
    (["train", "vae", "--turns", "4"], "turns must be 0, or positive with the layered decoder"),
    (["train", "cgan", "--learning-rate", "1"], "unrecognized arguments: --learning-rate"),
    (["train", "vae", "--pixel-noise"], "decoder_std is its noise"),
    (["sample", "missing.pt", "--out", "x.png"], "no weights file"),
    (["sample", "corrupt.pt", "--out", "x.png"], "not a generative weights file"),
])
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys, monkeypatch, argv, message) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corrupt.pt").write_bytes(b"not a checkpoint")
    main = train_main if argv[0] == "train" else sample_main
    with pytest.raises(SystemExit) as exit_info:
        main(argv[1:])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and err.startswith("error: ") and message in err and "\n" not in err


def test_generative_never_imports_agentlab() -> None:
    code = ("import sys, generative, generative.train, generative.sample, generative.ring; "
            "assert not [m for m in sys.modules if m.split('.')[0] == 'agentlab'], 'agentlab imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_model_seed_is_scored_by_one_classifier_and_starts_the_same_whether_it_was_cached(tmp_path) -> None:
    from generative.train import train

    cache = tmp_path / "classifier.pt"
    config = TrainConfig(model=ModelConfig(kind="cvae", image_size=16, latent_dim=4, channels=(8, 8)),
                         train_images=64, eval_images=8, classifier_path=str(cache), classifier_minutes=0.002,
                         clock="cpu")
    train(0.0, tmp_path / "first", seed=3, config=config)  # trains and caches the classifier (seed 0)
    first_cache = cache.read_bytes()
    train(0.0, tmp_path / "second", seed=3, config=config)  # loads it
    assert cache.read_bytes() == first_cache  # a model seed of 3 did not retrain it for seed 3
    assert torch.load(cache, weights_only=True)["config"]["seed"] == 0
    first, second = (torch.load(tmp_path / run / "model.pt", weights_only=True)["state_dict"]
                     for run in ("first", "second"))
    for name, tensor in first.items():
        torch.testing.assert_close(second[name], tensor, rtol=0, atol=0)
