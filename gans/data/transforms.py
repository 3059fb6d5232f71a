"""Image preprocessing: decode once to uint8, scale and augment whole batches on the device."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image
from torch import Tensor
from torchvision.transforms import v2

from gans.errors import ConfigError

MODES = {1: "L", 3: "RGB"}


def pil_mode(channels: int) -> str:
    """The PIL mode that yields ``channels`` channels (1: greyscale, 3: RGB)."""
    if channels not in MODES:
        raise ConfigError(f"data.channels={channels} is not supported; allowed: 1, 3")
    return MODES[channels]


def open_image(path: str | Path) -> Image.Image:
    """Read one image file fully, so that a truncated or corrupt file fails here."""
    with Image.open(path) as image:
        image.load()
        return image.copy()


class Preprocess:
    """PIL image -> uint8 (channels, image_size, image_size).

    Converts to greyscale or RGB, optionally center-crops to ``crop`` (CelebA's 178, as in DCGAN
    and Lucic et al. 2018), then resizes the shorter side to ``image_size`` (antialiased) and
    center-crops a square. A class, not a lambda, so DataLoader workers can pickle it.
    """

    def __init__(self, image_size: int, channels: int, crop: int | None = None) -> None:
        self.mode = pil_mode(channels)
        steps: list[v2.Transform] = [v2.ToImage()]
        if crop:
            steps.append(v2.CenterCrop(int(crop)))
        steps += [
            v2.Resize(int(image_size), antialias=True),
            v2.CenterCrop(int(image_size)),
            v2.ToDtype(torch.uint8, scale=True),
        ]
        self.steps = v2.Compose(steps)

    def __call__(self, image: Image.Image) -> Tensor:
        return self.steps(image.convert(self.mode))


def to_signed_unit(images: Tensor) -> Tensor:
    """uint8 pixels 0..255 -> float32 in [-1, 1] (x / 127.5 - 1); float input passes through."""
    if images.dtype != torch.uint8:
        return images
    return images.float().div_(127.5).sub_(1.0)


def random_hflip(images: Tensor, p: float = 0.5) -> Tensor:
    """Mirror each image of an (N, C, H, W) batch left-right with probability ``p``."""
    flip = torch.rand(images.shape[0], device=images.device) < p
    return torch.where(flip[:, None, None, None], images.flip(-1), images)
