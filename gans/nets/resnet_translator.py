"""CycleGAN's ResNet generator (Zhu et al. 2017, App. 7.2, after Johnson et al. 2016):
c7s1-64, d128, d256, R256 x n_blocks, u128, u64, c7s1-out, reflection padding."""

from __future__ import annotations

from torch import Tensor, nn

from gans.errors import ConfigError
from gans.nets.init import dcgan_init
from gans.nets.unet import norm_layer


class ResidualBlock(nn.Module):
    """x + [pad, conv3x3, norm, ReLU, pad, conv3x3, norm](x) (the R256 block)."""

    def __init__(self, channels: int, norm: str, padding: str = "reflect") -> None:
        super().__init__()
        bias = norm == "instance"
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, padding_mode=padding, bias=bias),
            norm_layer(norm, channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1, padding_mode=padding, bias=bias),
            norm_layer(norm, channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """Image (B, in_channels, S, S) -> image (B, out_channels, S, S) in [-1, 1], S a multiple
    of 4: 7x7 convolution, two stride-2 downsamplings, ``n_blocks`` residual blocks (9 at 256,
    6 at 128 and below), two stride-2 transposed convolutions, 7x7 convolution and tanh; instance
    normalization without affine parameters and reflection padding (the paper)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        image_size: int,
        base_channels: int = 64,
        n_blocks: int = 9,
        norm: str = "instance",
        padding: str = "reflect",
    ) -> None:
        super().__init__()
        size = int(image_size)
        if size % 4:
            low = max(4, size // 4 * 4)
            raise ConfigError(
                f"data.image_size={size} cannot pass through the ResNet generator (two "
                f"stride-2 downsamplings need a multiple of 4): nearest sizes that work: "
                f"{low}, {low + 4}"
            )
        bias = norm == "instance"
        ngf = int(base_channels)
        layers: list[nn.Module] = [
            nn.Conv2d(int(in_channels), ngf, 7, padding=3, padding_mode=padding, bias=bias),
            norm_layer(norm, ngf),
            nn.ReLU(inplace=True),
        ]
        for i in range(2):
            layers += [
                nn.Conv2d(ngf * 2**i, ngf * 2 ** (i + 1), 3, 2, 1, bias=bias),
                norm_layer(norm, ngf * 2 ** (i + 1)),
                nn.ReLU(inplace=True),
            ]
        layers += [ResidualBlock(ngf * 4, norm, padding) for _ in range(int(n_blocks))]
        for i in (2, 1):
            layers += [
                nn.ConvTranspose2d(ngf * 2**i, ngf * 2 ** (i - 1), 3, 2, 1, 1, bias=bias),
                norm_layer(norm, ngf * 2 ** (i - 1)),
                nn.ReLU(inplace=True),
            ]
        layers += [
            nn.Conv2d(ngf, int(out_channels), 7, padding=3, padding_mode=padding),
            nn.Tanh(),
        ]
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
