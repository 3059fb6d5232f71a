"""The latent prior p(z)."""

from __future__ import annotations

import torch
from torch import Tensor

from gans.errors import ConfigError

PRIORS = ("normal", "uniform")


class LatentPrior:
    """z ~ N(0, I) (``normal``) or z ~ U[-1, 1]^d (``uniform``), of dimension ``dim``.

    The notes (lab 02/03) sample Unif[0, 1]; DCGAN (Radford et al. 2016, Sec. 4) samples U[-1, 1];
    the symmetric range keeps tanh/BatchNorm inputs centred, so ``uniform`` means U[-1, 1] here.
    """

    def __init__(self, dim: int, kind: str = "normal") -> None:
        if kind not in PRIORS:
            raise ConfigError(
                f"model.latent.prior={kind!r} is unknown; allowed: {', '.join(PRIORS)}"
            )
        if int(dim) <= 0:
            raise ConfigError(f"model.latent.dim={dim} must be a positive integer")
        self.dim = int(dim)
        self.kind = kind

    def sample(
        self, n: int, device: torch.device | str = "cpu", generator: torch.Generator | None = None
    ) -> Tensor:
        if self.kind == "normal":
            return torch.randn(n, self.dim, device=device, generator=generator)
        return torch.rand(n, self.dim, device=device, generator=generator) * 2 - 1

    def __repr__(self) -> str:
        return f"LatentPrior(dim={self.dim}, kind={self.kind!r})"
