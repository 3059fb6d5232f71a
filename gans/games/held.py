"""Images a game keeps from its first batch and maps when asked for samples without inputs
(translators and autoencoders have no prior to draw from)."""

from __future__ import annotations

import torch
from torch import Tensor


class HeldImages:
    """Mixin for a :class:`~gans.games.base.Game`: the first ``count`` images of the first
    batch in the persistent buffers ``held`` and ``held_count`` (a resumed run maps the same
    ones), read on the host once per process, not every batch (that read waits for the
    device)."""

    held: Tensor
    held_count: Tensor

    def register_held(self, count: int, shape: tuple[int, ...]) -> None:
        self.register_buffer("held", torch.zeros(int(count), *shape))  # type: ignore[attr-defined]
        self.register_buffer("held_count", torch.zeros((), dtype=torch.long))  # type: ignore[attr-defined]
        self._held = False

    def hold_images(self, x: Tensor) -> None:
        """Keep ``x``'s first images, once."""
        if self._held:
            return
        if int(self.held_count) == 0:
            kept = x[: self.held.shape[0]].detach()
            self.held[: kept.shape[0]] = kept.to(self.held.dtype)
            self.held_count.fill_(kept.shape[0])
        self._held = True

    def held_images(self, n: int) -> Tensor:
        """``n`` held images, cycling through those kept."""
        count = max(int(self.held_count), 1)
        return self.held[torch.arange(n, device=self.held.device) % count]
