"""Stage 2 of a two-stage model reads its frozen first stage from a checkpoint
(``model=vqgan_transformer model.first_stage=<stage-1 ckpt>``): the networks' configs go into the
run's config (so a stage-2 checkpoint restores without the stage-1 file) and their weights into
the new game."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict
from torch import Tensor

from gans.errors import ConfigError
from gans.trust import read_checkpoint, targets_in

#: the game a first stage must have been trained as
STAGE_ONE = "gans.games.vqgan.VQGANGame"
#: the stage-1 networks stage 2 keeps
PARTS = ("encoder", "quantizer", "decoder")


def read_first_stage(cfg: DictConfig) -> dict[str, Tensor] | None:
    """When ``cfg.model.first_stage`` names a file and ``cfg.model.autoencoder`` is empty: fill
    ``autoencoder`` with the stage-1 networks' configs and return their weights (keys
    ``<part>.<name>``). None when there is nothing to read (a restored stage-2 run carries both
    in its own checkpoint). One-line ConfigErrors for a missing file or one that is not a stage-1
    VQGAN, saying what it holds."""
    path = cfg.model.get("first_stage")
    if not path or cfg.model.get("autoencoder"):
        return None
    file = Path(os.path.expanduser(str(path)))
    if not file.exists():
        raise ConfigError(
            f"model.first_stage={path} does not exist: train stage 1 first "
            "(python -m gans.train model=vqgan ...) and pass its checkpoint"
        )
    # the user's own composed targets (custom stage-1 networks) are theirs to trust
    checkpoint = read_checkpoint(
        file, "model.first_stage", trusted=targets_in(cfg), needs_config=False
    )
    saved = (checkpoint.get("gans") or {}).get("config")
    if not saved:
        raise ConfigError(
            f"model.first_stage={path} holds a checkpoint not written by gans.train (no 'gans' "
            "config in it), not a stage-1 VQGAN (model=vqgan)"
        )
    model = saved.get("model") or {}
    if model.get("_target_") != STAGE_ONE:
        raise ConfigError(
            f"model.first_stage={path} holds a model={model.get('name', '?')} checkpoint "
            f"({model.get('_target_', 'no game class')}), not a stage-1 VQGAN (model=vqgan)"
        )
    missing = [part for part in PARTS if not isinstance(model.get(part), dict)]
    if missing:
        raise ConfigError(f"model.first_stage={path} has no model.{missing[0]} in its config")
    parts = {part: model[part] for part in PARTS}
    with open_dict(cfg):
        cfg.model.autoencoder = OmegaConf.create(parts)
    return {
        key: value
        for key, value in checkpoint["state_dict"].items()
        if key.split(".", 1)[0] in PARTS
    }


def load_first_stage(game: Any, weights: dict[str, Tensor]) -> None:
    """Stage 1's weights into ``game.autoencoder`` (every key must match)."""
    game.autoencoder.load_state_dict(weights, strict=True)
