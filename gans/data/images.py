"""Image datasets: decoded once into a cached uint8 tensor when they fit in memory, else streamed.

A subclass names its dataset and returns a *source*: a map-style dataset whose item ``i`` is
``(uint8 (C, H, W) tensor, int label)`` after the dataset's deterministic preprocessing (crop,
resize), read with torchvision's dataset classes where they exist. This base class does the rest:

* **in memory** (``in_memory=true``, or ``auto`` when the decoded bytes fit ``max_memory_gb``):
  the source is decoded once by ``num_workers`` processes into one uint8 tensor, stored with
  :mod:`gans.data.cache` and served a whole batch per indexing op;
* **streaming** (``in_memory=false``): a per-sample ``DataLoader`` with workers over the source.

Either way a batch reaches the device as uint8 and is scaled to [-1, 1] (and mirrored when
``hflip``) there, in :meth:`on_after_batch_transfer`: a quarter of the bytes of float32 cross the
bus, and augmentation is one batched op.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from gans.data import cache
from gans.data.memory import InMemoryDataModule
from gans.data.sampling import EpochShuffle, ResumableLoader, loader_generator
from gans.data.transforms import Preprocess, random_hflip, to_signed_unit
from gans.errors import ConfigError
from gans.preparing import progress

logger = logging.getLogger(__name__)

UNLABELED = -1
ON_CORRUPT = ("skip", "error")
# What a broken image file raises while PIL decodes it.
DECODE_ERRORS = (OSError, ValueError, SyntaxError)


def local_rank() -> int:
    """This process's rank on its machine under DDP (torchrun, Lightning's launcher, SLURM), 0
    otherwise; known from the environment before any process group exists."""
    for name in ("LOCAL_RANK", "SLURM_LOCALID"):
        value = os.environ.get(name)
        if value is not None and value.isdigit():
            return int(value)
    return 0


def available_cores(cap: int) -> int:
    """The CPU cores this process may run on (its affinity mask, which a cluster's allocation
    sets), at most ``cap``."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    return max(1, min(cap, cores))


@dataclass
class Unreadable:
    """Stands in for an item whose file could not be decoded (``data.on_corrupt=skip``)."""

    where: str
    reason: str


class Decoded(Dataset):
    """``source[i]``, with a file that fails to decode either stopping the run with a
    :class:`ConfigError` naming it (``on_corrupt="error"``) or returned as :class:`Unreadable`."""

    def __init__(self, source: Dataset, on_corrupt: str) -> None:
        self.source = source
        self.on_corrupt = on_corrupt

    def __len__(self) -> int:
        return len(self.source)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> tuple[Tensor, int] | Unreadable:
        try:
            return self.source[index]
        except DECODE_ERRORS as exc:
            where = describe_item(self.source, index)
            if self.on_corrupt == "error":
                raise ConfigError(
                    f"cannot read image {where}: {exc} (data.on_corrupt=skip skips such files)"
                ) from None
            return Unreadable(where, str(exc))


def failure(exc: BaseException) -> str:
    """One line for an exception whose message may span many (torchvision's download errors)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[-1] if lines else ''}".rstrip(": ")


def describe_item(source: Dataset, index: int) -> str:
    """The file behind ``source[index]`` when the source lists its files, else its index."""
    files = getattr(source, "files", None)
    return str(files[index]) if files is not None else f"item {index}"


def collate_readable(items: list[tuple[Tensor, int] | Unreadable]) -> tuple[Tensor, Tensor]:
    """Stack the readable items of a streamed batch; unreadable ones are logged and dropped."""
    good = [item for item in items if not isinstance(item, Unreadable)]
    for item in items:
        if isinstance(item, Unreadable):
            logger.warning("skipping unreadable image %s: %s", item.where, item.reason)
    if not good:
        raise ConfigError(f"every image of a batch was unreadable, e.g. {items[0].where}")
    return torch.stack([x for x, _ in good]), torch.tensor([y for _, y in good])


def fingerprint(files: list[str]) -> str:
    """A digest of the files' names, sizes and modification times: edits invalidate a cache."""
    digest = hashlib.sha1()
    for name in files:
        stat = os.stat(name)
        digest.update(f"{os.path.basename(name)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()


class ImageDataModule(InMemoryDataModule):
    """Base for image datasets; subclasses implement :meth:`source` and may extend :meth:`key`.

    Args:
        root: the data folder (``data.root``).
        image_size: side of the square images G makes and D sees.
        channels: 1 (greyscale) or 3 (RGB).
        batch_size: images per batch; the last partial batch of an epoch is dropped.
        hflip: mirror each image left-right with probability 1/2 (on the device).
        in_memory: ``true``, ``false`` or ``"auto"`` (in memory when it fits ``max_memory_gb``).
        max_memory_gb: the decoded-size budget for ``auto``.
        num_workers: processes that decode images (for the cache or while streaming); ``auto``:
            the CPU cores this process may use, at most 8.
        cache: keep the decoded tensor on disk; ``cache_dir`` overrides ``<root>/.gans-cache``.
        on_corrupt: ``skip`` (count and drop unreadable files) or ``error`` (stop, naming one).
        download: let torchvision download the dataset where it can.
        holdout: images kept out of training (a fixed draw, the same in every run), scored as
            held-out data by reconstruction metrics (:meth:`held_out`); 0: none.
    """

    name = "images"

    def __init__(
        self,
        root: str,
        image_size: int = 32,
        channels: int = 3,
        batch_size: int = 64,
        hflip: bool = False,
        in_memory: bool | str = "auto",
        max_memory_gb: float = 8.0,
        num_workers: int | str = "auto",
        cache: bool = True,
        cache_dir: str | None = None,
        on_corrupt: str = "skip",
        download: bool = False,
        holdout: int = 0,
    ) -> None:
        super().__init__(batch_size, holdout=holdout)
        if not root:
            raise ConfigError(f"data.root must be set for data={self.name}: data.root=<folder>")
        if on_corrupt not in ON_CORRUPT:
            raise ConfigError(f"data.on_corrupt={on_corrupt} is unknown; allowed: skip, error")
        if in_memory not in (True, False, "auto"):
            raise ConfigError(f"data.in_memory={in_memory} is unknown; allowed: true, false, auto")
        if int(image_size) < 4:
            raise ConfigError(f"data.image_size={image_size} must be an integer >= 4")
        if int(channels) not in (1, 3):
            raise ConfigError(f"data.channels={channels} is not supported; allowed: 1, 3")
        if num_workers == "auto":
            num_workers = available_cores(cap=8)
        if not str(num_workers).isdigit():
            raise ConfigError(f"data.num_workers={num_workers} must be an integer >= 0 or auto")
        self.root = Path(os.path.expanduser(str(root)))
        self.image_size = int(image_size)
        self.channels = int(channels)
        self.hflip = bool(hflip)
        self.in_memory = in_memory
        self.max_memory_gb = float(max_memory_gb)
        self.num_workers = int(num_workers)
        self.cache = bool(cache)
        self.cache_dir = cache_dir
        self.on_corrupt = on_corrupt
        self.download = bool(download)
        self.streamed: Decoded | None = None
        self.skipped: list[str] = []
        self.cache_path: Path | None = None
        self._source: Dataset | None = None

    # -- what a subclass provides -------------------------------------------------------------
    def source(self) -> Dataset:
        """The preprocessed dataset (items ``(uint8 (C, H, W), label)``); raise ConfigError when
        its files are missing, saying which files are expected where."""
        raise NotImplementedError

    def fetch(self) -> None:
        """Download the dataset (only called when ``download=true``)."""
        raise ConfigError(f"data={self.name} cannot be downloaded; set data.download=false")

    @property
    def num_classes(self) -> int:
        """Number of label classes; 0 when the dataset is unlabeled."""
        return 0

    @property
    def stored_shape(self) -> tuple[int, int, int]:
        """The shape of one decoded item (a pair stacks its two images' channels)."""
        return (self.channels, self.image_size, self.image_size)

    def key(self) -> dict[str, Any]:
        """Everything that determines the decoded tensor; part of the cache file's name."""
        source = self.get_source()
        files = getattr(source, "files", None)
        return {
            "dataset": self.name,
            "root": str(self.root.resolve()),
            "image_size": self.image_size,
            "channels": self.channels,
            "count": len(source),  # type: ignore[arg-type]
            "files": fingerprint(list(files)) if files is not None else None,
            "format": 1,
        }

    # -- Lightning hooks ------------------------------------------------------------------------
    def get_source(self) -> Dataset:
        if self._source is None:
            self._source = self.source()
            if len(self._source) == 0:  # type: ignore[arg-type]
                raise ConfigError(f"data={self.name}: no images found under {self.root}")
        return self._source

    def prepare_data(self) -> None:
        if self.download:
            self.fetch()

    def fits_in_memory(self) -> bool:
        if self.in_memory != "auto":
            return bool(self.in_memory)
        count = len(self.get_source())  # type: ignore[arg-type]
        return count * math.prod(self.stored_shape) <= self.max_memory_gb * 2**30

    def setup(self, stage: str | None = None) -> None:
        if self.dataset is not None or self.streamed is not None:
            return
        if self.fits_in_memory():
            super().setup(stage)
            return
        if self.holdout:
            raise ConfigError(
                f"data.holdout={self.holdout} needs the images in memory: set data.in_memory=true"
            )
        self.streamed = Decoded(self.get_source(), self.on_corrupt)
        if len(self.streamed) < self.batch_size:
            raise ConfigError(
                f"data.batch_size={self.batch_size} is larger than the dataset "
                f"({len(self.streamed)} images)"
            )

    def load(self) -> tuple[Tensor, Tensor]:
        key = self.key()
        if self.cache:
            self.cache_path = cache.cache_file(self.cache_dir, self.root, key)
            payload = cache.load(self.cache_path, key)
            if payload is None and local_rank() > 0:
                payload = self.wait_for_cache(key)
            if payload is not None:
                self.skipped = list(payload["skipped"])
                return payload["images"], payload["labels"]
        started = time.perf_counter()
        images, labels = self.decode()
        seconds = time.perf_counter() - started
        if self.cache:
            payload = {"key": key, "images": images, "labels": labels, "skipped": self.skipped}
            self.cache_path = cache.save(self.cache_path, payload)
        logger.info(
            "data=%s: decoded %d images to %s uint8 in %.1f s; cache: %s",
            self.name,
            len(images),
            tuple(images.shape[1:]),
            seconds,
            self.cache_path or "off",
        )
        return images, labels

    def wait_for_cache(self, key: dict[str, Any], timeout: float = 3600.0) -> dict | None:
        """On a process that is not its machine's first (DDP), wait for local rank 0 to decode
        the data into the cache and read it, instead of decoding it once per process. None
        after ``timeout`` seconds (then this process decodes it itself)."""
        assert self.cache_path is not None
        logger.info("data=%s: waiting for local rank 0 to fill %s", self.name, self.cache_path)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(0.5)
            payload = cache.load(self.cache_path, key)
            if payload is not None:
                return payload
        logger.warning("data=%s: no cache after %.0f s; decoding here", self.name, timeout)
        return None

    def decode(self) -> tuple[Tensor, Tensor]:
        """Every item of the source, decoded by ``num_workers`` processes into one uint8 tensor."""
        source = self.get_source()
        count = len(source)  # type: ignore[arg-type]
        images = torch.empty(count, *self.stored_shape, dtype=torch.uint8)
        labels = torch.empty(count, dtype=torch.long)
        loader = DataLoader(
            Decoded(source, self.on_corrupt),
            batch_size=256,
            num_workers=self.num_workers,
            collate_fn=list,
            generator=torch.Generator(),  # not the global one: decoding must not shift training
        )
        filled = 0
        what = f"data={self.name}: decoding {count} images (once; cached)"
        for items in progress(loader, len(loader), what, unit="batch"):
            for item in items:
                if isinstance(item, Unreadable):
                    self.skipped.append(item.where)
                    continue
                image, label = item
                if image.shape != images.shape[1:]:
                    raise ConfigError(
                        f"data={self.name}: {describe_item(source, filled)} decodes to "
                        f"{tuple(image.shape)}, expected {tuple(images.shape[1:])}"
                    )
                images[filled], labels[filled] = image, label
                filled += 1
        if self.skipped:
            logger.warning(
                "data=%s: skipped %d unreadable image(s), e.g. %s (data.on_corrupt=error stops)",
                self.name,
                len(self.skipped),
                self.skipped[0],
            )
        if filled == 0:
            raise ConfigError(
                f"data={self.name}: none of the {count} images under {self.root} could be read"
            )
        return images[:filled].clone() if filled < count else images, labels[:filled].clone()

    def train_dataloader(self) -> DataLoader:
        self.setup()
        if self.streamed is None:
            return super().train_dataloader()
        self.position = EpochShuffle(len(self.streamed), batch_size=self.batch_size)
        return ResumableLoader(
            self.streamed,
            position=self.position,
            batch_size=self.batch_size,
            sampler=self.position,
            generator=loader_generator(),
            drop_last=True,
            num_workers=self.num_workers,
            pin_memory=torch.cuda.is_available(),
            persistent_workers=self.num_workers > 0,
            collate_fn=collate_readable,
        )

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        images, labels = batch
        images = to_signed_unit(images)
        if self.hflip:
            images = random_hflip(images)
        return super().on_after_batch_transfer((images, labels), dataloader_idx)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """(C, H, W) of one image as the model will see it."""
        self.setup()
        if self.dataset is not None:
            return tuple(self.dataset.images.shape[1:])
        image, _ = self.streamed.source[0]  # type: ignore[union-attr]
        return tuple(image.shape)


def remove_empty_folders(top: Path) -> None:
    """Remove ``top`` and the folders under it, deepest first, as long as they hold no file."""
    for folder, _, _ in sorted(os.walk(top), key=lambda w: -len(Path(w[0]).parts)):
        with contextlib.suppress(OSError):  # not empty (a file is kept), or already gone
            os.rmdir(folder)


class TorchvisionImageDataModule(ImageDataModule):
    """A dataset read by a torchvision class: :meth:`dataset` builds it, :meth:`missing` says
    which files are expected where; downloading and "not found" are handled here once."""

    def torchvision_dataset(self, download: bool = False, **kwargs: Any) -> Dataset:
        raise NotImplementedError

    def missing(self, reason: str = "") -> ConfigError:
        raise NotImplementedError

    def transform(self) -> Preprocess:
        return Preprocess(self.image_size, self.channels)

    def fetch(self) -> None:
        """Download; a failed download leaves no folder it created behind (``data.root`` and the
        dataset's own subfolders, when they hold no file)."""
        root = Path(self.root).expanduser().absolute()
        created = next((p for p in reversed([root, *root.parents]) if not p.exists()), None)
        try:
            self.torchvision_dataset(download=True)
        except Exception as exc:  # noqa: BLE001 - any network or archive failure means "not there"
            if created is not None:
                remove_empty_folders(created)
            raise self.missing(f" and the download failed ({failure(exc)})") from None

    def source(self) -> Dataset:
        try:
            return self.torchvision_dataset(transform=self.transform())
        except RuntimeError:  # torchvision's "Dataset not found or corrupted"
            raise self.missing() from None
