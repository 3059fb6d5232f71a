"""What the translation datasets share: a folder's channel check and the random jitter
(Isola et al. 2017, App. 6.2: resize to ``load_size``, random crop to ``image_size``, mirror)
applied on the device to a batch, identically to both images of a pair."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gans.data.transforms import open_image
from gans.errors import ConfigError

GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def check_channels(files: list[str], channels: int, key: str, folder: Path) -> None:
    """Stop with one line naming ``folder`` when its first image does not fit ``channels``:
    colour images read as 1 channel (the colour would be thrown away), or single-channel images
    read as 3 (three copies of one channel; the models would be built for colour)."""
    if not files:
        return
    image = open_image(files[0])
    grey_file = image.mode in GREY_MODES
    if channels == 1 and not grey_file:
        rgb = np.asarray(image.convert("RGB"))
        if (rgb[..., 0] != rgb[..., 1]).any() or (rgb[..., 1] != rgb[..., 2]).any():
            raise ConfigError(
                f"{folder} holds colour images (e.g. {Path(files[0]).name}, mode {image.mode}) "
                f"but {key}=1: set {key}=3"
            )
    if channels == 3 and grey_file:
        raise ConfigError(
            f"{folder} holds single-channel images (e.g. {Path(files[0]).name}, mode "
            f"{image.mode}) but {key}=3: set {key}=1"
        )


def check_load_size(load_size: int, image_size: int) -> int:
    """``load_size`` (the size images are decoded at before the random crop), at least
    ``image_size``."""
    if int(load_size) < int(image_size):
        raise ConfigError(
            f"data.load_size={load_size} is smaller than data.image_size={image_size}: images "
            "are resized to load_size, then cropped to image_size"
        )
    return int(load_size)


def random_crop(images: Tensor, size: int) -> Tensor:
    """A ``size`` x ``size`` window of each (C, L, L) image of a batch at its own random offset
    (one gather; the channels of an image, e.g. both halves of a pair, share the window)."""
    n, _, height, width = images.shape
    if height == size and width == size:
        return images
    top = torch.randint(height - size + 1, (n,), device=images.device)
    left = torch.randint(width - size + 1, (n,), device=images.device)
    span = torch.arange(size, device=images.device)
    rows = (top[:, None] + span)[:, :, None]
    cols = (left[:, None] + span)[:, None, :]
    batch = torch.arange(n, device=images.device)[:, None, None]
    return images[batch, :, rows, cols].permute(0, 3, 1, 2).contiguous()


def center_crop(images: Tensor, size: int) -> Tensor:
    """The central ``size`` x ``size`` window (what evaluation and ``gans.translate`` use)."""
    height, width = images.shape[-2:]
    top, left = (height - size) // 2, (width - size) // 2
    return images[..., top : top + size, left : left + size]
