"""MNIST and Fashion-MNIST through torchvision's readers, one split at a time."""

from __future__ import annotations

import os
from typing import Any

from torchvision import datasets

from gans.data.images import TorchvisionImageDataModule, fingerprint
from gans.data.transforms import Preprocess
from gans.errors import ConfigError

SPLITS = ("train", "test")


def _one_split(cls: type[datasets.MNIST]) -> type[datasets.MNIST]:
    """``cls`` needing (and downloading) only the chosen split's two IDX files, not all four."""

    class OneSplit(cls):  # type: ignore[valid-type, misc]
        def __init__(self, root: str, train: bool, **kwargs: Any) -> None:
            prefix = "train" if train else "t10k"
            self.resources = [r for r in cls.resources if r[0].startswith(prefix)]
            super().__init__(root, train=train, **kwargs)

    OneSplit.__name__ = cls.__name__  # torchvision names the folder after the class
    return OneSplit


class _IDXDataModule(TorchvisionImageDataModule):
    """28x28 greyscale digits (or clothes) as IDX files under ``<root>/<Name>/raw``."""

    torchvision_class: type[datasets.MNIST] = datasets.MNIST
    classes = 10

    def __init__(self, root: str, split: str = "train", **kwargs: Any) -> None:
        super().__init__(root, **kwargs)
        if split not in SPLITS:
            raise ConfigError(f"data.split={split} is unknown; allowed: {', '.join(SPLITS)}")
        self.split = split

    @property
    def num_classes(self) -> int:
        return self.classes

    @property
    def item_channels(self) -> int:
        """Channels of one decoded digit (greyscale digits are converted when 3 are asked)."""
        return self.channels

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, self.torchvision_class.__name__, "raw")

    def torchvision_dataset(self, download: bool = False, **kwargs: Any) -> datasets.MNIST:
        cls = _one_split(self.torchvision_class)
        return cls(str(self.root), train=self.split == "train", download=download, **kwargs)

    def missing(self, reason: str = "") -> ConfigError:
        prefix = "train" if self.split == "train" else "t10k"
        files = [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]
        mirror = self.torchvision_class.mirrors[0]
        return ConfigError(
            f"data={self.name} (split {self.split}) not found: expected {self.raw_folder}/"
            f"{{{', '.join(files)}}}{reason}. data.download=true fetches them (from {mirror}); "
            f"offline, put {files[0]}.gz and {files[1]}.gz from that address in {self.raw_folder} "
            "and run with data.download=true to unpack them, or set data.root (env GANS_DATA_DIR)"
        )

    def transform(self) -> Preprocess:
        return Preprocess(self.image_size, self.item_channels)

    def key(self) -> dict[str, Any]:
        prefix = "train" if self.split == "train" else "t10k"
        raw = [
            os.path.join(self.raw_folder, f"{prefix}-{kind}")
            for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")
        ]
        return {**super().key(), "split": self.split, "files": fingerprint(raw)}


class MNISTDataModule(_IDXDataModule):
    """MNIST (LeCun et al. 1998): 60,000 train / 10,000 test handwritten digits, 10 classes."""

    name = "mnist"
    torchvision_class = datasets.MNIST


class FashionMNISTDataModule(_IDXDataModule):
    """Fashion-MNIST (Xiao et al. 2017): 60,000 / 10,000 28x28 clothing images, 10 classes."""

    name = "fashion_mnist"
    torchvision_class = datasets.FashionMNIST
