"""Latent traversal grids for games that have them (``traversal(steps)``: model=vae)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.utilities import rank_zero_only
from torch import Tensor
from torchvision.utils import make_grid, save_image

from gans import rng
from gans.callbacks.samples import log_image


class LatentTraversal(L.Callback):
    """At the end of training (and every ``every`` iterations when > 0), for games with a
    ``traversal(steps)`` method: one row per latent dimension, ``steps`` columns sweeping it
    with the rest fixed, as ``<dirpath>/traversal_XXXXXX.png`` and the logged image
    ``traversal``. Other games are left alone."""

    def __init__(self, dirpath: str, every: int = 0, steps: int = 9) -> None:
        self.dirpath = Path(dirpath)
        self.every = int(every)
        self.steps = int(steps)
        self._last_step = -1

    def on_train_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        self._last_step = trainer.global_step

    def write(self, trainer: L.Trainer, pl_module: Any) -> None:
        step = trainer.global_step
        if not hasattr(pl_module, "traversal") or step == self._last_step:
            return
        self._last_step = step
        pl_module.raise_if_diverged()
        with rng.preserved():
            images = pl_module.traversal(self.steps).cpu()
        grid = make_grid(images, nrow=self.steps, normalize=True, value_range=(-1, 1), padding=2)
        self._save(grid, step, trainer)

    @rank_zero_only
    def _save(self, grid: Tensor, step: int, trainer: L.Trainer) -> None:
        self.dirpath.mkdir(parents=True, exist_ok=True)
        save_image(grid, self.dirpath / f"traversal_{step:06d}.png")
        for logger in trainer.loggers:
            log_image(logger, "traversal", grid, step)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: Any, *args: Any) -> None:
        step = trainer.global_step
        if self.every > 0 and step > 0 and step % self.every == 0:
            self.write(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        self.write(trainer, pl_module)
