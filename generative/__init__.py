"""Generative models usable on their own, and as world-model parts for agents; never imports agentlab.

- ``networks``: ``ConvEncoder`` / ``ConvDecoder`` (DCGAN layout), each an ``nn.Module`` with ``features_dim``.
- ``autoencoder``: convolutional autoencoder and the denoising one's masking noise (Vincent et al. 2008).
- ``vae``: VAE with ``encode`` / ``reparameterize`` / ``decode`` (Kingma & Welling 2014), conditional when
  given classes (Sohn et al. 2015); β is a training option (Higgins et al. 2017).
- ``gan``: DCGAN generator and discriminator (Radford et al. 2016) and AC-GAN (Odena et al. 2017).
- ``losses``: the ELBO term by term (with a discrete turn summed out of the likelihood), the non-saturating GAN
  losses (Goodfellow et al. 2014), AC-GAN's class loss.
- ``pca``: the linear baseline at the same latent size; ``fid``: Fréchet distance on a shapes classifier
  trained here; ``ring``: the 8-Gaussian mode-coverage check.
- ``train`` / ``sample``: ``python -m generative.train {ae,dae,vae,cvae,gan,cgan}`` on perception's shared
  loop (``perception.loop``) and ``python -m generative.sample WEIGHTS --out FILE.png [--interpolate]``.
"""
