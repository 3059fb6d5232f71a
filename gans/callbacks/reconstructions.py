"""Reconstruction grids for games that map inputs to outputs (autoencoders; translation later)."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import Tensor
from torchvision.utils import make_grid

from gans.callbacks.samples import PeriodicImage


class Reconstructions(PeriodicImage):
    """Every ``every`` iterations and at the end, for games with ``reconstructs = True``: the
    first ``num`` real samples of the run beside the game's output for them
    (``sample(n, inputs=x)``), as ``<dirpath>/recon_XXXXXX.png`` (pairs of rows: x, then x-hat)
    and the logged image ``reconstructions``. Other games are left alone."""

    prefix = "recon"
    key = "reconstructions"

    def __init__(self, dirpath: str, every: int = 500, num: int = 32, nrow: int = 8) -> None:
        super().__init__(dirpath, every)
        self.num = int(num)
        self.nrow = int(nrow)
        self.inputs: Tensor | None = None

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: Any, batch: Any, *_: Any) -> None:
        if self.inputs is None and getattr(pl_module, "reconstructs", False):
            self.inputs = batch.real[: self.num].detach().clone()

    def applies(self, pl_module: Any) -> bool:
        return self.inputs is not None

    def grid(self, pl_module: Any) -> Tensor:
        assert self.inputs is not None
        made = pl_module.sample(self.inputs.shape[0], inputs=self.inputs)
        rows = [
            torch.cat([self.inputs[i : i + self.nrow].float(), made[i : i + self.nrow]])
            for i in range(0, self.inputs.shape[0], self.nrow)
        ]
        return make_grid(
            torch.cat(rows).cpu(), nrow=self.nrow, normalize=True, value_range=(-1, 1), padding=2
        )
