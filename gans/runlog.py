"""The run's own log, ``<run_dir>/train.log``: progress lines, the closing summary, warnings;
appended to when the run is resumed, so one file tells the whole run's story."""

from __future__ import annotations

import logging
from pathlib import Path

RUN_LOG = logging.getLogger("gans.run")
RUN_LOG.propagate = False  # the console has the bar or its own lines
RUN_LOG.setLevel(logging.INFO)


def open_run_log(run_dir: str | Path) -> logging.Handler:
    """Append the run's log records to ``<run_dir>/train.log`` until :func:`close_run_log`."""
    path = Path(run_dir) / "train.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    RUN_LOG.addHandler(handler)
    return handler


def close_run_log(handler: logging.Handler) -> None:
    RUN_LOG.removeHandler(handler)
    handler.close()
