"""Pix2Pix's U-Net generator (Isola et al. 2017, Sec. 3.2.1 and App. 6.1.1): an encoder-decoder
whose i-th decoder layer also sees the i-th encoder layer's output (skip connections)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from gans.errors import ConfigError
from gans.nets.init import dcgan_init

NORMS = ("batch", "instance")


def norm_layer(kind: str, channels: int) -> nn.Module:
    """BatchNorm (Pix2Pix) or InstanceNorm without affine parameters (CycleGAN)."""
    if kind not in NORMS:
        raise ConfigError(f"norm={kind} is unknown; allowed: {', '.join(NORMS)}")
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


def unet_depth(image_size: int, num_downs: int | None) -> int:
    """The number of stride-2 downsamplings: ``num_downs``, or one per halving down to 1x1
    (``unet_256``: 8, ``unet_128``: 7, 32x32: 5). Raises a ConfigError naming the nearest sizes
    that work when ``image_size`` is not a multiple of 2^depth."""
    size = int(image_size)
    if num_downs is None:
        if size >= 2 and size & (size - 1) == 0:
            return int(math.log2(size))
        low = 2 ** int(math.log2(max(size, 2)))
        raise ConfigError(
            f"data.image_size={size} cannot pass through the U-Net generator (one stride-2 "
            f"downsampling per halving down to 1x1 needs a power of two): nearest sizes that "
            f"work: {low}, {2 * low}"
        )
    depth = int(num_downs)
    step = 2**depth
    if depth < 1 or size % step:
        low = max(step, size // step * step)
        raise ConfigError(
            f"data.image_size={size} cannot pass through the U-Net generator with "
            f"model.generator.num_downs={depth} (needs a multiple of {step}): nearest sizes "
            f"that work: {low}, {low + step}"
        )
    return depth


class UNetGenerator(nn.Module):
    """Image (B, in_channels, S, S) -> image (B, out_channels, S, S) in [-1, 1].

    Encoder C64-C128-C256-C512-C512-...: 4x4 stride-2 convolutions, LeakyReLU(0.2) before each
    but the first, normalization after each but the first and the innermost. Decoder mirrors it
    with ReLU + 4x4 stride-2 transposed convolutions + normalization, each taking the
    concatenation of the previous decoder output and the encoder output of the same size; the
    last maps to ``out_channels`` with tanh. Dropout 0.5 after the decoder layers of the
    ``dropout_blocks`` levels just above the innermost is the generator's noise (the paper:
    z as dropout, "applied at both training and test time" there; here sampling is in eval mode,
    as the reference code's ``--eval``). Channel widths ``base * min(2^i, 8)``.

    Args:
        in_channels, out_channels: image channels of the source and target domains.
        image_size: S; with ``num_downs`` None the depth is log2(S) (``unet_256``: 8 levels).
        base_channels: width of the first layer (ngf = 64).
        num_downs: the depth (None: from ``image_size``).
        dropout_blocks: levels with dropout; None: the reference's ``num_downs - 5`` (3 in
            ``unet_256``, 2 in ``unet_128``), and 2 in the smaller U-Nets (the 32x32 variant),
            where that rule would leave the generator without noise.
        norm: ``batch`` (the paper) or ``instance``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        image_size: int,
        base_channels: int = 64,
        num_downs: int | None = None,
        dropout_blocks: int | None = None,
        dropout: float = 0.5,
        norm: str = "batch",
    ) -> None:
        super().__init__()
        depth = unet_depth(image_size, num_downs)
        widths = [int(base_channels) * min(2**i, 8) for i in range(depth)]
        blocks = (
            min(max(depth - 5, 2), depth - 2) if dropout_blocks is None else int(dropout_blocks)
        )
        bias = norm == "instance"  # a bias before BatchNorm is redundant (reference code)
        self.downs = nn.ModuleList()
        for i in range(depth):
            layers: list[nn.Module] = [] if i == 0 else [nn.LeakyReLU(0.2, inplace=True)]
            source = int(in_channels) if i == 0 else widths[i - 1]
            layers.append(nn.Conv2d(source, widths[i], 4, 2, 1, bias=bias or i in (0, depth - 1)))
            if 0 < i < depth - 1:
                layers.append(norm_layer(norm, widths[i]))
            self.downs.append(nn.Sequential(*layers))
        self.ups = nn.ModuleList()
        for i in range(depth):
            inner = widths[i] if i == depth - 1 else 2 * widths[i]
            target = widths[i - 1] if i > 0 else int(out_channels)
            layers = [nn.ReLU(inplace=True)]
            layers.append(nn.ConvTranspose2d(inner, target, 4, 2, 1, bias=bias or i == 0))
            if i == 0:
                layers.append(nn.Tanh())
            else:
                layers.append(norm_layer(norm, target))
                if depth - 1 - blocks <= i < depth - 1:
                    layers.append(nn.Dropout(float(dropout)))
            self.ups.append(nn.Sequential(*layers))
        self.depth = depth
        dcgan_init(self)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        y = self.ups[-1](skips[-1])
        for i in range(self.depth - 2, -1, -1):
            y = self.ups[i](torch.cat([skips[i], y], dim=1))
        return y
