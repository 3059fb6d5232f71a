"""scikit-learn's handwritten digits: 1,797 real 8x8 greyscale digits that ship with the package."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import Tensor

from gans.data.memory import InMemoryDataModule
from gans.errors import ConfigError


class DigitsDataModule(InMemoryDataModule):
    """The UCI optical-recognition digits (Alpaydin & Kaynak 1998) via ``sklearn.datasets``.

    Pixel values 0..16 are scaled to [-1, 1] and the 8x8 images bilinearly resized to
    ``image_size`` once, at setup; labels are the digit classes 0-9.
    """

    num_classes = 10

    def __init__(self, image_size: int = 32, batch_size: int = 64, holdout: int = 0) -> None:
        super().__init__(batch_size, holdout=holdout)
        if int(image_size) < 8:
            raise ConfigError(f"data.image_size={image_size} must be >= 8 for the 8x8 digits")
        self.image_size = int(image_size)

    def key(self) -> dict[str, object]:
        """What determines the images (for caches of features computed from them)."""
        return {"dataset": "digits", "image_size": self.image_size, "count": 1797}

    def load(self) -> tuple[Tensor, Tensor]:
        digits = load_digits()
        images = torch.as_tensor(digits.images, dtype=torch.float32)[:, None] / 16.0 * 2 - 1
        if self.image_size != 8:
            images = F.interpolate(
                images, size=self.image_size, mode="bilinear", align_corners=False
            ).clamp_(-1, 1)
        return images.contiguous(), torch.as_tensor(digits.target, dtype=torch.long)
