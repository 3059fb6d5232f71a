"""Stacked-MNIST mode count during training."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import nn

from gans.callbacks.periodic import EveryIterations
from gans.metrics.stacked import digit_triples, mode_count


class StackedModes(EveryIterations):
    """Every ``every`` iterations and at the end, draw ``num_samples`` images from the game
    (its EMA when enabled; eval mode; the same noise each time; shared across ranks), classify
    each channel with the MNIST ``classifier`` and log ``stacked/modes`` (distinct digit triples
    of 1,000) and ``stacked/kl`` (KL of their histogram to uniform). VEEGAN/PacGAN: 26,000.
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
    def codes(self, trainer: L.Trainer, pl_module: Any) -> torch.Tensor:
        rank, world = trainer.global_rank, trainer.world_size
        pl_module.sync_buffers()
        mine = -(-self.num_samples // world)  # equal shares, so all_gather needs no padding
        rng = torch.Generator().manual_seed(self.seed + rank)
        self.classifier.to(pl_module.device)
        found = []
        for start in range(0, mine, self.batch_size):
            n = min(self.batch_size, mine - start)
            found.append(digit_triples(pl_module.sample(n, generator=rng), self.classifier))
        codes = torch.cat(found)
        if world > 1:
            codes = pl_module.all_gather(codes).flatten()
        return codes[: self.num_samples]

    def run(self, trainer: L.Trainer, pl_module: Any) -> dict[str, float]:
        step = trainer.global_step
        results = mode_count(self.codes(trainer, pl_module))
        for logger in trainer.loggers:
            logger.log_metrics({f"stacked/{k}": v for k, v in results.items()}, step=step)
        return results
