"""VQGAN's convolutional encoder and decoder (Esser et al. 2021, Sec. 3.1; the architecture of
Ho et al.'s diffusion U-Net halves as taming-transformers builds them): residual blocks with group
norm and swish, a stride-2 convolution (encoder) or nearest upsampling + convolution (decoder)
between levels, self-attention at the lowest resolution, and a middle of res-attention-res."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from gans.errors import ConfigError


def group_norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with taming's 32 groups where the width allows it (fewer for narrow layers)."""
    return nn.GroupNorm(math.gcd(32, channels), channels, eps=1e-6)


class ResBlock(nn.Module):
    """x + conv(swish(norm(conv(swish(norm(x)))))), a 1x1 shortcut when the width changes."""

    def __init__(self, c_in: int, c_out: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.body = nn.Sequential(
            group_norm(c_in), nn.SiLU(), nn.Conv2d(c_in, c_out, 3, padding=1),
            group_norm(c_out), nn.SiLU(), nn.Dropout(dropout),
            nn.Conv2d(c_out, c_out, 3, padding=1),
        )  # fmt: skip
        self.shortcut = nn.Identity() if c_in == c_out else nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.shortcut(x) + self.body(x)


class AttnBlock(nn.Module):
    """Single-head self-attention over the pixels of a feature map, residual."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = group_norm(channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(n, 3, c, h * w).transpose(2, 3).unbind(1)
        attended = F.scaled_dot_product_attention(q, k, v)  # (n, hw, c), scale 1/sqrt(c)
        return x + self.out(attended.transpose(1, 2).reshape(n, c, h, w))


def _levels(image_size: int, ch_mult: Sequence[int]) -> int:
    levels = len(ch_mult)
    if levels < 1 or image_size % 2 ** (levels - 1):
        raise ConfigError(
            f"model.encoder.ch_mult={list(ch_mult)} halves the image {levels - 1} times, which "
            f"data.image_size={image_size} does not allow (it must be divisible by "
            f"{2 ** (levels - 1)})"
        )
    return levels


class Encoder(nn.Module):
    """x (N, C, S, S) -> z (N, z_channels, S / 2^(L-1), S / 2^(L-1)) for L = len(ch_mult).

    Args:
        channels, image_size: the images.
        ch: the base width; level i has ch * ch_mult[i] channels.
        num_res_blocks: residual blocks per level.
        attention: self-attention at the lowest resolution (the middle always has one when true).
        z_channels: the output's channels (the codebook dimension).
    """

    def __init__(
        self,
        channels: int,
        image_size: int,
        ch: int = 32,
        ch_mult: Sequence[int] = (1, 2, 2),
        num_res_blocks: int = 1,
        attention: bool = True,
        z_channels: int = 64,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        levels = _levels(int(image_size), ch_mult)
        self.z_channels = int(z_channels)
        self.latent_size = int(image_size) // 2 ** (levels - 1)
        layers: list[nn.Module] = [nn.Conv2d(channels, ch, 3, padding=1)]
        width = ch
        for i, mult in enumerate(ch_mult):
            for _ in range(num_res_blocks):
                layers.append(ResBlock(width, ch * mult, dropout))
                width = ch * mult
                if attention and i == levels - 1:
                    layers.append(AttnBlock(width))
            if i < levels - 1:
                layers.append(nn.Conv2d(width, width, 4, stride=2, padding=1))
        middle = [ResBlock(width, width, dropout), AttnBlock(width)] if attention else []
        layers += [*middle, ResBlock(width, width, dropout), group_norm(width), nn.SiLU()]
        layers.append(nn.Conv2d(width, z_channels, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class Decoder(nn.Module):
    """z (N, z_channels, s, s) -> x (N, C, s * 2^(L-1), ...), the encoder's mirror with
    ``num_res_blocks + 1`` blocks per level (as taming's) and a linear last convolution, whose
    weight :attr:`last_layer` is where the adaptive GAN weight is measured."""

    def __init__(
        self,
        channels: int,
        image_size: int,
        ch: int = 32,
        ch_mult: Sequence[int] = (1, 2, 2),
        num_res_blocks: int = 1,
        attention: bool = True,
        z_channels: int = 64,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        levels = _levels(int(image_size), ch_mult)
        self.z_channels = int(z_channels)
        width = ch * ch_mult[-1]
        layers: list[nn.Module] = [nn.Conv2d(z_channels, width, 3, padding=1)]
        layers += [ResBlock(width, width, dropout), AttnBlock(width)] if attention else []
        layers.append(ResBlock(width, width, dropout))
        for i in reversed(range(levels)):
            for _ in range(num_res_blocks + 1):
                layers.append(ResBlock(width, ch * ch_mult[i], dropout))
                width = ch * ch_mult[i]
                if attention and i == levels - 1:
                    layers.append(AttnBlock(width))
            if i > 0:
                layers += [nn.Upsample(scale_factor=2.0, mode="nearest")]
                layers += [nn.Conv2d(width, width, 3, padding=1)]
        layers += [group_norm(width), nn.SiLU()]
        self.body = nn.Sequential(*layers)
        self.conv_out = nn.Conv2d(width, channels, 3, padding=1)

    @property
    def last_layer(self) -> nn.Parameter:
        """The weight of the output convolution (taming's ``get_last_layer``)."""
        return self.conv_out.weight

    def forward(self, z: Tensor) -> Tensor:
        return self.conv_out(self.body(z))
