"""Progress of a long preparation step (training the metrics classifier, decoding a dataset,
reference features): a bar on a terminal, and where the output is piped or logged a plain line at
most every :data:`EVERY` seconds, so no step is silent for minutes."""

from __future__ import annotations

import datetime
import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")
log = logging.getLogger("gans.preparing")

#: seconds between two plain progress lines of one step
EVERY = 15.0


def progress(
    items: Iterable[T], total: int, what: str, unit: str = "step", every: float = EVERY
) -> Iterator[T]:
    """``items``, with ``what: n/total unit (p%), ETA h:mm:ss`` shown while they are consumed
    (``total`` counts ``unit``: the length of ``items``)."""
    if sys.stderr.isatty():
        yield from tqdm(items, total=total, desc=what, unit=unit, leave=False)
        return
    started = last = time.perf_counter()
    for done, item in enumerate(items, 1):
        yield item
        now = time.perf_counter()
        if now - last >= every and done < total:
            last = now
            left = (total - done) * (now - started) / done
            log.info(
                "%s: %d/%d %ss (%.0f%%), ETA %s",
                what, done, total, unit, 100 * done / total,
                datetime.timedelta(seconds=round(left)),
            )  # fmt: skip
