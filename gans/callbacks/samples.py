"""Fixed-noise sample grids, written as PNG and sent to every logger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import Logger, TensorBoardLogger, WandbLogger
from lightning.pytorch.utilities import rank_zero_only
from torch import Tensor
from torchvision.utils import make_grid, save_image

from gans.nets.modes import evaluating


def log_image(logger: Logger, key: str, grid: Tensor, step: int) -> None:
    """Send a (C, H, W) image in [0, 1] to a logger that can show images (others keep the PNG)."""
    if isinstance(logger, WandbLogger):
        logger.log_image(key=key, images=[grid], step=step)
    elif isinstance(logger, TensorBoardLogger):
        logger.experiment.add_image(key, grid, global_step=step)


def fixed_inputs(pl_module: Any, num: int, seed: int) -> tuple[Tensor, Tensor | None]:
    """``num`` latent vectors drawn from ``seed`` (the same every call) and, for conditional
    models, labels cycling through the classes; on the module's device."""
    gen = torch.Generator().manual_seed(seed)
    z = pl_module.prior.sample(num, "cpu", generator=gen).to(pl_module.device)
    y = None
    if pl_module.conditional:
        classes = int(pl_module.config.get("model", {}).get("num_classes", 10))
        y = (torch.arange(num) % classes).to(pl_module.device)
    return z, y


class SampleGrid(L.Callback):
    """Every ``every`` generator iterations and at the end of training, draw G (its EMA when
    enabled) on a fixed batch of latent vectors (and, for conditional models, labels cycling
    through the classes), in eval mode, and save ``<dirpath>/iter_XXXXXX.png``.
    """

    def __init__(
        self, dirpath: str, every: int = 500, num: int = 64, nrow: int = 8, seed: int = 0
    ) -> None:
        self.dirpath = Path(dirpath)
        self.every = int(every)
        self.num = int(num)
        self.nrow = int(nrow)
        self.seed = int(seed)
        self.last_path: Path | None = None
        self._last_step = -1

    @torch.no_grad()
    def grid(self, pl_module: Any) -> Tensor | None:
        """The current grid as a (C, H, W) tensor in [0, 1]; None when G does not make images."""
        z, y = fixed_inputs(pl_module, self.num, self.seed)
        generator = pl_module.sampling_generator
        with evaluating(generator):
            images = generator(z, y).float().cpu()
        if images.dim() != 4:  # points (Dirac-GAN, 2-D mixtures) are not an image grid
            return None
        return make_grid(images, nrow=self.nrow, normalize=True, value_range=(-1, 1), padding=2)

    def write(self, trainer: L.Trainer, pl_module: Any) -> None:
        step = trainer.global_step
        if step == self._last_step:
            return
        self._last_step = step
        grid = self.grid(pl_module)
        if grid is not None:
            self._save(grid, step, trainer)

    @rank_zero_only
    def _save(self, grid: Tensor, step: int, trainer: L.Trainer) -> None:
        self.dirpath.mkdir(parents=True, exist_ok=True)
        path = self.dirpath / f"iter_{step:06d}.png"
        save_image(grid, path)
        self.last_path = path
        for logger in trainer.loggers:
            log_image(logger, "samples", grid, step)

    def on_train_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        self._last_step = trainer.global_step

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: Any, *args: Any) -> None:
        step = trainer.global_step
        if self.every > 0 and step > 0 and step % self.every == 0:
            self.write(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        self.write(trainer, pl_module)
