"""Aligned image pairs for Pix2Pix, in either of the reference code's layouts:

* ``<root>/<split>/*.png``, each image A|B side by side (A the left half);
* ``<root>/A/<split>/`` and ``<root>/B/<split>/`` with the same file names (what the reference's
  ``combine_A_and_B.py`` reads).

Each pair is decoded once (resized to ``load_size``) into one uint8 tensor with A's channels
then B's, cached; a batch is cropped and mirrored on the device as one tensor, so A and B always
get the same crop and flip.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from gans.batches import Paired
from gans.data.folder import is_image
from gans.data.images import UNLABELED, ImageDataModule, fingerprint
from gans.data.pairs import center_crop, check_channels, check_load_size, random_crop
from gans.data.transforms import Preprocess, open_image, random_hflip, to_signed_unit
from gans.errors import ConfigError

DIRECTIONS = ("AtoB", "BtoA")


def images_in(folder: Path) -> list[str]:
    """The image files directly in ``folder``, sorted by name."""
    return sorted(str(folder / e) for e in os.listdir(folder) if is_image(e))


class PairSource(Dataset):
    """Item i: (uint8 (C_A + C_B, L, L), unlabelled) from a side-by-side file (``files[i]``)
    or from two files (``files[i]`` in A, ``partners[i]`` in B)."""

    def __init__(
        self, files: list[str], partners: list[str] | None, a: Preprocess, b: Preprocess
    ) -> None:
        self.files = files
        self.partners = partners
        self.a, self.b = a, b

    def __len__(self) -> int:
        return len(self.files)

    def halves(self, index: int) -> tuple[Image.Image, Image.Image]:
        image = open_image(self.files[index])
        if self.partners is not None:
            return image, open_image(self.partners[index])
        width, height = image.size
        half = width // 2
        return image.crop((0, 0, half, height)), image.crop((half, 0, 2 * half, height))

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        a, b = self.halves(index)
        return torch.cat([self.a(a), self.b(b)]), UNLABELED


class PairedFolderDataModule(ImageDataModule):
    """Aligned pairs (A, B) as :class:`~gans.batches.Paired` batches ``(a, b)`` in [-1, 1]
    (``direction=BtoA`` swaps them).

    Args:
        root: the dataset folder (see the module docstring for the layouts).
        split, test_split: the training and held-out subfolders (``train``, ``test``).
        image_size: the crop the networks see.
        load_size: the size pairs are resized to before a random ``image_size`` crop (Pix2Pix's
            jitter: 286 for 256); equal to image_size: no crop.
        channels_a, channels_b: 1 or 3 for each domain.
        direction: ``AtoB`` (translate A into B) or ``BtoA``.
        hflip: mirror both images of a pair together with probability 1/2.
        others: see :class:`~gans.data.images.ImageDataModule`; pairs are always held in memory.
    """

    name = "paired_folder"

    def __init__(
        self,
        root: str,
        split: str = "train",
        test_split: str | None = "test",
        image_size: int = 256,
        load_size: int | None = None,
        channels_a: int = 3,
        channels_b: int = 3,
        direction: str = "AtoB",
        **kwargs: Any,
    ) -> None:
        if direction not in DIRECTIONS:
            raise ConfigError(f"data.direction={direction} is unknown; allowed: AtoB, BtoA")
        if direction == "BtoA" and int(channels_a) != int(channels_b):
            raise ConfigError(
                f"data.direction=BtoA with data.channels_a={channels_a} and channels_b="
                f"{channels_b}: the models take their channels from channels_a (source) and "
                "channels_b (target), so swap those two values as well"
            )
        if kwargs.get("in_memory") is False:
            raise ConfigError("data.in_memory=false: paired folders are always held in memory")
        kwargs["in_memory"] = True
        if int(kwargs.get("holdout") or 0):
            raise ConfigError("data.holdout: paired folders hold out data.test_split instead")
        kwargs.pop("channels", None)  # the target's: channels_b (or channels_a for BtoA)
        kwargs.setdefault("download", False)
        super().__init__(root, image_size=image_size, channels=int(channels_b), **kwargs)
        self.split = str(split)
        self.test_split = test_split
        self.load_size = check_load_size(load_size or image_size, image_size)
        self.channels_a = int(channels_a)
        self.channels_b = int(channels_b)
        self.direction = direction
        self._test: PairedFolderDataModule | None = None

    @property
    def stored_shape(self) -> tuple[int, int, int]:
        return (self.channels_a + self.channels_b, self.load_size, self.load_size)

    def key(self) -> dict[str, Any]:
        partners = self.get_source().partners  # type: ignore[attr-defined]
        return {
            **super().key(),
            "partners": fingerprint(partners) if partners is not None else None,
            "split": self.split,
            "load_size": self.load_size,
            "channels_a": self.channels_a,
            "image_size": self.load_size,
        }

    def layout(self, split: str) -> tuple[list[str], list[str] | None]:
        """The files of ``split``: side-by-side (partners None) or A/ and B/ with equal names."""
        side_by_side = self.root / split
        a_dir, b_dir = self.root / "A" / split, self.root / "B" / split
        if a_dir.is_dir() or b_dir.is_dir():
            for folder in (a_dir, b_dir):
                if not folder.is_dir():
                    raise ConfigError(f"{folder} is missing: the A/ B/ layout needs both folders")
            files_a, files_b = images_in(a_dir), images_in(b_dir)
            names_a = [Path(f).name for f in files_a]
            names_b = [Path(f).name for f in files_b]
            if names_a != names_b:
                only_a = sorted(set(names_a) - set(names_b))
                only_b = sorted(set(names_b) - set(names_a))
                example = (
                    f"{only_a[0]} is in {a_dir} only"
                    if only_a
                    else f"{only_b[0]} is in {b_dir} only"
                )
                raise ConfigError(
                    f"{a_dir} and {b_dir} must hold the same file names ({len(files_a)} vs "
                    f"{len(files_b)} images): {example}"
                )
            if not files_a:
                raise ConfigError(f"{a_dir} holds no images for data={self.name}")
            return files_a, files_b
        if side_by_side.is_dir():
            files = images_in(side_by_side)
            if not files:
                raise ConfigError(f"{side_by_side} holds no images for data={self.name}")
            return files, None
        raise ConfigError(
            f"data.root={self.root} has no {split} pairs: expected {side_by_side}/ (A|B side by "
            f"side in each image) or {a_dir}/ with {b_dir}/ (same file names)"
        )

    def source(self) -> Dataset:
        files, partners = self.layout(self.split)
        a_folder = Path(files[0]).parent
        check_channels(files, self.channels_a, "data.channels_a", a_folder)
        if partners is not None:
            check_channels(partners, self.channels_b, "data.channels_b", Path(partners[0]).parent)
        return PairSource(
            files,
            partners,
            Preprocess(self.load_size, self.channels_a),
            Preprocess(self.load_size, self.channels_b),
        )

    def split_pairs(self, images: Tensor) -> Paired:
        a, b = images[:, : self.channels_a], images[:, self.channels_a :]
        return Paired(a, b) if self.direction == "AtoB" else Paired(b, a)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Paired:
        if isinstance(batch, Paired):
            return batch
        images, _ = batch
        images = random_crop(to_signed_unit(images), self.image_size)
        if self.hflip:
            images = random_hflip(images)
        if self.position is not None:
            self.position.consumed += 1
        return self.split_pairs(images)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The target images' (C, H, W)."""
        channels = self.channels_b if self.direction == "AtoB" else self.channels_a
        return (channels, self.image_size, self.image_size)

    @property
    def source_shape(self) -> tuple[int, ...]:
        channels = self.channels_a if self.direction == "AtoB" else self.channels_b
        return (channels, self.image_size, self.image_size)

    def held_out(self) -> Paired | None:
        """The ``test_split`` pairs, center-cropped (no jitter), in [-1, 1]; None without one."""
        if not self.test_split:
            return None
        if self._test is None:
            try:
                self.layout(str(self.test_split))
            except ConfigError:
                return None
            self._test = PairedFolderDataModule(
                str(self.root),
                split=str(self.test_split),
                test_split=None,
                image_size=self.image_size,
                load_size=self.load_size,
                channels_a=self.channels_a,
                channels_b=self.channels_b,
                direction=self.direction,
                batch_size=1,
                num_workers=self.num_workers,
                cache=self.cache,
                cache_dir=self.cache_dir,
                on_corrupt=self.on_corrupt,
            )
            self._test.setup()
        assert self._test.dataset is not None
        images = center_crop(to_signed_unit(self._test.dataset.images), self.image_size)
        return self.split_pairs(images)
