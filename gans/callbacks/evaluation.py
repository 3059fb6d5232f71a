"""FID/KID/IS/PRDC every N generator iterations, logged under their protocol."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from gans import rng
from gans.callbacks.periodic import EveryIterations
from gans.errors import ConfigError
from gans.metrics.conditional import ClassAwareEvaluator
from gans.metrics.evaluator import Evaluator


class Evaluation(EveryIterations):
    """Every ``every`` iterations and at the end of training, score the game's samples (EMA when
    enabled) with ``evaluator`` and log each value as ``<metric>/<protocol tag>``.

    Runs on every rank: each generates its share of the samples, and the metric states are
    synced inside ``compute()``, which therefore runs everywhere. The FID is also logged to
    Lightning (not to the loggers) so that a ``ModelCheckpoint`` can monitor it.

    For a class-conditional game, ``class_aware`` adds the conditional accuracy and the
    intra-class FID under their own protocol stamps.
    """

    def __init__(
        self, evaluator: Evaluator, every: int, class_aware: ClassAwareEvaluator | None = None
    ) -> None:
        super().__init__(every)
        self.evaluator = evaluator
        self.class_aware = class_aware

    def on_fit_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        if self.evaluator.num_samples % trainer.world_size:
            raise ConfigError(
                f"metrics.num_samples={self.evaluator.num_samples} must be divisible by the "
                f"number of processes ({trainer.world_size}), so every rank generates a share"
            )
        with rng.preserved():
            self.evaluator.prepare(pl_module.device, (trainer.global_rank, trainer.world_size))

    def protocol(self, pl_module: Any):  # noqa: ANN201
        return self.evaluator.protocol(ema=pl_module.uses_ema)

    def run(self, trainer: L.Trainer, pl_module: Any) -> dict[str, float]:
        step = trainer.global_step
        gather = pl_module.all_gather if trainer.world_size > 1 else None
        pl_module.sync_buffers()
        results = self.evaluator.evaluate(
            pl_module.sample, pl_module.device, (trainer.global_rank, trainer.world_size), gather
        )
        protocol = self.protocol(pl_module)
        logged = {protocol.key(name): value for name, value in results.items()}
        if self.class_aware is not None:
            scores = self.class_aware.evaluate(pl_module.sample, pl_module.device)
            stamps = self.class_aware.protocols(pl_module.uses_ema)
            logged.update((stamps[name].key(name), value) for name, value in scores.items())
            results = {**results, **scores}
        for logger in trainer.loggers:
            logger.log_metrics(logged, step=step)
        return results

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: Any, *args: Any) -> None:
        evaluated = len(self.history)
        super().on_train_batch_end(trainer, pl_module, *args)
        if len(self.history) > evaluated and "fid" in self.history[-1][1]:
            key = self.protocol(pl_module).key("fid")
            fid = float(self.history[-1][1]["fid"])
            pl_module.progress_values[key] = fid
            # for a ModelCheckpoint's monitor; not prog_bar, whose values Lightning reads back
            # with .item() after every batch (a GPU sync each)
            pl_module.log(key, torch.tensor(fid), logger=False, prog_bar=False)
