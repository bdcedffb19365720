"""Generative models (autoencoders, VAE, GAN, world models); standalone, never imports agentlab."""
