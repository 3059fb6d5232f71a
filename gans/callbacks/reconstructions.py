"""Reconstruction grids for games that map inputs to outputs (autoencoders; translation later)."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import Tensor
from torchvision.utils import make_grid

from gans.callbacks.periodic import EveryIterations
from gans.callbacks.samples import PeriodicImage
from gans.errors import ConfigError
from gans.metrics.held_out import score_reconstructions


class Reconstructions(PeriodicImage):
    """Every ``every`` iterations and at the end, for games with ``reconstructs = True``: the
    first ``num`` real samples of the run beside the game's output for them
    (``sample(n, inputs=x)``), as ``<dirpath>/recon_XXXXXX.png`` (pairs of rows: x, then x-hat)
    and the logged image ``reconstructions``. Other games are left alone."""

    prefix = "recon"
    key = "reconstructions"

    def __init__(
        self, dirpath: str, every: int = 500, num: int = 32, nrow: int = 8, first_after: float = 0.0
    ) -> None:
        super().__init__(dirpath, every, first_after)
        self.num = int(num)
        self.nrow = int(nrow)
        self.inputs: Tensor | None = None

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: Any, batch: Any, *_: Any) -> None:
        if self.inputs is None and pl_module.reconstructs:
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


class ReconstructionEvaluation(EveryIterations):
    """Every ``every`` iterations and at the end, for autoencoders on data with held-out images
    (``data.holdout``): L1, PSNR, SSIM, rFID and rKID of the reconstructions of the held-out
    images, and the codebook's usage and perplexity over their codes when the game has one,
    logged under protocol stamps (``rfid/<tag>``, ``codebook/usage/<tag>``, ...)."""

    def __init__(self, evaluator: Any, every: int) -> None:
        super().__init__(every)
        self.evaluator = evaluator
        self.images: Tensor | None = None

    def on_fit_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        held = getattr(trainer.datamodule, "held_out", lambda: None)()
        if held is None:
            raise ConfigError(
                f"reconstruction metrics need held-out images: set data.holdout=<count> (e.g. "
                f"1000) for data={getattr(trainer.datamodule, 'name', '?')}, or metrics=none"
            )
        self.images = held[0][: self.evaluator.max_images]

    def run(self, trainer: L.Trainer, pl_module: Any) -> dict[str, float]:
        assert self.images is not None
        pl_module.sync_buffers()
        scores = score_reconstructions(self.evaluator, pl_module, self.images, pl_module.uses_ema)
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.log_metrics(scores, step=trainer.global_step)
        return {key.split("/")[0]: value for key, value in scores.items()}
