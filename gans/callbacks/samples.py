"""Fixed-noise sample grids, written as PNG and sent to every logger."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import Logger, TensorBoardLogger, WandbLogger
from lightning.pytorch.utilities import rank_zero_only
from torch import Tensor
from torchvision.utils import make_grid, save_image

from gans import rng


def log_image(logger: Logger, key: str, grid: Tensor, step: int) -> None:
    """Send a (C, H, W) image in [0, 1] to a logger that can show images (others keep the PNG)."""
    if isinstance(logger, WandbLogger):
        logger.log_image(key=key, images=[grid], step=step)
    elif isinstance(logger, TensorBoardLogger):
        logger.experiment.add_image(key, grid, global_step=step)


def fixed_samples(pl_module: Any, num: int, seed: int) -> Tensor:
    """``pl_module.sample`` on randomness drawn from ``seed`` (the same every call) and, for
    conditional games, labels cycling through the classes."""
    classes = int(getattr(pl_module, "num_classes", 0) or 0)
    labels = torch.arange(num) % classes if classes else None
    return pl_module.sample(num, labels=labels, generator=torch.Generator().manual_seed(seed))


class PeriodicImage(L.Callback):
    """An image of the game written every ``every`` iterations (0: only at the end) and at the
    end of training, as ``<dirpath>/<prefix>_XXXXXX.png`` and the logged image ``key``; also once
    ``first_after`` seconds after the callback was built (before the run's preparation) when
    none was written by then (0: never), so a slow model shows what it draws within minutes.
    Each write first runs the game's finite check (no diverged model is drawn) and draws nothing
    from the training random stream. Subclasses say whether they apply to a game and draw the
    grid."""

    prefix = "image"
    key = "image"

    def __init__(self, dirpath: str, every: int = 0, first_after: float = 0.0) -> None:
        self.dirpath = Path(dirpath)
        self.every = int(every)
        self.first_after = float(first_after)
        self.last_path: Path | None = None
        self._last_step = -1
        self._started = time.monotonic()  # built before the run's preparation (e.g. a classifier)
        self._written = False

    def applies(self, pl_module: Any) -> bool:
        return True

    def grid(self, pl_module: Any) -> Tensor | None:
        """The image as a (C, H, W) tensor in [0, 1], or None when there is none to draw."""
        raise NotImplementedError

    def write(self, trainer: L.Trainer, pl_module: Any) -> None:
        step = trainer.global_step
        if step == self._last_step or not self.applies(pl_module):
            return
        self._last_step = step
        self._written = True
        pl_module.raise_if_diverged()
        with rng.preserved(), torch.no_grad():
            grid = self.grid(pl_module)
        if grid is not None:
            self._save(grid, step, trainer)

    @rank_zero_only
    def _save(self, grid: Tensor, step: int, trainer: L.Trainer) -> None:
        self.dirpath.mkdir(parents=True, exist_ok=True)
        path = self.dirpath / f"{self.prefix}_{step:06d}.png"
        save_image(grid, path)
        self.last_path = path
        for logger in trainer.loggers:
            log_image(logger, self.key, grid, step)

    def on_train_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        self._last_step = trainer.global_step

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: Any, *args: Any) -> None:
        step = trainer.global_step
        if self.every > 0 and step > 0 and step % self.every == 0 or self._first_is_due(trainer):
            self.write(trainer, pl_module)

    def _first_is_due(self, trainer: L.Trainer) -> bool:
        """The early first image: due once ``first_after`` seconds passed with none written. One
        process only: the clock's decision would differ between DDP processes."""
        if self.first_after <= 0 or self._written or trainer.world_size > 1:
            return False
        return trainer.global_step > self._last_step and (
            time.monotonic() - self._started >= self.first_after
        )

    def on_train_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        self.write(trainer, pl_module)


class SampleGrid(PeriodicImage):
    """Every ``every`` iterations and at the end of training, draw the game's samples
    (:meth:`~gans.games.base.Game.sample`: EMA when enabled, eval mode) on fixed randomness (and,
    for conditional games, labels cycling through the classes) and save
    ``<dirpath>/iter_XXXXXX.png`` (logged as ``samples``).
    """

    prefix = "iter"
    key = "samples"

    def __init__(
        self,
        dirpath: str,
        every: int = 500,
        num: int = 64,
        nrow: int = 8,
        seed: int = 0,
        first_after: float = 0.0,
    ) -> None:
        super().__init__(dirpath, every, first_after)
        self.num = int(num)
        self.nrow = int(nrow)
        self.seed = int(seed)

    def applies(self, pl_module: Any) -> bool:
        return not pl_module.translates  # those have TranslationGrid

    def grid(self, pl_module: Any) -> Tensor | None:
        """The current grid in [0, 1]; None when the game does not make images."""
        images = fixed_samples(pl_module, self.num, self.seed).cpu()
        if images.dim() != 4:  # points (Dirac-GAN, 2-D mixtures) are not an image grid
            return None
        return make_grid(images, nrow=self.nrow, normalize=True, value_range=(-1, 1), padding=2)


class ClassGrid(PeriodicImage):
    """For a class-conditional game: one row per class (``per_row`` samples each, fixed
    randomness), saved as ``<dirpath>/classes_XXXXXX.png`` and logged as ``samples/per_class``."""

    prefix = "classes"
    key = "samples/per_class"

    def __init__(
        self,
        dirpath: str,
        every: int = 500,
        per_row: int = 8,
        seed: int = 0,
        first_after: float = 0.0,
    ) -> None:
        super().__init__(dirpath, every, first_after)
        self.per_row = int(per_row)
        self.seed = int(seed)

    def applies(self, pl_module: Any) -> bool:
        return int(getattr(pl_module, "num_classes", 0) or 0) > 0

    def grid(self, pl_module: Any) -> Tensor | None:
        classes = int(pl_module.num_classes)
        labels = torch.arange(classes).repeat_interleave(self.per_row)
        rng_ = torch.Generator().manual_seed(self.seed)
        images = pl_module.sample(len(labels), labels=labels, generator=rng_).cpu()
        if images.dim() != 4:
            return None
        return make_grid(images, nrow=self.per_row, normalize=True, value_range=(-1, 1), padding=2)
