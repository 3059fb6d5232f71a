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
