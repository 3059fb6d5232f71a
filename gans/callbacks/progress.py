"""Progress in generator iterations: a bar on a terminal, a plain line every ``log_every``
iterations elsewhere, and the same line in the run's ``train.log`` either way."""

from __future__ import annotations

import datetime
import logging
import sys
import time
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.callbacks.progress.tqdm_progress import Tqdm

from gans.runlog import RUN_LOG

log = logging.getLogger(__name__)


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def shown(trainer: L.Trainer) -> dict[str, Any]:
    """What the progress shows: the game's latest losses and FID (``Game.progress_values``, plain
    floats), the evaluation's protocol-stamped FID key shortened."""
    values = getattr(trainer.lightning_module, "progress_values", None) or {}
    return {k.split("/", 1)[0] if k.startswith("fid/") else k: v for k, v in values.items()}


def progress_line(
    trainer: L.Trainer, metrics: dict[str, Any], clock: tuple[float, int] | None
) -> str:
    """``iteration n/N (p%) | r it/s | ETA h:mm:ss | key value ...``, the rate since ``clock``
    (time, iteration)."""
    n, total = trainer.global_step, trainer.max_steps
    now = time.perf_counter()
    start, start_n = clock or (now, n)
    rate = (n - start_n) / max(now - start, 1e-9)
    parts = [f"iteration {n}/{total} ({100 * n / total:.0f}%)" if total > 0 else f"{n}"]
    if n > start_n:
        parts.append(f"{rate:.2f} it/s")
        if total > n:
            parts.append(f"ETA {datetime.timedelta(seconds=round((total - n) / max(rate, 1e-9)))}")
    if metrics:
        parts.append(" ".join(f"{k} {_short(v)}" for k, v in metrics.items()))
    return " | ".join(parts)


#: a run estimated to need longer than this (seconds) on this machine is warned about
LONG_RUN = 3600.0


def long_run_warning(trainer: L.Trainer, rate: float) -> str | None:
    """A warning when the remaining iterations at ``rate`` it/s take longer than
    :data:`LONG_RUN`, with the estimate and what to change; else None."""
    left = trainer.max_steps - trainer.global_step
    if trainer.max_steps <= 0 or rate <= 0 or left / rate <= LONG_RUN:
        return None
    eta = datetime.timedelta(seconds=round(left / rate))
    where = trainer.strategy.root_device.type
    return (
        f"this run needs {eta} more at {rate:.2f} it/s on this machine ({where}) for "
        f"{trainer.max_steps:,} iterations: lower iterations, choose a CPU-sized preset or a "
        "smaller network, or run on a GPU"
    )


class RunLogLines(L.Callback):
    """The progress line every ``log_every`` iterations (and at the last) into the run's
    ``train.log``, with or without a progress bar; after the first few iterations, one warning
    if the run will take hours at the measured pace."""

    def __init__(self) -> None:
        self._shown = -1
        self._clock: tuple[float, int] | None = None
        self._estimated = False

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._shown = trainer.global_step
        self._clock = (time.perf_counter(), trainer.global_step)
        self._estimated = False

    def on_train_batch_end(self, trainer: L.Trainer, *_: Any) -> None:
        n = trainer.global_step
        if n != self._shown and (n % trainer.log_every_n_steps == 0 or n == trainer.max_steps):
            RUN_LOG.info(progress_line(trainer, shown(trainer), self._clock))
        if n != self._shown and not self._estimated and self._clock is not None:
            elapsed, done = time.perf_counter() - self._clock[0], n - self._clock[1]
            if done >= 3 or elapsed >= 10:  # past the first iteration's one-off costs
                self._estimated = True
                warning = long_run_warning(trainer, done / max(elapsed, 1e-9))
                if warning and trainer.is_global_zero:
                    log.warning(warning)
                    RUN_LOG.info(warning)
        self._shown = n


#: the longest a run's plain progress lines stay silent
QUIET_SECONDS = 60.0


class IterationProgressBar(TQDMProgressBar):
    """One bar over the whole run, 0..max_steps generator iterations, so the rate is it/s of the
    game (not batches/s, which differ when n_critic > 1), with the latest losses and FID beside
    it. When stdout is not a terminal (a log file, a cluster job) the bar is off and a line
    ``iteration n/N (p%) | r it/s | ETA | losses | fid`` is printed after the first iteration,
    every ``log_every`` iterations and at least every :data:`QUIET_SECONDS`, instead of
    carriage-return updates.

    Args:
        plain: force the plain lines (True) or the bar (False); default: by ``isatty``.
    """

    def __init__(self, refresh_rate: int = 1, plain: bool | None = None) -> None:
        super().__init__(refresh_rate=refresh_rate)
        self.plain = (not sys.stdout.isatty()) if plain is None else bool(plain)
        self._shown = 0
        self._first = 1
        self._printed = 0.0
        self._clock: tuple[float, int] | None = None

    @property
    def train_description(self) -> str:
        return "iterations"

    def init_train_tqdm(self) -> Tqdm:
        trainer = self.trainer
        return Tqdm(
            desc=self.train_description,
            total=trainer.max_steps if trainer.max_steps > 0 else None,
            initial=trainer.global_step,
            unit="it",
            disable=self.is_disabled,
            leave=True,
            dynamic_ncols=True,
            file=sys.stdout,
            smoothing=0,
            bar_format=self.BAR_FORMAT,
        )

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.plain:
            self.disable()
        super().on_train_start(trainer, pl_module)
        self._shown = trainer.global_step
        self._first = trainer.global_step + 1
        self._clock = (time.perf_counter(), trainer.global_step)
        self._printed = time.perf_counter()

    def on_train_epoch_start(self, trainer: L.Trainer, *_: Any) -> None:
        pass

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *_: Any) -> None:
        n = trainer.global_step
        if n == self._shown:
            return  # a critic batch that closed no iteration
        now = time.perf_counter()
        # the first iteration, every log_every, the last, and at least once a minute: a slow
        # model (a critic boost, a large network on a CPU) is never silent for minutes
        due = (
            n % trainer.log_every_n_steps == 0
            or n == trainer.max_steps
            or n == self._first
            or now - self._printed >= QUIET_SECONDS
        )
        if self.plain and due and trainer.is_global_zero:
            metrics = self.get_metrics(trainer, pl_module)
            print(progress_line(trainer, metrics, self._clock), flush=True)
            self._printed = now
        bar = self.train_progress_bar
        if not self.plain and self._should_update(n, bar.total):
            bar.n = n
            bar.set_postfix(self.get_metrics(trainer, pl_module), refresh=False)
            bar.refresh()
        self._shown = n

    def get_metrics(self, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        return shown(trainer)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        pass
