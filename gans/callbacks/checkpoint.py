"""Checkpoints every N generator iterations and at the end of training."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint


class IterationCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` whose ``every_n_train_steps`` counts generator iterations.

    The game keeps ``trainer.global_step`` equal to the iteration, so the inherited schedule and
    ``{step}`` in file names already mean iterations. Lightning 2.6's manual-optimization branch of
    ``on_train_batch_end`` warns on every save and only writes ``last`` at the end of training if
    nothing was ever saved; this subclass saves exactly as the automatic branch does, and writes
    ``last`` at the end whenever the latest iteration has no checkpoint yet.
    """

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_start(trainer, pl_module)
        # a resumed run starts at an iteration whose checkpoint it was loaded from
        self._last_global_step_saved = trainer.global_step

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any
    ) -> None:
        step, every = trainer.global_step, self._every_n_train_steps
        periodic = every >= 1 and step % every == 0
        # the last iteration's ``last`` is written here, at the batch's end, not in on_train_end
        # (where Lightning has already closed the epoch): a run continued from it resumes in
        # the middle of the epoch, where the uninterrupted run would be
        final = 0 < trainer.max_steps <= step or trainer.should_stop
        if not (periodic or final) or self._should_skip_saving_checkpoint(trainer):
            return
        candidates = self._monitor_candidates(trainer)
        if periodic:
            self._save_topk_checkpoint(trainer, candidates)
        self._save_last_checkpoint(trainer, candidates)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.save_last and self._last_global_step_saved != trainer.global_step:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
