"""MLP generator and discriminator: the notes' vanilla GAN (lab 02; Goodfellow et al. 2014).

Both work on any data shape: the generator's output is reshaped to ``data_shape`` (e.g.
[1, 32, 32] for images, [2] for points in the plane) and the discriminator flattens its input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import Tensor, nn

from gans.errors import ConfigError
from gans.nets.conditioning import LatentWithLabel, Projection
from gans.nets.init import spectral_norm_all


def _hidden(key: str, hidden: Sequence[int]) -> list[int]:
    sizes = [int(h) for h in hidden]
    if not sizes or min(sizes) <= 0:
        raise ConfigError(f"{key}={list(hidden)} must be a non-empty list of positive widths")
    return sizes


class Generator(nn.Module):
    """z -> Linear/[BatchNorm]/ReLU blocks -> Linear -> ``output``, reshaped to data_shape."""

    def __init__(
        self,
        latent_dim: int,
        data_shape: Sequence[int],
        hidden: Sequence[int] = (256, 256),
        batch_norm: bool = True,
        output: str = "tanh",
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        if int(latent_dim) <= 0:
            raise ConfigError(f"model.latent.dim={latent_dim} must be a positive integer")
        self.data_shape = tuple(int(s) for s in data_shape)
        self.condition = LatentWithLabel(num_classes, int(latent_dim))
        width = int(latent_dim) + self.condition.extra_dim
        layers: list[nn.Module] = []
        for h in _hidden("model.generator.hidden", hidden):
            layers += [nn.Linear(width, h), nn.BatchNorm1d(h) if batch_norm else nn.Identity()]
            layers.append(nn.ReLU(inplace=True))
            width = h
        layers.append(nn.Linear(width, math.prod(self.data_shape)))
        if output == "tanh":
            layers.append(nn.Tanh())
        elif output != "linear":
            raise ConfigError(
                f"model.generator.output={output!r} is unknown; allowed: tanh, linear"
            )
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.net(self.condition(z, y)).view(z.shape[0], *self.data_shape)


class Discriminator(nn.Module):
    """x -> flatten -> Linear/LeakyReLU(0.2) blocks -> Linear -> logit (B,)."""

    def __init__(
        self,
        data_shape: Sequence[int],
        hidden: Sequence[int] = (256, 256),
        negative_slope: float = 0.2,
        num_classes: int = 0,
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        width = math.prod(int(s) for s in data_shape)
        layers: list[nn.Module] = [nn.Flatten()]
        for h in _hidden("model.discriminator.hidden", hidden):
            layers += [nn.Linear(width, h), nn.LeakyReLU(negative_slope, inplace=True)]
            width = h
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(width, 1)
        self.projection = Projection(num_classes, width)
        if spectral_norm:
            spectral_norm_all(self)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        h = self.features(x)
        return self.projection(self.head(h).flatten(), h, y)
