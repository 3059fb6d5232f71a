"""The image pool of Shrivastava et al. 2017 as CycleGAN uses it (Zhu et al. 2017, Sec. 4): the
discriminator is shown a mix of current and earlier generated images, which damps oscillation."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ImagePool(nn.Module):
    """A pool of up to ``size`` past generated images (buffers: saved in checkpoints, so a
    resumed run sees the same pool).

    :meth:`query` takes a batch of new images and returns a batch of the same size: while the
    pool is filling, each new image is stored and returned; once it is full, each new image is
    returned with probability 1/2, otherwise a uniformly chosen stored image is returned and the
    new one takes its place. ``size`` 0 returns the batch unchanged. Draws come from the global
    random stream (the training's, restored on resume).
    """

    def __init__(self, size: int, shape: tuple[int, ...] | list[int]) -> None:
        super().__init__()
        self.size = int(size)
        self.register_buffer("images", torch.zeros(self.size, *[int(s) for s in shape]))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))
        self._filled: int | None = None  # the host's copy of ``count`` (no device read per query)

    def _load_from_state_dict(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super()._load_from_state_dict(*args, **kwargs)
        self._filled = None  # a restored pool: read its count again

    @torch.no_grad()
    def query(self, images: Tensor) -> Tensor:
        if self.size == 0:
            return images
        images = images.detach()
        out = images.clone()
        filled = int(self.count) if self._filled is None else self._filled
        for i in range(images.shape[0]):
            if filled < self.size:
                self.images[filled] = images[i]
                filled += 1
            elif torch.rand(()) < 0.5:
                slot = int(torch.randint(self.size, ()))
                out[i] = self.images[slot]
                self.images[slot] = images[i]
        if filled != self._filled:
            self.count.fill_(filled)
            self._filled = filled
        return out
