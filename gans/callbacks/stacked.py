"""Stacked-MNIST mode count during training."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import nn

from gans.callbacks.periodic import EveryIterations
from gans.metrics.stacked import digit_readings, stacked_scores


class StackedModes(EveryIterations):
    """Every ``every`` iterations and at the end, draw ``num_samples`` images from the game
    (its EMA when enabled; eval mode; the same noise each time; shared across ranks), classify
    each channel with the MNIST ``classifier`` and log ``stacked/modes`` (distinct digit triples
    of 1,000), ``stacked/kl`` (KL of their histogram to uniform), and how sure the readings are
    (``stacked/confidence``, ``stacked/confident``, ``stacked/confident_modes``:
    :func:`gans.metrics.stacked.stacked_scores`). VEEGAN/PacGAN: 26,000 samples.
    """

    def __init__(
        self,
        classifier: nn.Module,
        every: int,
        num_samples: int = 26_000,
        batch_size: int = 500,
        seed: int = 1234,
    ) -> None:
        self.classifier = classifier.eval().requires_grad_(False)
        super().__init__(every)
        self.num_samples = int(num_samples)
        self.batch_size = int(batch_size)
        self.seed = int(seed)

    @torch.no_grad()
    def readings(self, trainer: L.Trainer, pl_module: Any) -> tuple[torch.Tensor, torch.Tensor]:
        rank, world = trainer.global_rank, trainer.world_size
        pl_module.sync_buffers()
        mine = -(-self.num_samples // world)  # equal shares, so all_gather needs no padding
        rng = torch.Generator().manual_seed(self.seed + rank)
        self.classifier.to(pl_module.device)
        codes, confidence = [], []
        for start in range(0, mine, self.batch_size):
            n = min(self.batch_size, mine - start)
            code, sure = digit_readings(pl_module.sample(n, generator=rng), self.classifier)
            codes.append(code)
            confidence.append(sure)
        code, sure = torch.cat(codes), torch.cat(confidence)
        if world > 1:
            code = pl_module.all_gather(code).flatten()
            sure = pl_module.all_gather(sure).reshape(-1, 3)
        return code[: self.num_samples], sure[: self.num_samples]

    def run(self, trainer: L.Trainer, pl_module: Any) -> dict[str, float]:
        step = trainer.global_step
        results = stacked_scores(*self.readings(trainer, pl_module))
        for logger in trainer.loggers:
            logger.log_metrics({f"stacked/{k}": v for k, v in results.items()}, step=step)
        return results
