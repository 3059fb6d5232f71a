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
