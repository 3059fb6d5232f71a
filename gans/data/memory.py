"""Datasets held in memory as one tensor and served by indexing whole batches."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from gans.batches import Batch, typed
from gans.data.sampling import EpochShuffle, ResumableLoader, ShuffledBatches, loader_generator
from gans.data.transforms import to_signed_unit
from gans.errors import ConfigError


class TensorBatches(Dataset):
    """``dataset[indices]`` returns ``(images[indices], labels[indices])`` in one indexing op.

    Used with a ``BatchSampler`` as the sampler and ``batch_size=None``, a batch costs one gather
    instead of ``batch_size`` item lookups and a collate.
    """

    def __init__(self, images: Tensor, labels: Tensor) -> None:
        if images.shape[0] != labels.shape[0]:
            raise ValueError(f"{images.shape[0]} images but {labels.shape[0]} labels")
        self.images = images
        self.labels = labels

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: list[int] | Tensor) -> tuple[Tensor, Tensor]:
        index = torch.as_tensor(index)
        return self.images[index], self.labels[index]


class InMemoryDataModule(L.LightningDataModule):
    """Base for data that fits in memory: subclasses implement :meth:`load`.

    ``load`` returns images as float32 (N, C, H, W) in [-1, 1] and int64 labels (N,).
    Each epoch is a fresh random permutation cut into full batches (the last partial one dropped,
    so BatchNorm statistics never see a tiny batch). ``holdout`` samples, a fixed draw (the same
    in every run), are kept out of training and served by :meth:`held_out` (what reconstruction
    metrics score).
    """

    num_classes = 0

    def __init__(self, batch_size: int = 64, holdout: int = 0) -> None:
        super().__init__()
        if int(batch_size) < 1:
            raise ConfigError(f"data.batch_size={batch_size} must be an integer >= 1")
        if not str(holdout).isdigit():
            raise ConfigError(
                f"data.holdout={holdout} must be an integer >= 0 (a count of samples)"
            )
        self.batch_size = int(batch_size)
        self.holdout = int(holdout)
        self.held: tuple[Tensor, Tensor] | None = None
        self.dataset: TensorBatches | None = None
        self.position: EpochShuffle | None = None
        #: hold the samples on the training device and index batches there (set for
        #: ``cuda_graphs=true``: a batch is then one gather on the GPU, no host-to-device copy)
        self.on_device = False

    def load(self) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        if self.dataset is None:
            images, labels = self.load()
            if images.shape[0] < self.batch_size:
                raise ConfigError(
                    f"data.batch_size={self.batch_size} is larger than the dataset "
                    f"({images.shape[0]} samples)"
                )
            self.dataset = TensorBatches(images, labels)
            self.hold_out()

    def hold_out(self) -> None:
        """Move ``holdout`` samples, drawn with a fixed seed, out of the training set."""
        assert self.dataset is not None
        if not self.holdout:
            return
        total = len(self.dataset)
        if self.holdout + self.batch_size > total:
            raise ConfigError(
                f"data.holdout={self.holdout} leaves fewer than data.batch_size="
                f"{self.batch_size} of the {total} samples to train on"
            )
        order = torch.randperm(total, generator=torch.Generator().manual_seed(0))
        kept, held = order[self.holdout :].sort().values, order[: self.holdout].sort().values
        images, labels = self.dataset.images, self.dataset.labels
        self.held = (images[held], labels[held])
        self.dataset = TensorBatches(images[kept], labels[kept])

    def held_out(self) -> tuple[Tensor, Tensor] | None:
        """The held-out samples (images in [-1, 1]) and labels; None when ``holdout`` is 0."""
        self.setup()
        if self.held is None:
            return None
        images = self.held[0]
        return (to_signed_unit(images) if images.dtype == torch.uint8 else images), self.held[1]

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The shape of one sample as the model sees it, e.g. (C, H, W)."""
        self.setup()
        assert self.dataset is not None
        return tuple(self.dataset.images.shape[1:])

    def train_dataloader(self) -> DataLoader:
        self.setup()
        assert self.dataset is not None
        served = self.dataset
        device = self.trainer.strategy.root_device if self.trainer is not None else None
        if self.on_device and device is not None and device.type == "cuda":
            served = TensorBatches(served.images.to(device), served.labels.to(device))
        batches = ShuffledBatches(len(served), self.batch_size, drop_last=True)
        self.position = batches.sampler
        return ResumableLoader(
            served,
            sampler=batches,
            batch_size=None,
            generator=loader_generator(),
            position=self.position,
        )

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Batch:
        """The loader's ``(x, y)`` as a typed batch (:mod:`gans.batches`): ``Labelled`` when the
        data has classes, else ``Unlabelled``. Counts the batch as consumed for resuming."""
        if self.position is not None:
            self.position.consumed += 1
        return typed(batch, int(self.num_classes))
