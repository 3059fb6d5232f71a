"""gans: generative adversarial networks as composable Lightning + Hydra experiments."""

__version__ = "0.1.0"
