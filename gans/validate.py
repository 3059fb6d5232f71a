"""Checks on a composed configuration, run before anything is built or trained."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from gans.errors import ConfigError
from gans.prior import PRIORS


def _positive_int(cfg: DictConfig, key: str, allow_zero: bool = False) -> None:
    value = OmegaConf.select(cfg, key)
    low = 0 if allow_zero else 1
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        hint = "an integer >= 0 (0 disables it)" if allow_zero else "an integer >= 1"
        raise ConfigError(f"{key}={value} must be {hint}")


def validate(cfg: DictConfig) -> None:
    """Raise :class:`ConfigError` naming the first key whose value cannot work."""
    _positive_int(cfg, "iterations")
    _positive_int(cfg, "log_every")
    _positive_int(cfg, "sample_every", allow_zero=True)
    _positive_int(cfg, "checkpoint_every", allow_zero=True)
    _positive_int(cfg, "model.n_critic")
    _positive_int(cfg, "model.n_gen")
    _positive_int(cfg, "model.latent.dim")
    _positive_int(cfg, "data.batch_size")
    prior = OmegaConf.select(cfg, "model.latent.prior")
    if prior not in PRIORS:
        raise ConfigError(f"model.latent.prior={prior} is unknown; allowed: {', '.join(PRIORS)}")
    updates = OmegaConf.select(cfg, "model.updates", default="alternating")
    if updates not in ("alternating", "simultaneous"):
        raise ConfigError(f"model.updates={updates} is unknown; allowed: alternating, simultaneous")
    for player in ("generator", "discriminator"):
        key = f"optimizer.{player}.lr"
        lr = OmegaConf.select(cfg, key)
        if not isinstance(lr, (int, float)) or isinstance(lr, bool) or lr <= 0:
            raise ConfigError(f"{key}={lr} must be a number > 0")
