"""Vision building blocks usable on their own: encoders, sequence models, segmentation, detection.

- ``encoders``: Nature / small Atari / IMPALA CNNs, each an ``nn.Module`` with ``features_dim``.
- ``blocks``: residual, depthwise-separable and squeeze-and-excitation blocks.
- ``conv_math``: output sizes and receptive fields of conv stacks.
- ``sequence``: GRU/LSTM and causal Transformer encoders of observation histories.
- ``data``: synthetic shapes with masks and boxes; ``segmentation``, ``seg_losses``, ``seg_metrics``.
- ``train`` / ``predict``: command-line training and drawing for segmentation and detection.
- ``pretrain``: supervised pretraining of an encoder on labelled frames; saves the body for agents.
- ``saving``: atomic ``torch.save`` for every weights file written here.
- ``cli``: the one-line usage error (exit 2) of every command line here, in ``generative/`` and in ``agentlab``.

Standalone by design: nothing here imports ``agentlab``; agents adapt these modules through the
``features_dim`` protocol on their side.
"""
