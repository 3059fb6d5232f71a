"""2-D mixtures of Gaussians, the mode-collapse benchmark of Metz et al. 2017 and PacGAN."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gans.data.memory import InMemoryDataModule
from gans.errors import ConfigError


def ring_modes(count: int = 8, radius: float = 1.0) -> Tensor:
    """``count`` points evenly spaced on the circle of ``radius`` (PacGAN's ring: 8, radius 1)."""
    angles = torch.arange(count, dtype=torch.float64) * (2 * math.pi / count)
    return torch.stack([radius * angles.cos(), radius * angles.sin()], dim=1).float()


def grid_modes(values: tuple[float, ...] = (-4.0, -2.0, 0.0, 2.0, 4.0)) -> Tensor:
    """The points ``values x values`` (PacGAN's grid: {-4, -2, 0, 2, 4}^2, 25 modes)."""
    axis = torch.tensor(values, dtype=torch.float32)
    return torch.cartesian_prod(axis, axis)


class MixtureDataModule(InMemoryDataModule):
    """``count`` samples of the uniform mixture of N(mode, std^2 I) over ``modes`` (drawn once from
    ``seed``); labels are the mode indices."""

    def __init__(
        self,
        kind: str = "ring",
        std: float = 0.01,
        count: int = 100_000,
        seed: int = 0,
        batch_size: int = 100,
        modes: int = 8,
        radius: float = 1.0,
        values: tuple[float, ...] = (-4.0, -2.0, 0.0, 2.0, 4.0),
    ) -> None:
        super().__init__(batch_size)
        if kind not in ("ring", "grid"):
            raise ConfigError(f"data.kind={kind} is unknown; allowed: ring, grid")
        if float(std) <= 0:
            raise ConfigError(f"data.std={std} must be > 0")
        if int(count) < 1:
            raise ConfigError(f"data.count={count} must be an integer >= 1")
        self.modes = (
            ring_modes(int(modes), float(radius)) if kind == "ring" else grid_modes(tuple(values))
        )
        self.kind = kind
        self.std = float(std)
        self.count = int(count)
        self.seed = int(seed)
        self.num_classes = self.modes.shape[0]

    def key(self) -> dict[str, object]:
        return {
            "dataset": self.kind,
            "image_size": 0,
            "std": self.std,
            "count": self.count,
            "seed": self.seed,
        }

    def load(self) -> tuple[Tensor, Tensor]:
        gen = torch.Generator().manual_seed(self.seed)
        labels = torch.randint(self.modes.shape[0], (self.count,), generator=gen)
        noise = torch.randn(self.count, 2, generator=gen) * self.std
        return self.modes[labels] + noise, labels
