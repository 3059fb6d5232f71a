"""The latent prior p(z): plain noise, or InfoGAN's noise plus latent codes."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
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

    def truncated(
        self,
        n: int,
        threshold: float | None,
        device: torch.device | str = "cpu",
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """The truncation trick (Brock et al. 2019, Sec. 3.1): z ~ p(z) with every entry whose
        magnitude exceeds ``threshold`` resampled until none does; None: plain z."""
        z = self.sample(n, device, generator)
        if threshold is None:
            return z
        if float(threshold) <= 0:
            raise ConfigError(f"truncation={threshold} must be > 0 (or null for none)")
        for _ in range(10_000):
            outside = z.abs() > float(threshold)
            if not outside.any():
                return z
            z = torch.where(outside, self.sample(n, device, generator), z)
        raise ConfigError(f"truncation={threshold} is too small to sample from")

    def __repr__(self) -> str:
        return f"LatentPrior(dim={self.dim}, kind={self.kind!r})"


class CodePrior:
    """InfoGAN's structured latent (Chen et al. 2016, Sec. 5): z = [noise, one-hot categorical
    codes, continuous codes], noise from :class:`LatentPrior`, each categorical code uniform over
    its values, each continuous code U[-1, 1]; drawn in that order from one generator.

    Args:
        dim: the noise dimension (MNIST in the authors' code: 62).
        kind: the noise's prior (``uniform`` in the authors' code).
        categorical: the number of values of each categorical code (MNIST: ``[10]``).
        continuous: the number of continuous codes (MNIST: 2).
    """

    def __init__(
        self,
        dim: int,
        kind: str = "uniform",
        categorical: Sequence[int] = (10,),
        continuous: int = 0,
    ) -> None:
        self.noise = LatentPrior(dim, kind)
        self.categorical = tuple(int(k) for k in categorical)
        self.continuous = int(continuous)
        if any(k < 2 for k in self.categorical) or self.continuous < 0:
            raise ConfigError(
                f"model.latent.categorical={list(self.categorical)} needs codes of >= 2 values "
                f"and model.latent.continuous={self.continuous} a count >= 0"
            )
        self.dim = self.noise.dim + sum(self.categorical) + self.continuous
        self.kind = kind

    def draw(
        self, n: int, device: torch.device | str = "cpu", generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """(noise (n, dim), categorical values (n, #codes) long, continuous codes (n, #c))."""
        noise = self.noise.sample(n, device, generator)
        values = [
            torch.randint(k, (n,), device=device, generator=generator) for k in self.categorical
        ]
        categorical = (
            torch.stack(values, 1) if values else torch.zeros(n, 0, dtype=torch.long, device=device)
        )
        continuous = torch.rand(n, self.continuous, device=device, generator=generator) * 2 - 1
        return noise, categorical, continuous

    def compose(self, noise: Tensor, categorical: Tensor, continuous: Tensor) -> Tensor:
        """z = [noise, one_hot(c_1), ..., one_hot(c_k), continuous]."""
        one_hots = [
            F.one_hot(categorical[:, i], k).to(noise.dtype) for i, k in enumerate(self.categorical)
        ]
        return torch.cat([noise, *one_hots, continuous.to(noise.dtype)], dim=1)

    def sample(
        self, n: int, device: torch.device | str = "cpu", generator: torch.Generator | None = None
    ) -> Tensor:
        return self.compose(*self.draw(n, device, generator))

    def __repr__(self) -> str:
        return (
            f"CodePrior(noise={self.noise.dim} {self.kind}, categorical={list(self.categorical)}"
            f", continuous={self.continuous})"
        )
