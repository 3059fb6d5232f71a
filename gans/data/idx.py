"""The IDX format of MNIST-like datasets (LeCun et al.): read one file, gzipped or not."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from gans.errors import ConfigError

#: the IDX type byte -> numpy dtype (big-endian, as the format stores it)
TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> Tensor:
    """The array in an IDX file (``.gz`` or not): magic 0x0000, a type byte, the number of
    dimensions, each dimension's size (big-endian int32), then the data."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] not in TYPES:
        raise ConfigError(f"{path} is not an IDX file (bad header)")
    dims = raw[3]
    shape = tuple(int(d) for d in np.frombuffer(raw, ">i4", count=dims, offset=4))
    data = np.frombuffer(raw, TYPES[raw[2]], offset=4 + 4 * dims)
    if data.size != int(np.prod(shape)):
        raise ConfigError(f"{path}: {data.size} values for shape {shape} (truncated?)")
    return torch.from_numpy(data.reshape(shape).astype(data.dtype.newbyteorder("=")))


def find_idx(folder: Path, name: str) -> Path | None:
    """``<folder>/<name>`` or ``<folder>/<name>.gz``, whichever exists."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


class IDXImages(Dataset):
    """Images and labels from a pair of IDX files, as PIL images through ``transform``."""

    def __init__(self, images: Path, labels: Path, transform=None) -> None:  # noqa: ANN001
        self.images, self.labels = read_idx(images), read_idx(labels).long()
        if len(self.images) != len(self.labels):
            raise ConfigError(
                f"{images} holds {len(self.images)} images but {labels} {len(self.labels)} labels"
            )
        self.files = [str(images), str(labels)]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[object, int]:
        image = Image.fromarray(self.images[index].numpy(), mode="L")
        return (self.transform(image) if self.transform else image), int(self.labels[index])
