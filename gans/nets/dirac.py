"""The Dirac-GAN (Mescheder, Geiger & Nowozin 2018, Sec. 2.2; the notes' "Numerics of GANs").

The data distribution is a point mass at 0, the generator a point mass at theta (G(z) = theta for
every z) and the discriminator linear, D(x) = psi * x: the smallest game that shows the
oscillation of GAN training and what makes it converge.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class Generator(nn.Module):
    """G(z) = theta for every z, i.e. p_theta = delta_theta."""

    def __init__(self, theta0: float = 1.0) -> None:
        super().__init__()
        self.theta = nn.Parameter(torch.tensor([float(theta0)]))

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.theta.expand(z.shape[0], 1)


class Discriminator(nn.Module):
    """D(x) = psi * x (one logit per sample)."""

    def __init__(self, psi0: float = 1.0) -> None:
        super().__init__()
        self.psi = nn.Parameter(torch.tensor([float(psi0)]))

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return (self.psi * x).flatten()
