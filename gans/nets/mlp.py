"""MLP generator and discriminator: the notes' vanilla GAN (lab 02; Goodfellow et al. 2014).

Both work on any data shape: the generator's output is reshaped to ``data_shape`` (e.g.
[1, 32, 32] for images, [2] for points in the plane) and the discriminator flattens its input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import Tensor, nn

from gans.errors import ConfigError
from gans.nets.conditioning import LatentWithLabel, Projection, ProjectionDiscriminator
from gans.nets.init import initialise, spectral_norm_all


def _hidden(key: str, hidden: Sequence[int]) -> list[int]:
    sizes = [int(h) for h in hidden]
    if not sizes or min(sizes) <= 0:
        raise ConfigError(f"{key}={list(hidden)} must be a non-empty list of positive widths")
    return sizes


def _packing(pack: int) -> int:
    if int(pack) < 1:
        raise ConfigError(f"model.pack={pack} must be an integer >= 1")
    return int(pack)


class Generator(nn.Module):
    """z -> Linear/[BatchNorm]/ReLU blocks -> Linear -> ``output``, reshaped to data_shape;
    weights initialised by ``init`` (:func:`gans.nets.init.initialise`)."""

    def __init__(
        self,
        latent_dim: int,
        data_shape: Sequence[int],
        hidden: Sequence[int] = (256, 256),
        batch_norm: bool = True,
        output: str = "tanh",
        num_classes: int = 0,
        init: str = "default",
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
        initialise(self, init)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.net(self.condition(z, y)).view(z.shape[0], *self.data_shape)


class Maxout(nn.Module):
    """Linear to ``width * pieces`` then the maximum over each unit's ``pieces`` (Goodfellow et
    al. 2013, "Maxout Networks"; PacGAN's 2-D discriminator uses 5 pieces)."""

    def __init__(self, in_features: int, width: int, pieces: int) -> None:
        super().__init__()
        self.pieces = int(pieces)
        self.linear = nn.Linear(in_features, width * self.pieces)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x).unflatten(-1, (-1, self.pieces)).amax(-1)


class Discriminator(ProjectionDiscriminator):
    """x -> flatten -> hidden blocks -> Linear -> logit (B,).

    Blocks are Linear + LeakyReLU(``negative_slope``), or maxout units when ``maxout`` > 0
    (pieces per unit). ``pack`` = m: the input is m samples concatenated (PacGAN, see
    :func:`gans.nets.pack.pack`), so the first layer is m times wider. Weights initialised by
    ``init`` (:func:`gans.nets.init.initialise`).
    """

    def __init__(
        self,
        data_shape: Sequence[int],
        hidden: Sequence[int] = (256, 256),
        negative_slope: float = 0.2,
        num_classes: int = 0,
        spectral_norm: bool = False,
        maxout: int = 0,
        pack: int = 1,
        init: str = "default",
    ) -> None:
        super().__init__()
        if int(maxout) < 0 or int(maxout) == 1:
            raise ConfigError(f"model.discriminator.maxout={maxout}: 0 (off) or >= 2 pieces")
        width = math.prod(int(s) for s in data_shape) * _packing(pack)
        layers: list[nn.Module] = [nn.Flatten()]
        for h in _hidden("model.discriminator.hidden", hidden):
            if maxout:
                layers.append(Maxout(width, h, maxout))
            else:
                layers += [nn.Linear(width, h), nn.LeakyReLU(negative_slope, inplace=True)]
            width = h
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(width, 1)
        self.projection = Projection(num_classes, width)
        initialise(self, init)
        if spectral_norm:
            spectral_norm_all(self)
