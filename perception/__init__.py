"""Vision building blocks usable on their own: encoders, sequence models, segmentation, detection.

Standalone by design: nothing here imports ``agentlab``; agents adapt these modules through the
``features_dim`` protocol on their side.
"""
