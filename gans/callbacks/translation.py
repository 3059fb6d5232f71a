"""Held-out scores and image grids of a translation game (Pix2Pix, CycleGAN)."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import Tensor
from torchvision.utils import make_grid

from gans.callbacks.periodic import EveryIterations
from gans.callbacks.samples import PeriodicImage
from gans.metrics.held_out import held_out, raise_no_test, translator
from gans.metrics.translation import TranslationEvaluator


class TranslationEvaluation(EveryIterations):
    """Every ``every`` iterations and at the end: the evaluator's scores on the held-out split,
    logged under their protocol stamps (``l1/<tag>``, ``fid_AtoB/<tag>``, ...)."""

    def __init__(self, evaluator: TranslationEvaluator, every: int) -> None:
        super().__init__(every)
        self.evaluator = evaluator
        self.held: dict[str, Any] = {}

    def on_fit_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        self.held = held_out(trainer.datamodule)
        if not self.held:
            raise_no_test(trainer.datamodule)

    def run(self, trainer: L.Trainer, pl_module: Any) -> dict[str, float]:
        pl_module.sync_buffers()
        ema = pl_module.uses_ema
        translate = translator(pl_module, ema)
        if "paired" in self.held:
            a, b = self.held["paired"]
            scores = self.evaluator.paired(translate, a, b, pl_module.device, ema)
        else:
            scores = self.evaluator.unpaired(translate, self.held, pl_module.device, ema)
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.log_metrics(scores, step=trainer.global_step)
        return {key.split("/")[0]: value for key, value in scores.items()}


class TranslationGrid(PeriodicImage):
    """For translation games: rows of ``input | output | target`` (paired) or
    ``A | G(A) | F(G(A))`` and ``B | F(B) | G(F(B))`` (unpaired) on ``num`` held-out images
    spread through the split (the training batch's when there is no test split), eval mode, saved as
    ``<dirpath>/translation_XXXXXX.png`` and logged as ``samples/translation``."""

    prefix = "translation"
    key = "samples/translation"

    def __init__(
        self, dirpath: str, every: int = 500, num: int = 8, first_after: float = 0.0
    ) -> None:
        super().__init__(dirpath, every, first_after)
        self.num = int(num)
        self.rows: dict[str, Tensor] = {}

    def on_train_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        super().on_train_start(trainer, pl_module)
        if pl_module.translates:
            held = held_out(trainer.datamodule)
            if "paired" in held:
                self.rows = {"a": held["paired"][0], "b": held["paired"][1]}
            else:
                self.rows = {k.lower(): v[0] for k, v in held.items() if v is not None}
            count = min([self.num, *(v.shape[0] for v in self.rows.values())])
            self.rows = {k: spread(v, count) for k, v in self.rows.items()}

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: Any, batch: Any, *_: Any) -> None:
        if pl_module.translates and not self.rows:
            self.rows = {"a": batch.a[: self.num].cpu(), "b": batch.b[: self.num].cpu()}

    def applies(self, pl_module: Any) -> bool:
        return bool(self.rows)

    def grid(self, pl_module: Any) -> Tensor:
        device = pl_module.device
        translate = translator(pl_module, pl_module.uses_ema)
        blocks = []
        if pl_module.paired:
            a, b = self.rows["a"].to(device), self.rows["b"].to(device)
            blocks.append(_rows(a, translate(a), b))
        else:
            for letter, there, back in (("a", "AtoB", "BtoA"), ("b", "BtoA", "AtoB")):
                if letter in self.rows:
                    x = self.rows[letter].to(device)
                    made = translate(x, there)
                    blocks.append(_rows(x, made, translate(made, back)))
        images = torch.cat(blocks).cpu()
        columns = next(iter(self.rows.values())).shape[0]
        return make_grid(images, nrow=columns, normalize=True, value_range=(-1, 1), padding=2)


def spread(images: Tensor, num: int) -> Tensor:
    """``num`` images evenly spaced through ``images`` (a class-sorted test folder shows every
    class, not only the first)."""
    index = torch.linspace(0, images.shape[0] - 1, min(num, images.shape[0])).round().long()
    return images[index]


def _rows(*rows: Tensor) -> Tensor:
    """Rows of images with different channel counts made RGB-comparable (grey -> 3 copies)."""
    channels = max(r.shape[1] for r in rows)
    return torch.cat([r.float().expand(-1, channels, -1, -1) for r in rows])
