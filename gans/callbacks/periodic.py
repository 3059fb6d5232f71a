"""The schedule metric callbacks share: every N generator iterations and at the end."""

from __future__ import annotations

from typing import Any

import lightning as L

from gans import rng


class EveryIterations(L.Callback):
    """Calls :meth:`run` after every ``every``-th generator iteration (not at iteration 0, not
    twice for one iteration: with n_critic > 1 several batches end at the same iteration, nor
    at the iteration a resumed run starts from) and, when ``at_end``, once more at the end of
    training. What :meth:`run` returns is kept in ``history`` as ``(iteration, results)``.
    Each call first runs the game's finite check, and draws nothing from the training random
    stream (metrics on or off leave the trained weights the same)."""

    at_end = True

    def __init__(self, every: int) -> None:
        self.every = int(every)
        self.history: list[tuple[int, dict[str, float]]] = []
        self._last_step = -1

    def _fire(self, trainer: L.Trainer, pl_module: Any) -> None:
        self._last_step = trainer.global_step
        pl_module.raise_if_diverged()  # never score or plot a diverged model
        with rng.preserved():  # whatever run() draws leaves the training stream where it was
            results = self.run(trainer, pl_module)
        self.history.append((trainer.global_step, results))

    def run(self, trainer: L.Trainer, pl_module: Any) -> dict[str, float]:
        raise NotImplementedError

    def on_train_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        self._last_step = trainer.global_step

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: Any, *args: Any) -> None:
        step = trainer.global_step
        if self.every >= 1 and step > 0 and step % self.every == 0 and step != self._last_step:
            self._fire(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        if self.at_end and self.every >= 1 and trainer.global_step != self._last_step:
            self._fire(trainer, pl_module)
