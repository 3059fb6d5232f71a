"""Reconstruction grids for games that map inputs to outputs (autoencoders; translation later)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_only
from torchvision.utils import make_grid, save_image

from gans import rng
from gans.callbacks.samples import log_image


class Reconstructions(L.Callback):
    """Every ``every`` iterations and at the end, for games with ``reconstructs = True``: the
    first ``num`` real samples of the run beside the game's output for them
    (``sample(n, inputs=x)``), as ``<dirpath>/recon_XXXXXX.png`` (pairs of rows: x, then x-hat)
    and the logged image ``reconstructions``. Other games are left alone."""

    def __init__(self, dirpath: str, every: int = 500, num: int = 32, nrow: int = 8) -> None:
        self.dirpath = Path(dirpath)
        self.every = int(every)
        self.num = int(num)
        self.nrow = int(nrow)
        self.inputs: torch.Tensor | None = None
        self._last_step = -1

    def on_train_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        self._last_step = trainer.global_step

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: Any, batch: Any, *_: Any) -> None:
        if self.inputs is None and getattr(pl_module, "reconstructs", False):
            self.inputs = batch.real[: self.num].detach().clone()

    def write(self, trainer: L.Trainer, pl_module: Any) -> None:
        step = trainer.global_step
        if self.inputs is None or step == self._last_step:
            return
        self._last_step = step
        pl_module.raise_if_diverged()
        with rng.preserved():
            made = pl_module.sample(self.inputs.shape[0], inputs=self.inputs)
        rows = [
            torch.cat([self.inputs[i : i + self.nrow].float(), made[i : i + self.nrow]])
            for i in range(0, self.inputs.shape[0], self.nrow)
        ]
        grid = make_grid(
            torch.cat(rows).cpu(), nrow=self.nrow, normalize=True, value_range=(-1, 1), padding=2
        )
        self._save(grid, step, trainer)

    @rank_zero_only
    def _save(self, grid: torch.Tensor, step: int, trainer: L.Trainer) -> None:
        self.dirpath.mkdir(parents=True, exist_ok=True)
        save_image(grid, self.dirpath / f"recon_{step:06d}.png")
        for logger in trainer.loggers:
            log_image(logger, "reconstructions", grid, step)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: Any, *args: Any) -> None:
        step = trainer.global_step
        if self.every > 0 and step > 0 and step % self.every == 0:
            self.write(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        self.write(trainer, pl_module)
