"""CIFAR-10 through torchvision's reader of the pickled Python batches."""

from __future__ import annotations

import os
from typing import Any

from torchvision import datasets

from gans.data.images import TorchvisionImageDataModule, fingerprint
from gans.errors import ConfigError

SPLITS = ("train", "test")


class _CIFAR10(datasets.CIFAR10):
    """torchvision's CIFAR10; with ``verify_checksums=False`` files are checked for presence
    only (a re-pickled subset loads), by clearing the md5s torchvision compares against."""

    def __init__(self, root: str, verify_checksums: bool = True, **kwargs: Any) -> None:
        if not verify_checksums:
            self.train_list = [[name, None] for name, _ in self.train_list]
            self.test_list = [[name, None] for name, _ in self.test_list]
            self.meta = {**self.meta, "md5": None}
        super().__init__(root, **kwargs)


class CIFAR10DataModule(TorchvisionImageDataModule):
    """CIFAR-10 (Krizhevsky 2009): 50,000 train / 10,000 test 32x32 colour images, 10 classes,
    from ``<root>/cifar-10-batches-py/`` (``data_batch_1..5``, ``test_batch``, ``batches.meta``)."""

    name = "cifar10"

    def __init__(
        self, root: str, split: str = "train", verify_checksums: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(root, **kwargs)
        if split not in SPLITS:
            raise ConfigError(f"data.split={split} is unknown; allowed: {', '.join(SPLITS)}")
        self.split = split
        self.verify_checksums = bool(verify_checksums)

    @property
    def num_classes(self) -> int:
        return 10

    @property
    def folder(self) -> str:
        return os.path.join(self.root, _CIFAR10.base_folder)

    def _files(self) -> list[str]:
        listed = _CIFAR10.train_list if self.split == "train" else _CIFAR10.test_list
        return [os.path.join(self.folder, name) for name, _ in listed]

    def torchvision_dataset(self, download: bool = False, **kwargs: Any) -> datasets.CIFAR10:
        return _CIFAR10(
            str(self.root),
            verify_checksums=self.verify_checksums,
            train=self.split == "train",
            download=download,
            **kwargs,
        )

    def missing(self, reason: str = "") -> ConfigError:
        names = ", ".join(os.path.basename(f) for f in self._files())
        check = " with torchvision's md5 checksums" if self.verify_checksums else ""
        return ConfigError(
            f"data=cifar10 not found: expected {self.folder}/{{{names}, batches.meta}}{check}"
            f"{reason}. data.download=true fetches {_CIFAR10.url}; offline, unpack "
            f"{_CIFAR10.filename} into {self.root} or set data.root (env GANS_DATA_DIR)"
        )

    def key(self) -> dict[str, Any]:
        return {**super().key(), "split": self.split, "files": fingerprint(self._files())}
