"""The point mass at 0 as a data set: every batch is ``batch_size`` zeros."""

from __future__ import annotations

from collections.abc import Iterator

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, IterableDataset

from gans.batches import Unlabelled
from gans.errors import ConfigError


class _Zeros(IterableDataset):
    def __init__(self, batch_size: int, dim: int) -> None:
        self.batch = (torch.zeros(batch_size, dim), torch.zeros(batch_size, dtype=torch.long))

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        while True:
            yield self.batch


class DiracDataModule(L.LightningDataModule):
    """p_data = delta_0 in ``dim`` dimensions (Mescheder et al. 2018, Sec. 2.2); an endless stream,
    so the run length is set by ``iterations`` alone."""

    num_classes = 0

    def __init__(self, batch_size: int = 1, dim: int = 1) -> None:
        super().__init__()
        if int(batch_size) < 1:
            raise ConfigError(f"data.batch_size={batch_size} must be an integer >= 1")
        self.batch_size = int(batch_size)
        self.dim = int(dim)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return (self.dim,)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(_Zeros(self.batch_size, self.dim), batch_size=None)

    def on_after_batch_transfer(
        self, batch: tuple[Tensor, Tensor], dataloader_idx: int
    ) -> Unlabelled:
        return Unlabelled(batch[0])
