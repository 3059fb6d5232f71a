"""Any folder of images: class subfolders become labels, a flat folder is unlabeled."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from torch import Tensor
from torch.utils.data import Dataset
from torchvision.datasets import ImageFolder
from torchvision.datasets.folder import IMG_EXTENSIONS, has_file_allowed_extension

from gans.data.images import UNLABELED, ImageDataModule
from gans.data.transforms import Preprocess, open_image
from gans.errors import ConfigError


def is_image(name: str) -> bool:
    return has_file_allowed_extension(name, IMG_EXTENSIONS)


class ClassFolders(ImageFolder):
    """torchvision's ImageFolder that ignores hidden folders (``.ipynb_checkpoints``,
    ``.gans-cache``) and lists its files as ``files``."""

    def find_classes(self, directory: str | Path) -> tuple[list[str], dict[str, int]]:
        classes = sorted(
            e.name for e in os.scandir(directory) if e.is_dir() and not e.name.startswith(".")
        )
        if not classes:
            raise FileNotFoundError(f"no class folders in {directory}")
        return classes, {name: i for i, name in enumerate(classes)}

    @property
    def files(self) -> list[str]:
        return [path for path, _ in self.samples]


class FlatFolder(Dataset):
    """The images directly inside ``root`` (sorted by name), each labeled ``UNLABELED``."""

    def __init__(self, root: Path, transform: Preprocess) -> None:
        self.files = sorted(str(root / name) for name in os.listdir(root) if is_image(name))
        self.transform = transform

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        return self.transform(open_image(self.files[index])), UNLABELED


class ImageFolderDataModule(ImageDataModule):
    """Images under ``root``: ``root/<class>/**/<image>`` gives labels 0..K-1 in sorted class-name
    order; images directly in ``root`` (and no class folders) give an unlabeled dataset."""

    name = "image_folder"

    def __init__(self, root: str, **kwargs: Any) -> None:
        super().__init__(root, **kwargs)
        self._classes = 0

    @property
    def num_classes(self) -> int:
        self.get_source()
        return self._classes

    def source(self) -> Dataset:
        root = self.root
        if not root.is_dir():
            raise ConfigError(f"data.root={root} is not a folder of images")
        try:
            entries = list(os.scandir(root))
        except OSError as exc:
            raise ConfigError(f"data.root={root} cannot be read: {exc.strerror}") from None
        flat = [e.name for e in entries if e.is_file() and is_image(e.name)]
        folders = [e.name for e in entries if e.is_dir() and not e.name.startswith(".")]
        transform = Preprocess(self.image_size, self.channels)
        if not folders:
            if not flat:
                raise ConfigError(
                    f"data.root={root} holds no images (looked for {', '.join(IMG_EXTENSIONS)})"
                )
            return FlatFolder(root, transform)
        if flat:
            raise ConfigError(
                f"data.root={root} mixes {len(flat)} loose images with class folders "
                f"({', '.join(sorted(folders)[:3])}, ...): move the loose images into a folder, "
                "or point data.root at a flat folder"
            )
        try:
            dataset = ClassFolders(str(root), transform=transform, loader=open_image)
        except FileNotFoundError as exc:
            raise ConfigError(f"data.root={root}: {exc}") from None
        self._classes = len(dataset.classes)
        return dataset
