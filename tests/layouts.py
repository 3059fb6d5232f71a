"""Write tiny datasets in each dataset's real on-disk layout (what torchvision and users have)."""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np
from PIL import Image

CELEBA_ATTRIBUTES = ["5_o_Clock_Shadow", "Male", "Smiling", "Young"]


def digits(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``count`` random 28x28 uint8 "digits" whose mean brightness encodes their label."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 10
    images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
    return images, labels.astype(np.uint8)


def write_idx(folder: Path, prefix: str, images: np.ndarray, labels: np.ndarray) -> None:
    """MNIST's IDX format: big-endian magic 0x803 (images) / 0x801 (labels), sizes, bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    n, h, w = images.shape
    (folder / f"{prefix}-images-idx3-ubyte").write_bytes(
        struct.pack(">IIII", 0x803, n, h, w) + images.tobytes()
    )
    (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(
        struct.pack(">II", 0x801, n) + labels.tobytes()
    )


def mnist(root: Path, name: str = "MNIST", train: int = 40, test: int = 20) -> None:
    """``<root>/<name>/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte``."""
    for prefix, count, seed in (("train", train, 0), ("t10k", test, 1)):
        if count:
            write_idx(root / name / "raw", prefix, *digits(count, seed))


def cifar10(root: Path, per_batch: int = 8) -> np.ndarray:
    """``<root>/cifar-10-batches-py/``: pickled dicts with ``data`` (N, 3072) rows in CHW order
    and ``labels``; returns the first training image as (32, 32, 3)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    first = None
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        first = data[0] if first is None else first
        entry = {"data": data, "labels": [i % 10 for i in range(per_batch)]}
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f)
    names = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ]
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": names}, f)
    return first.reshape(3, 32, 32).transpose(1, 2, 0)


def jpg(path: Path, size: tuple[int, int] = (178, 218), seed: int = 0) -> None:
    """A random colour JPG of ``size`` (width, height): CelebA's aligned faces are 178x218."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, quality=95)


def celeba(root: Path, count: int = 12, lists: bool = True) -> list[str]:
    """torchvision's layout: ``<root>/celeba/img_align_celeba/000001.jpg ...`` plus
    ``list_eval_partition.txt`` (split i % 3) and ``list_attr_celeba.txt`` (Smiling = i odd)."""
    folder = root / "celeba"
    names = [f"{i:06d}.jpg" for i in range(1, count + 1)]
    for i, name in enumerate(names):
        jpg(folder / "img_align_celeba" / name, seed=i)
    if lists:
        (folder / "list_eval_partition.txt").write_text(
            "".join(f"{name} {i % 3}\n" for i, name in enumerate(names))
        )
        rows = []
        for i, name in enumerate(names):
            values = [1 if i % 2 else -1, -1, 1 if i % 2 else -1, 1]
            rows.append(name + "  " + " ".join(f"{v:2d}" for v in values))
        header = [str(count), " ".join(CELEBA_ATTRIBUTES)]
        (folder / "list_attr_celeba.txt").write_text("\n".join(header + rows) + "\n")
    return names


def png_folder(root: Path, classes: dict[str, int], size: int = 28, mode: str = "L") -> None:
    """``<root>/<class>/<i>.png`` greyscale (or RGB) images, ``classes[name]`` per class."""
    rng = np.random.default_rng(0)
    for label, (name, count) in enumerate(classes.items()):
        for i in range(count):
            shape = (size, size) if mode == "L" else (size, size, 3)
            pixels = np.full(shape, 20 * label, dtype=np.uint8) + rng.integers(
                0, 10, shape, dtype=np.uint8
            )
            (root / name).mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels, mode=mode).save(root / name / f"{i:03d}.png")


def _pattern(rng: np.random.Generator, size: int, mode: str) -> np.ndarray:
    shape = (size, size) if mode == "L" else (size, size, 3)
    return rng.integers(0, 256, shape, dtype=np.uint8)


def paired_side_by_side(root: Path, split: str, count: int, size: int = 20) -> None:
    """Pix2Pix's layout: ``<root>/<split>/<i>.png``, each A|B side by side (greyscale), B the
    inverse of A (255 - A), so a test can tell which half it got and whether the two moved
    together."""
    rng = np.random.default_rng(hash(split) % 1000)
    (root / split).mkdir(parents=True, exist_ok=True)
    for i in range(count):
        a = _pattern(rng, size, "L")
        Image.fromarray(np.concatenate([a, 255 - a], axis=1)).save(root / split / f"{i:03d}.png")


def paired_folders(root: Path, split: str, names: list[str], size: int = 20, mode: str = "L",
                   names_b: list[str] | None = None) -> None:  # fmt: skip
    """The A/B layout: ``<root>/A/<split>/<name>`` and ``<root>/B/<split>/<name>``, B = 255 - A."""
    rng = np.random.default_rng(1)
    for folder in ("A", "B"):
        (root / folder / split).mkdir(parents=True, exist_ok=True)
    for name in names:
        a = _pattern(rng, size, mode)
        Image.fromarray(a).save(root / "A" / split / name)
    for name in names_b if names_b is not None else names:
        a = np.asarray(Image.open(root / "A" / split / name)) if name in names else None
        b = 255 - a if a is not None else _pattern(rng, size, mode)
        Image.fromarray(b).save(root / "B" / split / name)


def unpaired(root: Path, counts: dict[str, int], size: int = 16, mode: str = "L",
             classes: int = 0) -> None:  # fmt: skip
    """CycleGAN's layout: ``<root>/<trainA|trainB|testA|testB>/`` flat, or with ``classes``
    class folders (``<root>/trainA/<k>/<i>.png``) whose images' brightness grows with k."""
    rng = np.random.default_rng(2)
    for folder, count in counts.items():
        for i in range(count):
            image = _pattern(rng, size, mode)
            where = root / folder
            if classes:
                k = i % classes
                image = (image // 4 + 40 * k).astype(np.uint8)
                where = where / str(k)
            where.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(where / f"{i:03d}.png")
