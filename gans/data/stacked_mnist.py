"""Stacked MNIST: three MNIST digits as the red, green and blue channels, 1,000 modes."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset

from gans.data.mnist import MNISTDataModule
from gans.errors import ConfigError


class StackedDigits(Dataset):
    """Item ``i`` stacks MNIST digits ``(a, b, c) = triples[i]`` as channels (R, G, B);
    its label is ``100 * y_a + 10 * y_b + y_c``, one of 1,000 classes (Srivastava et al. 2017,
    VEEGAN; Lin et al. 2018, PacGAN)."""

    def __init__(self, digits: Dataset, count: int, seed: int) -> None:
        self.digits = digits
        generator = torch.Generator().manual_seed(int(seed))
        self.triples = torch.randint(len(digits), (int(count), 3), generator=generator)  # type: ignore[arg-type]

    def __len__(self) -> int:
        return self.triples.shape[0]

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        items = [self.digits[int(j)] for j in self.triples[index]]
        image = torch.cat([x for x, _ in items])
        label = 100 * items[0][1] + 10 * items[1][1] + items[2][1]
        return image, label


class StackedMNISTDataModule(MNISTDataModule):
    """``count`` stacked images drawn (with replacement, from ``seed``) from one MNIST split."""

    name = "stacked_mnist"
    classes = 1000

    def __init__(self, root: str, count: int = 128_000, seed: int = 0, **kwargs: Any) -> None:
        channels = int(kwargs.pop("channels", 3))
        if channels != 3:
            raise ConfigError(
                f"data.channels={channels} must be 3 for stacked_mnist (one digit per channel)"
            )
        super().__init__(root, channels=3, **kwargs)
        self._digit_kwargs = dict(kwargs)
        if int(count) < 1:
            raise ConfigError(f"data.count={count} must be an integer >= 1")
        self.count = int(count)
        self.seed = int(seed)

    def digits(self) -> MNISTDataModule:
        """The MNIST split the digits come from, one channel, in memory: what the per-channel
        classifier of the mode count trains on."""
        kwargs = {**self._digit_kwargs, "in_memory": True}
        return MNISTDataModule(str(self.root), channels=1, **kwargs)

    def source(self) -> Dataset:
        return StackedDigits(super().source(), self.count, self.seed)

    @property
    def item_channels(self) -> int:
        return 1

    def key(self) -> dict[str, Any]:
        return {**super().key(), "stacked": self.count, "stack_seed": self.seed}
