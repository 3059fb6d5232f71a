"""Rebuild a trained run (config, data, model) from one of its checkpoints."""

from __future__ import annotations

import os
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from gans.build import build_model
from gans.games.base import Game
from gans.resume import check_fits
from gans.trust import read_checkpoint


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The checkpoint at ``path``, read through the trust boundary (:mod:`gans.trust`), or a
    one-line ConfigError."""
    return read_checkpoint(path, "ckpt")


def run_config(
    checkpoint: dict[str, Any], overrides: DictConfig | dict | None = None
) -> DictConfig:
    """The run's resolved config with ``overrides`` (this command's own choices, e.g.
    ``{"data": {"root": ...}}``) merged in. The checkpoint's part was checked by
    :func:`gans.trust.read_checkpoint` before anything reads it."""
    cfg = OmegaConf.create(checkpoint["gans"]["config"])
    if overrides:
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
    """(config, model with the checkpoint's weights in eval mode, iteration); a checkpoint whose
    tensors do not fit the model its config builds is refused in one line."""
    checkpoint = load_checkpoint(path)
    cfg = run_config(checkpoint, overrides)
    model = build_model(cfg)
    saved = {
        "path": str(path),
        "shapes": {k: tuple(v.shape) for k, v in checkpoint["state_dict"].items()},
        "config": checkpoint["gans"]["config"],
    }
    check_fits(model, saved, cfg, key="ckpt")
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
