"""Typed batches: what a datamodule produces and a game consumes.

Each is a small dataclass (Lightning moves dataclasses between devices field by field). Every
kind names its ``real`` samples: the images a discriminator sees as data and a health check
measures the spread of.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import Tensor


@dataclass
class Unlabelled:
    """Samples ``x`` without labels."""

    x: Tensor

    @property
    def real(self) -> Tensor:
        return self.x


@dataclass
class Labelled:
    """Samples ``x`` with class labels ``y`` (int64, one per sample)."""

    x: Tensor
    y: Tensor

    @property
    def real(self) -> Tensor:
        return self.x


@dataclass
class Paired:
    """Aligned pairs: ``a[i]`` translates to ``b[i]`` (Pix2Pix's data)."""

    a: Tensor
    b: Tensor

    @property
    def real(self) -> Tensor:
        return self.b


@dataclass
class Unpaired:
    """Samples ``a`` from one domain and ``b`` from another, not aligned (CycleGAN's data)."""

    a: Tensor
    b: Tensor

    @property
    def real(self) -> Tensor:
        return self.b


Batch = Unlabelled | Labelled | Paired | Unpaired


def typed(batch: Any, num_classes: int) -> Batch:
    """A loader's ``(x, y)`` pair as :class:`Labelled` when the data has classes, else
    :class:`Unlabelled`; a typed batch is returned as it is."""
    if isinstance(batch, (Unlabelled, Labelled, Paired, Unpaired)):
        return batch
    x, y = batch
    return Labelled(x, y) if num_classes > 0 else Unlabelled(x)
