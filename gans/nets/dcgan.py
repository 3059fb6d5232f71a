"""DCGAN generator and discriminator (Radford et al. 2016; the notes' lab 03).

The two networks mirror each other (the notes' "symmetric architecture" trick): the generator
projects z to a 4x4 map and doubles the resolution with stride-2 transposed convolutions while
halving the channels; the discriminator halves the resolution with stride-2 convolutions while
doubling the channels, down to 4x4, then a 4x4 convolution gives one logit.
"""

from __future__ import annotations

import math

from torch import Tensor, nn

from gans.errors import ConfigError
from gans.nets.cbn import CBN_INITS, ConditionalBatchNorm2d, ConditionalSequential
from gans.nets.cbn import batch_norm as cbn_or_bn
from gans.nets.conditioning import (
    LatentWithLabel,
    Projection,
    ProjectionDiscriminator,
    check_condition,
)
from gans.nets.init import dcgan_init, spectral_norm_all


def num_stages(image_size: int, family: str = "DCGAN") -> int:
    """Number of stride-2 stages between 4x4 and ``image_size`` (a power of two >= 16)."""
    size = int(image_size)
    if size < 16 or size & (size - 1):
        raise ConfigError(
            f"data.image_size={image_size} cannot be built by the {family} networks; "
            "allowed: powers of two >= 16 (16, 32, 64, 128, 256)"
        )
    return int(math.log2(size)) - 2


def _check_positive(key: str, value: int) -> int:
    if int(value) <= 0:
        raise ConfigError(f"{key}={value} must be a positive integer")
    return int(value)


class Generator(nn.Module):
    """z (B, latent_dim) -> image (B, channels, image_size, image_size) in [-1, 1].

    ConvT(4, 1, 0) to 4x4 x (base * 2^(k-1)), then k-1 blocks ConvT(4, 2, 1) + BN + ReLU, then a
    final ConvT(4, 2, 1) to ``channels`` and tanh; BatchNorm everywhere but the output (Radford
    et al. 2016, Sec. 3), including right after the projection of z, the most critical one (notes).
    With ``conditioning=cbn`` the BatchNorms are class-conditional; ``cbn_init`` says how their
    per-class tables start: ``network`` (DCGAN's N(0, 0.02) of every embedding: each class's gain
    within about 2 % of 1), ``identity`` or ``ortho`` (:class:`ConditionalBatchNorm2d`).
    """

    def __init__(
        self,
        latent_dim: int,
        image_size: int = 32,
        channels: int = 1,
        base_channels: int = 64,
        num_classes: int = 0,
        batch_norm: bool = True,
        conditioning: str = "concat",
        cbn_init: str = "network",
    ) -> None:
        super().__init__()
        stages = num_stages(image_size)
        base = _check_positive("model.generator.base_channels", base_channels)
        self.latent_dim = _check_positive("model.latent.dim", latent_dim)
        if conditioning not in CONDITIONING:
            raise ConfigError(
                f"model.generator.conditioning={conditioning} is unknown; "
                f"allowed: {', '.join(CONDITIONING)}"
            )
        if cbn_init not in ("network", *CBN_INITS):
            raise ConfigError(
                f"model.generator.cbn_init={cbn_init} is unknown; "
                f"allowed: network, {', '.join(CBN_INITS)}"
            )
        cbn = conditioning == "cbn" and int(num_classes) > 0
        if cbn and not batch_norm:
            raise ConfigError("model.generator.conditioning=cbn needs batch_norm=true")
        self.cbn = cbn
        self.condition = LatentWithLabel(0 if cbn else num_classes, self.latent_dim)
        self.num_classes = int(num_classes)
        classes = self.num_classes if cbn else 0

        def norm(width: int) -> nn.Module:
            return cbn_or_bn(width, classes) if batch_norm else nn.Identity()

        width = base * 2 ** (stages - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(
                self.latent_dim + self.condition.extra_dim, width, 4, 1, 0, bias=False
            ),
            norm(width),
            nn.ReLU(inplace=True),
        ]
        for _ in range(stages - 1):
            layers += [
                nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                norm(width // 2),
                nn.ReLU(inplace=True),
            ]
            width //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh()]
        self.net = ConditionalSequential(*layers)
        dcgan_init(self)
        if cbn and cbn_init != "network":
            for module in self.modules():
                if isinstance(module, ConditionalBatchNorm2d):
                    module.init_tables(cbn_init)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        if self.cbn:
            check_condition(y, self.num_classes, "generator")
            return self.net(z[:, :, None, None], y)
        h = self.condition(z, y)
        return self.net(h[:, :, None, None])


class Discriminator(ProjectionDiscriminator):
    """image (B, channels, image_size, image_size) -> logit (B,).

    Conv(4, 2, 1) + LeakyReLU(0.2) without BatchNorm on the input layer, then k-1 blocks
    Conv(4, 2, 1) + BN + LeakyReLU(0.2), then Conv(4, 1, 0) to one logit (Radford et al. 2016).
    ``aux_classes`` > 0 adds a second Conv(4, 1, 0) head of class logits on the same features
    (:meth:`judge_and_classify`: ACGAN's auxiliary classifier, Odena et al. 2017), of
    ``aux_heads`` logits per class (2: TAC-GAN's twin or ADC-GAN's real/fake classes).
    ``norm`` selects ``batch`` (DCGAN), ``layer`` or ``none`` (WGAN-GP critics avoid BatchNorm);
    ``spectral_norm`` normalises every layer's weight (Miyato et al. 2018). ``pack`` = m: the
    input is m images stacked channel-wise (PacGAN, :func:`gans.nets.pack.pack`).
    """

    def __init__(
        self,
        image_size: int = 32,
        channels: int = 1,
        base_channels: int = 64,
        num_classes: int = 0,
        norm: str = "batch",
        negative_slope: float = 0.2,
        spectral_norm: bool = False,
        pack: int = 1,
        aux_classes: int = 0,
        aux_heads: int = 1,
    ) -> None:
        super().__init__()
        stages = num_stages(image_size)
        width = _check_positive("model.discriminator.base_channels", base_channels)
        packed = channels * _check_positive("model.pack", pack)
        layers: list[nn.Module] = [
            nn.Conv2d(packed, width, 4, 2, 1),
            nn.LeakyReLU(negative_slope, inplace=True),
        ]
        size = int(image_size) // 2
        for _ in range(stages - 1):
            size //= 2
            layers += [
                nn.Conv2d(width, width * 2, 4, 2, 1, bias=norm == "none"),
                _norm(norm, width * 2, size),
                nn.LeakyReLU(negative_slope, inplace=True),
            ]
            width *= 2
        self.features = nn.Sequential(*layers)
        self.head = nn.Conv2d(width, 1, 4, 1, 0)
        self.projection = Projection(num_classes, width)
        classes = int(aux_classes) * int(aux_heads)
        self.classifier = nn.Conv2d(width, classes, 4, 1, 0) if aux_classes else None
        dcgan_init(self)
        if spectral_norm:
            spectral_norm_all(self)


NORMS = ("batch", "layer", "none")
#: how G takes the label: ``concat`` (an embedding beside z, Mirza & Osindero 2014) or ``cbn``
#: (class-conditional BatchNorm, de Vries et al. 2017; Miyato & Koyama 2018)
CONDITIONING = ("concat", "cbn")


def _norm(kind: str, channels: int, size: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "none":
        return nn.Identity()
    raise ConfigError(f"model.discriminator.norm={kind!r} is unknown; allowed: {', '.join(NORMS)}")
