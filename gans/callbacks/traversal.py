"""Latent traversal grids for games that have them (``traversal(steps)``: model=vae)."""

from __future__ import annotations

from typing import Any

from torch import Tensor
from torchvision.utils import make_grid

from gans.callbacks.samples import PeriodicImage
from gans.games.abilities import Traverses


class LatentTraversal(PeriodicImage):
    """At the end of training (and every ``every`` iterations when > 0), for games with a
    ``traversal(steps)`` method: one row per latent dimension, ``steps`` columns sweeping it
    with the rest fixed, as ``<dirpath>/traversal_XXXXXX.png`` and the logged image
    ``traversal``. Other games are left alone."""

    prefix = "traversal"
    key = "traversal"

    def __init__(
        self, dirpath: str, every: int = 0, steps: int = 9, first_after: float = 0.0
    ) -> None:
        super().__init__(dirpath, every, first_after)
        self.steps = int(steps)

    def applies(self, pl_module: Any) -> bool:
        return isinstance(pl_module, Traverses)

    def grid(self, pl_module: Any) -> Tensor:
        images = pl_module.traversal(self.steps).cpu()
        return make_grid(images, nrow=self.steps, normalize=True, value_range=(-1, 1), padding=2)
