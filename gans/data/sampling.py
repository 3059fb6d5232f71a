"""Shuffling that depends only on the run's seed and the epoch, so a resumed run sees the same
batches as an uninterrupted one (Lightning calls ``set_epoch`` before every epoch), also when it
stopped in the middle of an epoch: the loader's state is its position in the epoch. Under DDP
each process takes its own share of the epoch's permutation here (the trainer configs turn off
Lightning's sampler injection, which neither splits a batch sampler nor knows the position)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import BatchSampler, DataLoader, Sampler


def process_share() -> tuple[int, int]:
    """(rank, world size) of this process in the default process group; (0, 1) without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class EpochShuffle(Sampler[int]):
    """A random permutation of ``range(n)`` drawn from ``seed + epoch`` (``seed`` defaults to
    the global torch seed, i.e. the run's ``seed`` after ``seed_everything``); unlike
    ``RandomSampler`` it draws nothing from the global random number generator. With ``world``
    processes, process ``rank`` gets every ``world``-th index of it from ``rank`` on (the same
    number on every process: the permutation's last ``n % world`` indices sit the epoch out)."""

    def __init__(
        self,
        n: int,
        seed: int | None = None,
        batch_size: int = 1,
        share: tuple[int, int] | None = None,
    ) -> None:
        self.n = int(n)
        self.seed = int(torch.initial_seed() if seed is None else seed) % (2**63)
        self.batch_size = int(batch_size)
        self.epoch = 0
        #: batches of the current epoch the training has used (counted by the datamodule)
        self.consumed = 0
        self._resume: tuple[int, int] | None = None
        self.rank, self.world = share or process_share()

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def resume(self, epoch: int, consumed: int) -> None:
        """Start the next pass over ``epoch`` after its first ``consumed`` batches."""
        self._resume = (int(epoch), int(consumed))

    def __len__(self) -> int:
        return self.n // self.world

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed((self.seed + self.epoch) % (2**63))
        order = torch.randperm(self.n, generator=generator)
        order = order[self.rank : len(self) * self.world : self.world].tolist()
        skip, self._resume = (self._resume or (0, 0)), None
        self.consumed = skip[1] if skip[0] == self.epoch else 0
        yield from order[self.consumed * self.batch_size :]


class ShuffledBatches(BatchSampler):
    """``BatchSampler`` over :class:`EpochShuffle` (or a given subclass of it) that passes
    ``set_epoch`` on."""

    def __init__(
        self, n: int, batch_size: int, drop_last: bool = True, order: EpochShuffle | None = None
    ) -> None:
        order = order if order is not None else EpochShuffle(n, batch_size=batch_size)
        super().__init__(order, batch_size, drop_last)

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)  # type: ignore[attr-defined]


class ResumableLoader(DataLoader):
    """A ``DataLoader`` whose state is its ``position`` (an :class:`EpochShuffle`) in the epoch:
    Lightning saves :meth:`state_dict` in checkpoints and calls :meth:`load_state_dict` when it
    resumes, so a run stopped mid-epoch continues with the next unseen batch."""

    def __init__(self, *args: Any, position: EpochShuffle, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.position = position

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.position.epoch, "consumed": self.position.consumed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Points the position at the next unseen batch, before Lightning's first ``iter``: with
        worker processes that call already draws the indices it prefetches, ahead of the
        ``set_epoch`` that starts the epoch; a state at the end of an epoch is the next one's
        start."""
        epoch, consumed = state["epoch"], state["consumed"]
        if consumed >= len(self):
            epoch, consumed = epoch + 1, 0
        self.position.set_epoch(epoch)
        self.position.resume(epoch, consumed)


def loader_generator() -> torch.Generator:
    """A private generator for ``DataLoader(generator=...)``: every DataLoader iterator draws a
    base seed for its workers, from the global generator unless given one; this keeps those
    draws out of the training's random stream (so resuming does not shift it)."""
    return torch.Generator().manual_seed(torch.initial_seed() % (2**63))
