"""The PatchGAN discriminator (Isola et al. 2017, Sec. 3.2.2 and App. 6.1.2): a fully
convolutional net whose every output judges one N x N patch of its input (N = 70 for the
``basic`` three-layer D); CycleGAN uses the same D (Zhu et al. 2017, App. 7.2)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from gans.nets.init import dcgan_init
from gans.nets.unet import norm_layer


class PatchDiscriminator(nn.Module):
    """Image (B, channels, S, S) -> logits (B, 1, S', S'), one per patch.

    C64-C128-C256 (4x4, stride 2) then C512 (4x4, stride 1) and a 4x4 stride-1 convolution to
    one channel; LeakyReLU(0.2); normalization on every layer but the first and the last. With
    ``n_layers`` = 3 its receptive field is 70 pixels (:func:`receptive_field`).

    Args:
        channels: input channels, or a list of them for images concatenated (Pix2Pix's
            conditional D sees concat(A, B)).
        base_channels: ndf = 64.
        n_layers: stride-2 layers after the first (3: the 70x70 ``basic`` D; 1: 16x16).
        norm: ``batch`` (Pix2Pix) or ``instance`` (CycleGAN).
    """

    def __init__(
        self,
        channels: int | Sequence[int],
        base_channels: int = 64,
        n_layers: int = 3,
        norm: str = "batch",
    ) -> None:
        super().__init__()
        if not isinstance(channels, int):  # the channels of images judged side by side
            channels = sum(int(c) for c in channels)
        bias = norm == "instance"
        width = int(base_channels)
        layers: list[nn.Module] = [
            nn.Conv2d(int(channels), width, 4, 2, 1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        for i in range(1, int(n_layers) + 1):
            stride = 2 if i < int(n_layers) else 1
            wider = int(base_channels) * min(2**i, 8)
            layers += [
                nn.Conv2d(width, wider, 4, stride, 1, bias=bias),
                norm_layer(norm, wider),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            width = wider
        layers.append(nn.Conv2d(width, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)
        #: the smallest image side it takes: the two stride-1 4x4 layers need 3 pixels left
        self.min_size = 3 * 2 ** int(n_layers)
        dcgan_init(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def receptive_field(network: nn.Module) -> int:
    """The side of the input patch that one output of a chain of convolutions sees:
    r = 1 walked back through every layer as r <- (r - 1) * stride + kernel."""
    field = 1
    for module in reversed([m for m in network.modules() if isinstance(m, nn.Conv2d)]):
        field = (field - 1) * module.stride[0] + module.kernel_size[0]
    return field
