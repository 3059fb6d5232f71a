"""Running modules in eval mode for a moment (samples, metrics, checks) during training."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


@contextmanager
def evaluating(*modules: nn.Module) -> Iterator[None]:
    """Put ``modules`` in eval mode (BatchNorm running statistics, no dropout) and restore each
    one's previous mode afterwards, also when the body raises."""
    previous = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        yield
    finally:
        for m, mode in zip(modules, previous, strict=True):
            m.train(mode)
