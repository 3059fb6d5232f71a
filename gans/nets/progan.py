"""ProGAN's progressively grown generator and discriminator (Karras et al. 2018, "Progressive
Growing of GANs for Improved Quality, Stability, and Variation").

Both networks hold every resolution's block from the start and run the blocks up to the current
``stage`` (0: 4x4, 1: 8x8, ...); while a new block fades in, its output is mixed with the
previous resolution's path by ``alpha`` (Fig. 2): G's image is
(1 - alpha) * upsample(toRGB_{s-1}(h_{s-1})) + alpha * toRGB_s(h_s), D's features are
(1 - alpha) * fromRGB_{s-1}(downsample(x)) + alpha * block_s(fromRGB_s(x)). The game sets the
progress with :meth:`Generator.grow` / :meth:`Discriminator.grow`. Every layer has an equalized
learning rate (Sec. 4.1: He's constant at run time), G normalises every pixel's features after
each convolution (Sec. 4.2) and D appends a minibatch standard deviation map at 4x4 (Sec. 3).
Layout of the official code: channels min(channel_base / res, channel_max), nearest-neighbour
upsampling, 2x2 average pooling, LeakyReLU 0.2.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from gans.errors import ConfigError
from gans.nets.equalized import (
    RELU_GAIN,
    EqualConv2d,
    EqualLinear,
    MinibatchStdDev,
    channels_at,
    pixel_norm,
    resolutions,
)


def _act(x: Tensor) -> Tensor:
    return F.leaky_relu(x, 0.2)


class Progressive(nn.Module):
    """The progress both networks share: the current ``stage`` and fade-in ``alpha``."""

    def __init__(self, image_size: int) -> None:
        super().__init__()
        self.resolutions = resolutions(image_size)
        self.stage = len(self.resolutions) - 1
        self.alpha = 1.0

    def grow(self, stage: int, alpha: float) -> None:
        """Run the blocks up to ``stage`` (resolution ``4 * 2**stage``), fading the last one in
        at ``alpha`` in [0, 1] (1: no fade)."""
        if not 0 <= stage < len(self.resolutions):
            raise ValueError(f"stage {stage} outside 0..{len(self.resolutions) - 1}")
        self.stage, self.alpha = int(stage), float(alpha)

    @property
    def resolution(self) -> int:
        return self.resolutions[self.stage]

    @property
    def fading(self) -> bool:
        return self.stage > 0 and self.alpha < 1.0


class GBlock(nn.Module):
    """Upsample (nearest) -> conv3x3 -> lrelu -> pixel norm, twice the conv (Table 2)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv0 = EqualConv2d(in_channels, out_channels, 3, gain=RELU_GAIN)
        self.conv1 = EqualConv2d(out_channels, out_channels, 3, gain=RELU_GAIN)

    def forward(self, x: Tensor) -> Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = pixel_norm(_act(self.conv0(x)))
        return pixel_norm(_act(self.conv1(x)))


class Generator(Progressive):
    """z -> image at the current resolution (see the module docstring); z is pixel-normalised
    first, the 4x4 block is a dense layer to 4x4 features and a 3x3 convolution (Table 2)."""

    def __init__(
        self,
        latent_dim: int = 512,
        image_size: int = 32,
        channels: int = 3,
        *,
        channel_base: int = 8192,
        channel_max: int = 512,
        num_classes: int = 0,
    ) -> None:
        super().__init__(image_size)
        if num_classes:
            raise ConfigError("model=progan is unconditional here: use model.num_classes=0")
        ch = [channels_at(r, channel_base, channel_max) for r in self.resolutions]
        # the official 4x4 dense layer has gain sqrt(2) / 4 (He's constant over 16 outputs)
        self.dense = EqualLinear(latent_dim, ch[0] * 16, gain=RELU_GAIN / 4)
        self.conv4 = EqualConv2d(ch[0], ch[0], 3, gain=RELU_GAIN)
        self.blocks = nn.ModuleList(
            GBlock(c_in, c_out) for c_in, c_out in zip(ch[:-1], ch[1:], strict=True)
        )
        self.to_rgb = nn.ModuleList(EqualConv2d(c, channels, 1) for c in ch)
        self.channels0 = ch[0]

    def features(self, z: Tensor, stage: int) -> Tensor:
        """The features at ``stage``'s resolution."""
        h = _act(self.dense(pixel_norm(z))).reshape(z.shape[0], self.channels0, 4, 4)
        h = pixel_norm(_act(self.conv4(pixel_norm(h))))
        for block in self.blocks[:stage]:
            h = block(h)
        return h

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        s = self.stage
        h_prev = self.features(z, s - 1) if self.fading else None
        if h_prev is None:
            return self.to_rgb[s](self.features(z, s))
        h = self.blocks[s - 1](h_prev)
        low = F.interpolate(self.to_rgb[s - 1](h_prev), scale_factor=2, mode="nearest")
        return low.lerp(self.to_rgb[s](h), self.alpha)


class DBlock(nn.Module):
    """conv3x3 -> lrelu -> conv3x3 -> lrelu -> 2x2 average pooling (Table 2)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv0 = EqualConv2d(in_channels, in_channels, 3, gain=RELU_GAIN)
        self.conv1 = EqualConv2d(in_channels, out_channels, 3, gain=RELU_GAIN)

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(_act(self.conv1(_act(self.conv0(x)))), 2)


class Discriminator(Progressive):
    """Image at the current resolution -> one critic value (see the module docstring); the 4x4
    head is minibatch stddev, conv3x3, conv4x4 (valid, the official dense layer) and a linear
    output (Table 2)."""

    def __init__(
        self,
        image_size: int = 32,
        channels: int = 3,
        *,
        channel_base: int = 8192,
        channel_max: int = 512,
        num_classes: int = 0,
        mbstd_group_size: int = 4,
    ) -> None:
        super().__init__(image_size)
        if num_classes:
            raise ConfigError("model=progan is unconditional here: use model.num_classes=0")
        ch = [channels_at(r, channel_base, channel_max) for r in self.resolutions]
        self.from_rgb = nn.ModuleList(EqualConv2d(channels, c, 1, gain=RELU_GAIN) for c in ch)
        # blocks[k - 1] takes resolution k's features down to resolution k - 1's
        self.blocks = nn.ModuleList(
            DBlock(c_in, c_out) for c_in, c_out in zip(ch[1:], ch[:-1], strict=True)
        )
        self.mbstd = MinibatchStdDev(mbstd_group_size)
        self.conv = EqualConv2d(ch[0] + 1, ch[0], 3, gain=RELU_GAIN)
        self.conv4 = EqualConv2d(ch[0], ch[0], 4, gain=RELU_GAIN, padding=0)
        self.out = EqualLinear(ch[0], 1)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        s = self.stage
        h = _act(self.from_rgb[s](x))
        if s > 0:
            h = self.blocks[s - 1](h)
            if self.fading:
                low = _act(self.from_rgb[s - 1](F.avg_pool2d(x, 2)))
                h = low.lerp(h, self.alpha)
        for k in range(s - 1, 0, -1):
            h = self.blocks[k - 1](h)
        h = _act(self.conv(self.mbstd(h)))
        h = _act(self.conv4(h)).flatten(1)
        return self.out(h).squeeze(1)
