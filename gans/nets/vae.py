"""The notes' lab 01 VAE networks (Kingma & Welling 2014): MLP encoder x -> (mu, log sigma^2) and
MLP decoder z -> pixel logits."""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import Tensor, nn


class Encoder(nn.Module):
    """h = ReLU(W x); mu = W_mu h, log sigma^2 = W_s h (the notes: MLP_x, then MLP_mu / MLP_sigma).

    Args:
        data_shape: one sample's shape, e.g. (1, 28, 28); flattened to n^2 inputs.
        hidden: the hidden width d (the notes: 400).
        latent_dim: d_z (the notes: 20).
    """

    def __init__(self, data_shape: Sequence[int], hidden: int = 400, latent_dim: int = 20) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(), nn.Linear(math.prod(int(s) for s in data_shape), hidden), nn.ReLU()
        )
        self.mu = nn.Linear(hidden, latent_dim)
        self.log_var = nn.Linear(hidden, latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.body(x)
        return self.mu(h), self.log_var(h)


class Decoder(nn.Module):
    """logits = W_2 ReLU(W_1 z), reshaped to ``data_shape``; sigmoid(logits) is x-hat (the notes:
    x-hat = Sigmoid(MLP_z(z)) in [0, 1]^{n^2})."""

    def __init__(
        self, latent_dim: int = 20, hidden: int = 400, data_shape: Sequence[int] = (1, 28, 28)
    ) -> None:
        super().__init__()
        shape = tuple(int(s) for s in data_shape)
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, math.prod(shape)),
            nn.Unflatten(1, shape),
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


class ConvEncoder(nn.Module):
    """Strided 4x4 convolutions halving the image down to 4x4 (channels ``base``, 2 base, 4 base,
    ... with BatchNorm and LeakyReLU 0.2, as DCGAN's discriminator), then linear heads for mu and
    log sigma^2; for 32x32 (or any power-of-two >= 8) images."""

    def __init__(
        self, channels: int = 1, image_size: int = 32, base: int = 32, latent_dim: int = 20
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width, size = int(channels), int(image_size)
        out = int(base)
        while size > 4:
            layers += [nn.Conv2d(width, out, 4, 2, 1), nn.BatchNorm2d(out), nn.LeakyReLU(0.2)]
            width, out, size = out, out * 2, size // 2
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.mu = nn.Linear(width * 16, latent_dim)
        self.log_var = nn.Linear(width * 16, latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.body(x)
        return self.mu(h), self.log_var(h)


class ConvDecoder(nn.Module):
    """The mirror of :class:`ConvEncoder`: a linear map to 4x4 features, then 4x4 transposed
    convolutions doubling the size (BatchNorm, ReLU) up to ``image_size``; outputs pixel logits."""

    def __init__(
        self, latent_dim: int = 20, channels: int = 1, image_size: int = 32, base: int = 32
    ) -> None:
        super().__init__()
        steps = int(math.log2(int(image_size) // 4))
        width = int(base) * 2 ** (steps - 1)
        layers: list[nn.Module] = [
            nn.Linear(latent_dim, width * 16),
            nn.Unflatten(1, (width, 4, 4)),
        ]
        for _ in range(steps - 1):
            layers += [
                nn.BatchNorm2d(width),
                nn.ReLU(),
                nn.ConvTranspose2d(width, width // 2, 4, 2, 1),
            ]
            width //= 2
        layers += [nn.BatchNorm2d(width), nn.ReLU(), nn.ConvTranspose2d(width, channels, 4, 2, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)
