"""MNIST and Fashion-MNIST, one split at a time: IDX files (gzipped or not) in torchvision's
``<root>/<Name>/raw`` layout or bare in ``<root>``, and for MNIST the 10,000 test digits shipped
with the package (``data.root=builtin``)."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

from torchvision import datasets

from gans.data import cache
from gans.data.idx import IDXImages, find_idx
from gans.data.images import TorchvisionImageDataModule, fingerprint
from gans.data.transforms import Preprocess
from gans.errors import ConfigError

SPLITS = ("train", "test")
#: the MNIST test digits shipped with the package (gans/data/mnist_test/README.md: CC BY-SA 3.0)
BUILTIN = Path(__file__).resolve().parent / "mnist_test"
logger = logging.getLogger(__name__)


def _one_split(cls: type[datasets.MNIST]) -> type[datasets.MNIST]:
    """``cls`` needing (and downloading) only the chosen split's two IDX files, not all four."""

    class OneSplit(cls):  # type: ignore[valid-type, misc]
        def __init__(self, root: str, train: bool, **kwargs: Any) -> None:
            prefix = "train" if train else "t10k"
            self.resources = [r for r in cls.resources if r[0].startswith(prefix)]
            super().__init__(root, train=train, **kwargs)

    OneSplit.__name__ = cls.__name__  # torchvision names the folder after the class
    return OneSplit


def content_digest(files: list[str]) -> str:
    """SHA-256 over the files' bytes, in order."""
    digest = hashlib.sha256()
    for name in files:
        digest.update(Path(name).read_bytes())
    return digest.hexdigest()


class _IDXDataModule(TorchvisionImageDataModule):
    """28x28 greyscale digits (or clothes) as IDX files under ``<root>/<Name>/raw``."""

    torchvision_class: type[datasets.MNIST] = datasets.MNIST
    classes = 10
    #: the folder ``data.root=builtin`` reads (its test split only), if the dataset ships one
    builtin: Path | None = None
    is_builtin = False

    def __init__(self, root: str, split: str = "train", **kwargs: Any) -> None:
        if split not in SPLITS:
            raise ConfigError(f"data.split={split} is unknown; allowed: {', '.join(SPLITS)}")
        if str(root) == "builtin":
            if self.builtin is None:
                raise ConfigError(f"data={self.name} ships no data: set data.root=<folder>")
            if split != "test":
                logger.info(
                    "data=%s: data.root=builtin is the 10,000 test digits shipped with gans "
                    "(the train split is not shipped; set data.root for it)",
                    self.name,
                )
            root, split = str(self.builtin), "test"
            self.is_builtin = True
            kwargs["download"] = False
            if kwargs.get("cache_dir") is None:  # not inside the installed package
                kwargs["cache_dir"] = str(cache.user_cache_dir())
        super().__init__(root, **kwargs)
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

    @property
    def prefix(self) -> str:
        return "train" if self.split == "train" else "t10k"

    def idx_files(self) -> tuple[Path, Path] | None:
        """The split's image and label IDX files (``.gz`` or not), in ``<root>/<Name>/raw``,
        ``<root>/raw`` or bare in ``<root>``; None when either is missing."""
        for folder in (Path(self.raw_folder), Path(self.root) / "raw", Path(self.root)):
            images = find_idx(folder, f"{self.prefix}-images-idx3-ubyte")
            labels = find_idx(folder, f"{self.prefix}-labels-idx1-ubyte")
            if images and labels:
                return images, labels
        return None

    def fetch(self) -> None:
        """Download the split's files unless they are already there (in either layout)."""
        if self.idx_files() is None:
            super().fetch()

    def torchvision_dataset(self, download: bool = False, **kwargs: Any) -> Any:
        found = self.idx_files()
        if found is not None and not download:
            return IDXImages(*found, transform=kwargs.get("transform"))
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

    def holds_the_builtin(self, files: list[str]) -> bool:
        """Whether ``files`` (this split's IDX files) are byte for byte the ones shipped with gans
        (e.g. the same t10k files in another folder): then the data is the shipped data, and so
        is its cache key."""
        if self.builtin is None or self.split != "test" or len(files) != 2:
            return False
        shipped = [self.builtin / Path(f).name for f in files]
        if not all(s.is_file() and s.stat().st_size == Path(f).stat().st_size
                   for s, f in zip(shipped, files, strict=True)):  # fmt: skip
            return False
        return content_digest(files) == content_digest([str(s) for s in shipped])

    def key(self) -> dict[str, Any]:
        """The cache key; for the shipped digits (wherever they are read from: see
        :meth:`holds_the_builtin`) it names no path and no modification time, so caches computed
        from them (the shipped classifier among them) hold wherever gans is installed."""
        found = self.idx_files()
        files = [str(f) for f in found] if found else []
        if self.is_builtin or self.holds_the_builtin(files):
            return {
                **super().key(),
                "root": "builtin",
                "split": "test",
                "files": content_digest(files),
            }
        return {**super().key(), "split": self.split, "files": fingerprint(files)}


class MNISTDataModule(_IDXDataModule):
    """MNIST (LeCun et al. 1998): 60,000 train / 10,000 test handwritten digits, 10 classes."""

    name = "mnist"
    torchvision_class = datasets.MNIST
    builtin = BUILTIN


class FashionMNISTDataModule(_IDXDataModule):
    """Fashion-MNIST (Xiao et al. 2017): 60,000 / 10,000 28x28 clothing images, 10 classes."""

    name = "fashion_mnist"
    torchvision_class = datasets.FashionMNIST
