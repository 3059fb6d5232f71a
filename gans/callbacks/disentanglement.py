"""Disentanglement of a game's latent codes (model=infogan) during training."""

from __future__ import annotations

from typing import Any

import lightning as L
from torch import nn

from gans.callbacks.periodic import EveryIterations
from gans.metrics.disentanglement import measure


class Disentanglement(EveryIterations):
    """Every ``every`` iterations and at the end, for games with latent codes: the categorical
    code's clustering accuracy against the domain ``classifier``'s labels of the samples and
    each continuous code's correlation with slant and width
    (:func:`gans.metrics.disentanglement.measure`), logged as ``info/<name>``. Chen et al. 2016
    report 5% error (95% accuracy) for the categorical code on MNIST."""

    def __init__(
        self, classifier: nn.Module, every: int, num_samples: int = 5000, batch_size: int = 500
    ) -> None:
        super().__init__(every)
        self.classifier = classifier.eval().requires_grad_(False)
        self.num_samples = int(num_samples)
        self.batch_size = int(batch_size)

    def run(self, trainer: L.Trainer, pl_module: Any) -> dict[str, float]:
        pl_module.sync_buffers()  # every rank measures the same networks (and logs from rank 0)
        results = measure(pl_module, self.classifier, self.num_samples, self.batch_size)
        for logger in trainer.loggers:
            logger.log_metrics(
                {f"info/{k}": v for k, v in results.items()}, step=trainer.global_step
            )
        return results
