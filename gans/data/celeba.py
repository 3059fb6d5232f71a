"""CelebA aligned faces, from torchvision's layout or a bare folder of the JPGs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from torch import Tensor
from torch.utils.data import Dataset
from torchvision import datasets

from gans.data.images import UNLABELED, ImageDataModule, failure
from gans.data.transforms import Preprocess, open_image
from gans.errors import ConfigError

SPLITS = {"train": 0, "valid": 1, "test": 2, "all": None}
TARGETS = (None, "attr")
PARTITION = "list_eval_partition.txt"
ATTRIBUTES = "list_attr_celeba.txt"
HOME = "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html"


def read_partition(path: Path) -> dict[str, int]:
    """``list_eval_partition.txt``: one ``<file> <0|1|2>`` line per image (train/valid/test)."""
    lines = path.read_text().split("\n")
    return {name: int(part) for name, part in (line.split() for line in lines if line.strip())}


def read_attributes(path: Path) -> tuple[list[str], dict[str, list[int]]]:
    """``list_attr_celeba.txt``: a count line, the 40 attribute names, then ``<file> ±1 ...``."""
    lines = [line for line in path.read_text().split("\n") if line.strip()]
    names = lines[1].split()
    rows = {}
    for line in lines[2:]:
        fields = line.split()
        rows[fields[0]] = [int(v) for v in fields[1:]]
    return names, rows


class Faces(Dataset):
    """``files[i]`` preprocessed, with ``labels[i]`` (``UNLABELED`` when no target is asked)."""

    def __init__(self, files: list[str], labels: list[int], transform: Preprocess) -> None:
        self.files = files
        self.labels = labels
        self.transform = transform

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        return self.transform(open_image(self.files[index])), self.labels[index]


class CelebADataModule(ImageDataModule):
    """CelebA (Liu et al. 2015), the 202,599 aligned and cropped 178x218 faces.

    Found at ``<root>/celeba/img_align_celeba/`` (torchvision's layout, list files in
    ``<root>/celeba/``), ``<root>/img_align_celeba/`` or ``<root>`` itself (a bare folder of the
    JPGs). Preprocessing as DCGAN and Lucic et al. 2018: center crop ``crop`` then resize to
    ``image_size``. ``split`` other than ``all`` needs ``list_eval_partition.txt``;
    ``target=attr`` labels each face by one binary ``attribute`` and needs ``list_attr_celeba.txt``.
    """

    name = "celeba"

    def __init__(
        self,
        root: str,
        split: str = "all",
        crop: int = 178,
        target: str | None = None,
        attribute: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(root, **kwargs)
        if split not in SPLITS:
            raise ConfigError(f"data.split={split} is unknown; allowed: {', '.join(SPLITS)}")
        if target not in TARGETS:
            raise ConfigError(f"data.target={target} is unknown; allowed: null, attr")
        if target == "attr" and not attribute:
            raise ConfigError("data.target=attr needs data.attribute, e.g. data.attribute=Smiling")
        if crop is not None and not 0 < int(crop) <= 178:
            raise ConfigError(
                f"data.crop={crop} must be in 1..178 (the aligned faces are 178 wide)"
            )
        self.split = split
        self.crop = None if crop is None else int(crop)
        self.target = target
        self.attribute = attribute

    @property
    def num_classes(self) -> int:
        return 2 if self.target == "attr" else 0

    def image_folder(self) -> Path | None:
        for folder in (
            self.root / "celeba" / "img_align_celeba",
            self.root / "img_align_celeba",
            self.root,
        ):
            if folder.is_dir() and any(name.endswith(".jpg") for name in os.listdir(folder)):
                return folder
        return None

    def missing(self, reason: str = "") -> ConfigError:
        where = self.root / "celeba"
        needs = []
        if self.split != "all":
            needs.append(f"{where / PARTITION} (for data.split={self.split})")
        if self.target == "attr":
            needs.append(f"{where / ATTRIBUTES} (for data.target=attr)")
        extra = "; and " + " and ".join(needs) if needs else ""
        return ConfigError(
            f"data=celeba: {reason or 'no images found'}. Expected the 202,599 aligned JPGs "
            f"{where / 'img_align_celeba'}/000001.jpg ... 202599.jpg (or data.root set to a bare "
            f"folder of them){extra}. Get Img/img_align_celeba.zip, Eval/{PARTITION} and "
            f"Anno/{ATTRIBUTES} from {HOME} (Google Drive) and unzip into {where}"
        )

    def fetch(self) -> None:
        if self.image_folder() is not None:
            return
        try:
            datasets.CelebA(str(self.root), split="all", target_type=[], download=True)
        except Exception as exc:  # noqa: BLE001 - Google Drive quota, network, bad archive
            raise self.missing(f"the download failed ({failure(exc)})") from None

    def _list_file(self, images: Path, name: str) -> Path:
        for folder in (images.parent, images):
            if (folder / name).is_file():
                return folder / name
        raise self.missing(f"{name} not found next to {images}")

    def source(self) -> Dataset:
        images = self.image_folder()
        if images is None:
            raise self.missing()
        names = sorted(name for name in os.listdir(images) if name.endswith(".jpg"))
        if self.split != "all":
            partition = read_partition(self._list_file(images, PARTITION))
            names = [n for n in sorted(partition) if partition[n] == SPLITS[self.split]]
            absent = [n for n in names if not (images / n).is_file()]
            if absent:
                raise self.missing(
                    f"{len(absent)} files of split {self.split} are missing, "
                    f"e.g. {images / absent[0]}"
                )
        labels = [UNLABELED] * len(names)
        if self.target == "attr":
            attributes, rows = read_attributes(self._list_file(images, ATTRIBUTES))
            if self.attribute not in attributes:
                raise ConfigError(
                    f"data.attribute={self.attribute} is not a CelebA attribute; "
                    f"allowed: {', '.join(attributes)}"
                )
            column = attributes.index(self.attribute)
            unlisted = [n for n in names if n not in rows]
            if unlisted:
                raise ConfigError(f"data=celeba: {unlisted[0]} has no row in {ATTRIBUTES}")
            labels = [(rows[n][column] + 1) // 2 for n in names]
        files = [str(images / n) for n in names]
        return Faces(files, labels, Preprocess(self.image_size, self.channels, self.crop))

    def key(self) -> dict[str, Any]:
        return {
            **super().key(),
            "split": self.split,
            "crop": self.crop,
            "target": [self.target, self.attribute],
        }
