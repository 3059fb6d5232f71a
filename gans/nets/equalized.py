"""Layers shared by the progressive and style-based generators (Karras et al. 2018, 2019, 2020).

*Equalized learning rate* (Karras et al. 2018, Sec. 4.1): weights are stored as N(0, 1) draws
and multiplied at run time by He's constant ``gain / sqrt(fan_in)``, so that Adam's per-weight
step sizes act on every layer alike. ``lr_mul`` scales both the stored weights' initial
deviation (down) and the run-time constant (up): the layer learns ``lr_mul`` times slower
(StyleGAN's mapping network, 0.01).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gans.errors import ConfigError

#: sqrt(2): He's gain for (leaky) ReLU layers
RELU_GAIN = math.sqrt(2.0)


def he_constant(fan_in: int, gain: float = 1.0, lr_mul: float = 1.0) -> float:
    """The run-time weight scale ``gain * lr_mul / sqrt(fan_in)`` (Karras et al. 2018, Eq. in
    Sec. 4.1: w_hat = w / c with c = sqrt(2 / fan_in) for gain sqrt(2))."""
    return gain * lr_mul / math.sqrt(fan_in)


class EqualLinear(nn.Module):
    """y = x (s W)^T + lr_mul b with s = :func:`he_constant` (W ~ N(0, 1) / lr_mul at init)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        bias: bool = True,
        bias_init: float = 0.0,
        gain: float = 1.0,
        lr_mul: float = 1.0,
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / lr_mul))
        self.bias.requires_grad_(bias)
        self.use_bias = bias
        self.scale = he_constant(in_features, gain, lr_mul)
        self.lr_mul = lr_mul

    def forward(self, x: Tensor) -> Tensor:
        bias = self.bias * self.lr_mul if self.use_bias else None
        return F.linear(x, self.weight * self.scale, bias)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[1]} -> {self.weight.shape[0]}, scale={self.scale:.4g}"


class EqualConv2d(nn.Module):
    """A 'same'-padded convolution with weights scaled by :func:`he_constant` at run time."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        bias: bool = True,
        gain: float = 1.0,
        padding: int | None = None,
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.scale = he_constant(in_channels * kernel_size * kernel_size, gain)
        self.padding = kernel_size // 2 if padding is None else padding

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)

    def extra_repr(self) -> str:
        o, i, k, _ = self.weight.shape
        return f"{i} -> {o}, k={k}, scale={self.scale:.4g}"


def pixel_norm(x: Tensor, eps: float = 1e-8) -> Tensor:
    """Each pixel's feature vector scaled to unit root-mean-square (Karras et al. 2018, Eq. in
    Sec. 4.2: b = a / sqrt(mean_j a_j^2 + eps))."""
    return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + eps)


class MinibatchStdDev(nn.Module):
    """Appends ``channels`` feature maps holding the standard deviation of the features across
    groups of ``group_size`` samples, averaged over features and pixels (Karras et al. 2018,
    Sec. 3; group 4 as in their code). The batch size must divide by the group size (or be
    smaller: then the whole batch is one group)."""

    def __init__(self, group_size: int = 4, channels: int = 1) -> None:
        super().__init__()
        self.group_size = int(group_size)
        self.channels = int(channels)

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        g = min(self.group_size, b)
        if b % g:
            g = math.gcd(b, g)
        f = self.channels
        y = x.reshape(g, b // g, f, c // f, h, w)
        y = (y - y.mean(dim=0)).square().mean(dim=0).add(1e-8).sqrt()
        y = y.mean(dim=(2, 3, 4)).reshape(b // g, f, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}, channels={self.channels}"


def lrelu(x: Tensor, gain: float = 1.0) -> Tensor:
    """LeakyReLU(0.2) times ``gain`` (StyleGAN2 uses gain sqrt(2) after unit-gain layers)."""
    out = F.leaky_relu(x, 0.2)
    return out * gain if gain != 1.0 else out


def resolutions(image_size: int) -> list[int]:
    """4, 8, ..., image_size; one line of error unless ``image_size`` is a power of two >= 8."""
    size = int(image_size)
    if size < 8 or size & (size - 1):
        raise ConfigError(
            f"data.image_size={image_size}: progressive and style-based networks need a power of "
            "two >= 8 (8, 16, 32, 64, ...); 28x28 MNIST is padded to 32 by data.image_size=32"
        )
    return [2**k for k in range(2, int(math.log2(size)) + 1)]


def channels_at(resolution: int, channel_base: int, channel_max: int) -> int:
    """Feature maps at ``resolution``: min(channel_base // resolution, channel_max)."""
    return max(1, min(int(channel_base) // resolution, int(channel_max)))
