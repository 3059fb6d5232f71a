"""Rebuild a trained run (config, data, model) from one of its checkpoints."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from gans.build import build_model, check_restorable
from gans.errors import ConfigError
from gans.games.base import Game
from gans.resume import read_checkpoint


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The checkpoint at ``path`` (loaded with ``weights_only=True``), or a ConfigError."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"ckpt={path} does not exist")
    checkpoint = read_checkpoint(file, "ckpt")
    if "gans" not in checkpoint or "config" not in checkpoint["gans"]:
        raise ConfigError(f"ckpt={path} was not written by gans.train (no 'gans' config in it)")
    return checkpoint


def run_config(
    checkpoint: dict[str, Any], overrides: DictConfig | dict | None = None
) -> DictConfig:
    """The run's resolved config with ``overrides`` merged in (e.g. ``{"data": {"root": ...}}``).
    A checkpoint is data: every ``_target_`` that restoring instantiates is checked against
    :data:`gans.build.ALLOWED_TARGETS` before anything is."""
    check_restorable(checkpoint["gans"]["config"])
    cfg = OmegaConf.create(checkpoint["gans"]["config"])
    if overrides:
        check_restorable(overrides)
        cfg = OmegaConf.merge(cfg, overrides)
        # the saved config is resolved: data.datamodule's copies of data.* no longer follow them
        data = OmegaConf.create(overrides).get("data") or {}
        module = cfg.get("data", {}).get("datamodule")
        given = data.get("datamodule") or {}
        for key, value in data.items():
            if module is not None and key in module and key not in given:
                module[key] = value
    return cfg


def restore(
    path: str | os.PathLike, overrides: DictConfig | dict | None = None
) -> tuple[DictConfig, Game, int]:
    """(config, model with the checkpoint's weights in eval mode, iteration)."""
    checkpoint = load_checkpoint(path)
    cfg = run_config(checkpoint, overrides)
    model = build_model(cfg)
    model.load_state_dict(checkpoint["state_dict"])
    model.eval()
    return cfg, model, int(checkpoint.get("global_step", 0))


def datamodule(cfg: DictConfig) -> Any:
    """The run's training data, set up."""
    dm = instantiate(cfg.data.datamodule)
    dm.prepare_data()
    dm.setup("fit")
    return dm


def device(choice: str = "auto") -> torch.device:
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(choice)
