"""Two unpaired image domains for CycleGAN, in the reference code's layout
``<root>/trainA/``, ``trainB/``, ``testA/``, ``testB/``. Each domain folder is flat, or holds class
subfolders (then its labels serve the label-preservation metric). Each is decoded once and
cached like any image folder; an epoch visits every image of the larger domain once, each paired
with a random image of the other."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from gans.batches import Unpaired
from gans.data.folder import ImageFolderDataModule
from gans.data.memory import InMemoryDataModule
from gans.data.pairs import center_crop, check_channels, check_load_size, random_crop
from gans.data.sampling import EpochShuffle, ResumableLoader, ShuffledBatches, loader_generator
from gans.data.transforms import random_hflip, to_signed_unit
from gans.errors import ConfigError


class UnpairedShuffle(EpochShuffle):
    """Per epoch, ``max(n_a, n_b)`` index pairs ``(i mod n_a, p[i mod n_b])`` for i in a random
    permutation and p a random permutation of B, both drawn from ``seed + epoch`` (so resuming
    mid-epoch continues with the same pairs)."""

    def __init__(self, n_a: int, n_b: int, batch_size: int = 1) -> None:
        super().__init__(max(n_a, n_b), batch_size=batch_size)
        self.n_a, self.n_b = int(n_a), int(n_b)

    def __iter__(self) -> Iterator[tuple[int, int]]:  # type: ignore[override]
        generator = torch.Generator().manual_seed((self.seed + self.epoch) % (2**63))
        order = torch.randperm(self.n, generator=generator)
        other = torch.randperm(self.n_b, generator=generator)
        pairs = torch.stack([order % self.n_a, other[order % self.n_b]], dim=1)
        pairs = pairs[self.rank : len(self) * self.world : self.world].tolist()
        skip, self._resume = (self._resume or (0, 0)), None
        self.consumed = skip[1] if skip[0] == self.epoch else 0
        yield from (tuple(p) for p in pairs[self.consumed * self.batch_size :])


class UnpairedTensors(Dataset):
    """``dataset[[(i, j), ...]]`` = (A images i, B images j) in two indexing ops."""

    def __init__(self, a: Tensor, b: Tensor) -> None:
        self.a, self.b = a, b

    def __len__(self) -> int:
        return max(self.a.shape[0], self.b.shape[0])

    def __getitem__(self, pairs: list[tuple[int, int]]) -> tuple[Tensor, Tensor]:
        index = torch.as_tensor(pairs)
        return self.a[index[:, 0]], self.b[index[:, 1]]


class UnpairedFolderDataModule(InMemoryDataModule):
    """Unpaired domains A and B as :class:`~gans.batches.Unpaired` batches in [-1, 1], each image
    resized to ``load_size``, randomly cropped to ``image_size`` and (``hflip``) mirrored.

    Args:
        root: the folder holding ``trainA/`` and ``trainB/`` (and ``testA/``, ``testB/``).
        image_size, load_size, channels_a, channels_b: as for paired folders.
        split, test_split: the folder name prefixes (``train``, ``test``).
        batch_size, hflip, num_workers, cache, cache_dir, on_corrupt: as for image folders;
        in_memory (always), max_memory_gb and channels (``channels_b``) are the shared image
        settings, accepted for the common config.
    """

    name = "unpaired_folder"

    def __init__(
        self,
        root: str,
        image_size: int = 256,
        load_size: int | None = None,
        channels_a: int = 3,
        channels_b: int = 3,
        batch_size: int = 1,
        hflip: bool = False,
        split: str = "train",
        test_split: str | None = "test",
        num_workers: int | str = "auto",
        cache: bool = True,
        cache_dir: str | None = None,
        on_corrupt: str = "skip",
        in_memory: bool | str = True,
        max_memory_gb: float | None = None,
        download: bool = False,
        channels: int | None = None,
        holdout: int = 0,
    ) -> None:
        super().__init__(batch_size)
        if int(holdout):
            raise ConfigError(
                "data.holdout: unpaired folders hold out their test split (testA/, testB/)"
            )
        if in_memory is False:
            raise ConfigError("data.in_memory=false: unpaired folders are always held in memory")
        if download:
            raise ConfigError(f"data={self.name} cannot be downloaded; set data.download=false")
        if not root:
            raise ConfigError(f"data.root must be set for data={self.name}: data.root=<folder>")
        self.root = Path(str(root)).expanduser()
        self.image_size = int(image_size)
        self.load_size = check_load_size(load_size or image_size, image_size)
        self.channels = {"A": int(channels_a), "B": int(channels_b)}
        self.hflip = bool(hflip)
        self.split, self.test_split = str(split), test_split
        self.settings = {
            "num_workers": num_workers,
            "cache": cache,
            "cache_dir": cache_dir,
            "on_corrupt": on_corrupt,
        }
        self.domains: dict[str, ImageFolderDataModule] = {}
        self.labels: dict[str, Tensor] = {}
        self._held: dict[str, tuple[Tensor, Tensor]] = {}

    def domain(self, split: str, letter: str) -> ImageFolderDataModule:
        """The image folder ``<root>/<split><letter>`` at ``load_size``, checked for channels."""
        folder = self.root / f"{split}{letter}"
        if not folder.is_dir():
            raise ConfigError(
                f"{folder} is missing: data={self.name} reads {self.root}/{split}A/ and "
                f"{split}B/ (the CycleGAN layout)"
            )
        module = ImageFolderDataModule(
            str(folder),
            image_size=self.load_size,
            channels=self.channels[letter],
            batch_size=1,
            in_memory=True,
            download=False,
            **self.settings,
        )
        files = getattr(module.get_source(), "files", [])
        check_channels(files, self.channels[letter], f"data.channels_{letter.lower()}", folder)
        return module

    def load_domain(self, split: str, letter: str) -> tuple[Tensor, Tensor]:
        module = self.domain(split, letter)
        module.setup()
        assert module.dataset is not None
        return module.dataset.images, module.dataset.labels

    def setup(self, stage: str | None = None) -> None:
        if self.dataset is not None:
            return
        a, self.labels["A"] = self.load_domain(self.split, "A")
        b, self.labels["B"] = self.load_domain(self.split, "B")
        for letter, images in (("A", a), ("B", b)):
            if images.shape[0] < self.batch_size:
                raise ConfigError(
                    f"data.batch_size={self.batch_size} is larger than {self.root}/"
                    f"{self.split}{letter} ({images.shape[0]} images)"
                )
        self.dataset = UnpairedTensors(a, b)  # type: ignore[assignment]

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return (self.channels["B"], self.image_size, self.image_size)

    @property
    def source_shape(self) -> tuple[int, ...]:
        return (self.channels["A"], self.image_size, self.image_size)

    def train_dataloader(self) -> DataLoader:
        self.setup()
        dataset = self.dataset
        assert isinstance(dataset, UnpairedTensors)
        order = UnpairedShuffle(dataset.a.shape[0], dataset.b.shape[0], self.batch_size)
        self.position = order
        return ResumableLoader(
            dataset,
            sampler=ShuffledBatches(len(dataset), self.batch_size, order=order),
            batch_size=None,
            generator=loader_generator(),
            position=order,
        )

    def jitter(self, images: Tensor) -> Tensor:
        images = random_crop(to_signed_unit(images), self.image_size)
        return random_hflip(images) if self.hflip else images

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Unpaired:
        if isinstance(batch, Unpaired):
            return batch
        a, b = batch
        if self.position is not None:
            self.position.consumed += 1
        return Unpaired(self.jitter(a), self.jitter(b))

    def held_out(self, letter: str) -> tuple[Tensor, Tensor] | None:
        """Domain ``letter``'s ``test_split`` images (center crop, [-1, 1]) and labels (-1 for a
        flat folder); None when the folder does not exist."""
        if not self.test_split or not (self.root / f"{self.test_split}{letter}").is_dir():
            return None
        if letter not in self._held:
            images, labels = self.load_domain(str(self.test_split), letter)
            self._held[letter] = (
                center_crop(to_signed_unit(images), self.image_size),
                labels,
            )
        return self._held[letter]
