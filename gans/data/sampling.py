"""Shuffling that depends only on the run's seed and the epoch, so a resumed run sees the same
batches as an uninterrupted one (Lightning calls ``set_epoch`` before every epoch)."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import BatchSampler, Sampler


class EpochShuffle(Sampler[int]):
    """A random permutation of ``range(n)`` drawn from ``seed + epoch`` (``seed`` defaults to
    the global torch seed, i.e. the run's ``seed`` after ``seed_everything``); unlike
    ``RandomSampler`` it draws nothing from the global random number generator."""

    def __init__(self, n: int, seed: int | None = None) -> None:
        self.n = int(n)
        self.seed = int(torch.initial_seed() if seed is None else seed) % (2**63)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed((self.seed + self.epoch) % (2**63))
        yield from torch.randperm(self.n, generator=generator).tolist()


class ShuffledBatches(BatchSampler):
    """``BatchSampler`` over :class:`EpochShuffle` that passes ``set_epoch`` on."""

    def __init__(self, n: int, batch_size: int, drop_last: bool = True) -> None:
        super().__init__(EpochShuffle(n), batch_size, drop_last)

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)  # type: ignore[attr-defined]


def loader_generator() -> torch.Generator:
    """A private generator for ``DataLoader(generator=...)``: every DataLoader iterator draws a
    base seed for its workers, from the global generator unless given one; this keeps those
    draws out of the training's random stream (so resuming does not shift it)."""
    return torch.Generator().manual_seed(torch.initial_seed() % (2**63))
