"""Known noise from dependencies, silenced where it starts. Each filter names the message it
hides, and hides nothing else."""

from __future__ import annotations

import logging
import warnings

from lightning.pytorch.loggers import Logger, WandbLogger


class DropMessages(logging.Filter):
    """Drops log records whose message starts with one of ``prefixes``."""

    def __init__(self, *prefixes: str) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.prefixes)


#: Lightning's advertisement on every Trainer
LITLOGGER_TIP = "💡 Tip: For seamless cloud logging and experiment tracking"
#: Lightning's line about TPU cores on every Trainer (its GPU line stays: it says where the run is)
TPU_LINE = "TPU available: False"
#: Lightning's note that training reached max_steps: the closing summary counts the iterations
MAX_STEPS = "`Trainer.fit` stopped: `max_steps="
#: Lightning 2.6's use of a torch pytree API that torch 2.14 deprecates, once per fit
PYTREE = r"`isinstance\(treespec, LeafSpec\)` is deprecated"
#: the EMA copies are kept in eval mode on purpose (gans/ema.py), and Lightning counts them
EVAL_MODE = r"Found \d+ module\(s\) in eval mode at the start of training"

#: Lightning's own logging interval, which the games do not use (they log every ``log_every``)
LOG_INTERVAL = r"The number of training batches \(\d+\) is smaller than the logging interval"
#: on resume the run continues in its own checkpoint folder, which is not empty by design
CHECKPOINT_DIR = r"Checkpoint directory .* exists and is not empty"

_done = False


def silence() -> None:
    """Install the filters (once per process)."""
    global _done
    if _done:
        return
    _done = True
    tip = DropMessages(LITLOGGER_TIP, TPU_LINE, MAX_STEPS)
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logging.getLogger(name).addFilter(tip)
    warnings.filterwarnings("ignore", message=PYTREE)
    warnings.filterwarnings("ignore", message=EVAL_MODE)
    warnings.filterwarnings("ignore", message=LOG_INTERVAL)
    # Optuna's storage migrations: "INFO  [alembic.runtime.migration] Context impl SQLiteImpl."
    logging.getLogger("alembic").setLevel(logging.WARNING)


def resuming() -> None:
    """A resumed run writes into its own non-empty checkpoint folder: Lightning's warning about
    that folder says nothing then."""
    warnings.filterwarnings("ignore", message=CHECKPOINT_DIR)


def without_anonymous_setting(logger: Logger) -> Logger:
    """A ``WandbLogger`` that does not pass ``anonymous`` to ``wandb.init``: Lightning passes it
    even when unset (None), and wandb 0.31 then warns "The anonymous setting has no effect and
    will be removed in a future version." on every run."""
    if isinstance(logger, WandbLogger) and logger._wandb_init.get("anonymous") is None:
        logger._wandb_init.pop("anonymous", None)
    return logger
