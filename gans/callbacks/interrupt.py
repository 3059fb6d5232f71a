"""Ctrl-C and SIGTERM end a run at the end of the current iteration, with its checkpoint."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Any

import lightning as L

NAMES = {signal.SIGINT: "SIGINT (Ctrl-C)", signal.SIGTERM: "SIGTERM"}
if hasattr(signal, "SIGUSR2"):  # what SLURM sends before a time limit or pre-emption (submitit)
    NAMES[signal.SIGUSR2] = "SIGUSR2 (SLURM time limit or pre-emption)"
#: signals whose handler from before training runs once the checkpoint is written (submitit's
#: checkpoint-and-requeue)
CHAINED = tuple(s for s in NAMES if s not in (signal.SIGINT, signal.SIGTERM))


class GracefulInterrupt(L.Callback):
    """While training, the first SIGINT or SIGTERM asks the run to stop at the end of the
    iteration in progress: ``trainer.should_stop`` is set there, so the checkpoint callback writes
    ``last.ckpt`` at that iteration (atomically, after the finite check: never a diverged or
    half-updated model) and ``gans.train`` then exits with status 128 + the signal's number. A
    second Ctrl-C aborts at once. Under DDP the ranks agree on the iteration (one all-reduce of
    a flag per iteration). SIGUSR2 (SLURM's warning before a time limit or pre-emption, as
    submitit asks for it) does the same, then hands over to the handler that was there before
    training (submitit's, which requeues the job; the requeued job resumes from ``last.ckpt``).

    Lightning's own handling stops nothing cleanly: Ctrl-C raises wherever the step happens to
    be (between the D and G updates, inside an optimizer step) and exits without a checkpoint,
    and SIGTERM only stops at the end of an epoch.
    """

    def __init__(self) -> None:
        self.requested: int | None = None
        self.stopped_at: int | None = None
        self._previous: dict[int, Any] = {}
        self.before: dict[int, Any] = {}
        self._last_step = -1

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """The signal handler: remember the first signal; a second SIGINT aborts."""
        if self.requested is None:
            self.requested = signum
            print(
                f"\n{NAMES.get(signum, signum)}: stopping after the current iteration and writing "
                "its checkpoint (Ctrl-C again to abort at once, without one)",
                file=sys.stderr,
                flush=True,
            )
        elif signum == signal.SIGINT:
            self.restore()
            raise KeyboardInterrupt

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.requested, self.stopped_at = None, None
        self._last_step = trainer.global_step
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread
        for signum in NAMES:  # after Lightning's, which it restores at teardown
            self._previous[signum] = signal.signal(signum, self.handle)
        self.before = dict(self._previous)

    def hand_over(self) -> None:
        """Call the pre-training handler of the signal that stopped the run, where it is one to
        chain (submitit's requeue, which exits the process)."""
        signum = self.requested
        handler = self.before.get(signum) if signum in CHAINED else None
        if callable(handler):
            handler(signum, None)

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        step = trainer.global_step
        if step == self._last_step:  # a critic batch that closed no iteration
            return
        self._last_step = step
        requested = self.requested is not None
        if trainer.world_size > 1:
            requested = trainer.strategy.reduce_boolean_decision(requested, all=False)
        if requested:
            trainer.should_stop = True
            self.stopped_at = step
            if self.requested is None:
                self.requested = signal.SIGTERM  # another rank's signal

    def restore(self) -> None:
        """Put back the handlers that were there before training."""
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous = {}

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.restore()

    def on_exception(self, trainer: L.Trainer, pl_module: Any, exception: BaseException) -> None:
        self.restore()
