"""InfoGAN's MNIST networks (Chen et al. 2016, Appendix C.1, Table 5): a generator from the
structured latent, a discriminator whose body the Q head shares."""

from __future__ import annotations

from torch import Tensor, nn

from gans.errors import ConfigError
from gans.nets.init import initialise


def _start(image_size: int) -> int:
    if image_size % 4 or image_size < 8:
        raise ConfigError(
            f"data.image_size={image_size}: InfoGAN's networks upsample 4x from image_size/4; "
            "use a multiple of 4 (28 as in the paper, or 32)"
        )
    return image_size // 4


class Generator(nn.Module):
    """FC 1024 -> BN ReLU -> FC 128 (s/4)^2 -> BN ReLU -> 4x4 up-conv 64 stride 2 -> BN ReLU
    -> 4x4 up-conv ``channels`` stride 2 -> tanh (Table 5 at s = 28; tanh for [-1, 1] data);
    weights initialised by ``init`` (:func:`gans.nets.init.initialise`)."""

    def __init__(
        self,
        latent_dim: int = 74,
        image_size: int = 28,
        channels: int = 1,
        width: int = 64,
        init: str = "default",
    ) -> None:
        super().__init__()
        start = _start(image_size)
        self.latent_dim = int(latent_dim)
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 1024),
            nn.BatchNorm1d(1024),
            nn.ReLU(),
            nn.Linear(1024, 2 * width * start * start),
            nn.BatchNorm1d(2 * width * start * start),
            nn.ReLU(),
            nn.Unflatten(1, (2 * width, start, start)),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.ConvTranspose2d(width, channels, 4, 2, 1),
            nn.Tanh(),
        )
        initialise(self, init)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.net(z)


class Discriminator(nn.Module):
    """``body``: 4x4 conv 64 stride 2 -> LeakyReLU -> 4x4 conv 128 stride 2 -> BN LeakyReLU ->
    FC 1024 -> BN LeakyReLU (the features D and Q share); ``head``: FC 1, D's logit (Table 5;
    the authors' code: LeakyReLU slope 0.01, ``leaky_rectify``'s default); weights by ``init``."""

    def __init__(
        self,
        image_size: int = 28,
        channels: int = 1,
        width: int = 64,
        features: int = 1024,
        negative_slope: float = 0.1,
        init: str = "default",
    ) -> None:
        super().__init__()
        start = _start(image_size)
        self.features = int(features)
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 4, 2, 1),
            nn.LeakyReLU(negative_slope),
            nn.Conv2d(width, 2 * width, 4, 2, 1),
            nn.BatchNorm2d(2 * width),
            nn.LeakyReLU(negative_slope),
            nn.Flatten(),
            nn.Linear(2 * width * start * start, self.features),
            nn.BatchNorm1d(self.features),
            nn.LeakyReLU(negative_slope),
        )
        self.head = nn.Linear(self.features, 1)
        initialise(self, init)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.head(self.body(x)).squeeze(1)


class QHead(nn.Module):
    """Q(c | x) on D's body features: FC 128 -> BN LeakyReLU -> FC to the categorical codes'
    logits, the continuous codes' means and (unless ``fixed_std``, the authors' MNIST setting)
    their log-variances (Table 5)."""

    def __init__(
        self,
        features: int = 1024,
        categorical: tuple[int, ...] | list[int] = (10,),
        continuous: int = 2,
        fixed_std: bool = True,
        hidden: int = 128,
        negative_slope: float = 0.1,
        init: str = "default",
    ) -> None:
        super().__init__()
        self.categorical = tuple(int(k) for k in categorical)
        self.continuous = int(continuous)
        self.fixed_std = bool(fixed_std)
        outputs = sum(self.categorical) + self.continuous * (1 if self.fixed_std else 2)
        self.net = nn.Sequential(
            nn.Linear(features, hidden),
            nn.BatchNorm1d(hidden),
            nn.LeakyReLU(negative_slope),
            nn.Linear(hidden, outputs),
        )
        initialise(self, init)

    def forward(self, h: Tensor) -> tuple[list[Tensor], Tensor, Tensor]:
        """(logits of each categorical code, means, log-variances) of the continuous codes."""
        out = self.net(h)
        logits = list(out[:, : sum(self.categorical)].split(self.categorical, dim=1))
        rest = out[:, sum(self.categorical) :]
        mean = rest[:, : self.continuous]
        log_var = mean.new_zeros(mean.shape) if self.fixed_std else rest[:, self.continuous :]
        return logits, mean, log_var
