"""Write the two offline translation tasks in the folder layouts users' own data come in.

    python experiments/image_to_image/make_data.py [--out DIR] [--mnist MNIST_CLASS_FOLDERS]

* ``<out>/edges2digits/{train,test}/<n>.png``: Pix2Pix's side-by-side layout, A|B in one 28x56
  image: A the edge map of a real MNIST test digit (its outer contour: what a 3x3 dilation adds
  to the ink), B the digit. 9,000 pairs to train, 1,000 held out.
* ``<out>/digits2mnist/{train,test}{A,B}/<label>/<n>.png``: CycleGAN's layout, each domain in class
  folders (for label preservation): A scikit-learn's 1,797 8x8 digits upsampled to 32x32
  (bilinear; 1,497 train, 300 test), B the real MNIST digits (9,000 train, 1,000 test). No image
  of A has a partner in B: the two are different handwritten collections.

Both are deterministic (a fixed permutation); existing folders are left as they are.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MNIST = ROOT.parent / "shared" / "data" / "mnist-test" / "images"
SEED = 0
TRAIN = 9000


def mnist_digits(folder: Path) -> list[tuple[Path, int]]:
    """(file, label) of every digit in ``<folder>/<label>/*.png``, in a fixed shuffled order."""
    found = sorted((p, int(p.parent.name)) for p in folder.glob("[0-9]/*.png"))
    if not found:
        raise SystemExit(f"no digits in {folder}/<label>/*.png")
    order = np.random.default_rng(SEED).permutation(len(found))
    return [found[i] for i in order]


def edge_map(digit: Image.Image) -> Image.Image:
    """The digit's outer contour: the pixels a 3x3 dilation adds to its ink (ink: > 127), white
    on black, a hollow outline one pixel outside the strokes."""
    grey = digit.convert("L")
    ink = np.asarray(grey) > 127
    grown = np.asarray(grey.filter(ImageFilter.MaxFilter(3))) > 127
    return Image.fromarray(np.where(grown & ~ink, 255, 0).astype(np.uint8))


def edges2digits(out: Path, digits: list[tuple[Path, int]]) -> None:
    for index, (path, _) in enumerate(digits):
        split = "train" if index < TRAIN else "test"
        target = out / split / f"{index:05d}.png"
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        digit = Image.open(path).convert("L")
        pair = Image.new("L", (2 * digit.width, digit.height))
        pair.paste(edge_map(digit), (0, 0))
        pair.paste(digit, (digit.width, 0))
        pair.save(target)


def digits2mnist(out: Path, digits: list[tuple[Path, int]]) -> None:
    from sklearn.datasets import load_digits

    small = load_digits()
    order = np.random.default_rng(SEED).permutation(len(small.target))
    for rank, index in enumerate(order):
        split = "trainA" if rank < len(order) - 300 else "testA"
        label = int(small.target[index])
        target = out / split / str(label) / f"{index:05d}.png"
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        pixels = (small.images[index] / 16.0 * 255).round().astype(np.uint8)
        Image.fromarray(pixels).resize((32, 32), Image.BILINEAR).save(target)
    for index, (path, label) in enumerate(digits):
        split = "trainB" if index < TRAIN else "testB"
        target = out / split / str(label) / f"{index:05d}.png"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            Image.open(path).convert("L").save(target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "data")
    parser.add_argument("--mnist", type=Path, default=MNIST)
    args = parser.parse_args()
    digits = mnist_digits(args.mnist)
    edges2digits(args.out / "edges2digits", digits)
    digits2mnist(args.out / "digits2mnist", digits)
    print(f"wrote {args.out}/edges2digits and {args.out}/digits2mnist")


if __name__ == "__main__":
    main()
