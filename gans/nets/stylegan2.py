"""StyleGAN2's generator and discriminator (Karras et al. 2020, "Analyzing and Improving the
Image Quality of StyleGAN"), in plain PyTorch: no compiled extension, so the same networks run
on a CPU, one GPU or many.

Generator = mapping network z -> w (``mapping_layers`` equalized FC layers, lr multiplier 0.01,
a tracked average of w for the truncation trick) + skip-architecture synthesis network: from a
learned 4x4 constant, each resolution has two modulated 3x3 convolutions (the first upsamples)
with per-pixel noise, and a toRGB whose output is added to the upsampled image so far (Fig. 7).
Discriminator = residual architecture (Fig. 7): fromRGB, then per resolution two 3x3
convolutions with a 1x1 skip, summed with gain sqrt(1/2) and halved in size; at 4x4 minibatch
standard deviation, a 3x3 convolution and two FC layers.

Resampling is bilinear (upsampling) and 2x2 average pooling (downsampling) where the paper uses
its [1, 3, 3, 1] FIR filter (``upfirdn2d``); channel counts follow the official
``min(channel_base / resolution, channel_max)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gans.errors import ConfigError
from gans.nets.equalized import (
    RELU_GAIN,
    EqualConv2d,
    EqualLinear,
    MinibatchStdDev,
    channels_at,
    lrelu,
    resolutions,
)


def modulated_weight(weight: Tensor, styles: Tensor, demodulate: bool = True) -> Tensor:
    """Per-sample weights w'_ijk = s_i w_ijk (Eq. 1), demodulated w'' = w' / sqrt(sum_ik w'^2
    + eps) (Eq. 3): (B, out, in, k, k). Used to check :class:`ModulatedConv`, whose forward
    computes the same convolution without materialising per-sample weights."""
    w = weight[None] * styles[:, None, :, None, None]
    if demodulate:
        w = w * torch.rsqrt(w.square().sum(dim=(2, 3, 4), keepdim=True) + 1e-8)
    return w


class ModulatedConv(nn.Module):
    """A 3x3 (or 1x1) convolution whose input channels are scaled per sample by styles
    s = A(w) (an equalized affine layer, bias initialised to 1) and whose outputs are
    demodulated (Eq. 3). The forward scales the input, convolves with the shared weight and
    scales the output by the demodulation coefficients: the same result as a grouped
    convolution with :func:`modulated_weight` (the official ``fused_modconv=False`` path)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        kernel_size: int = 3,
        *,
        demodulate: bool = True,
        upsample: bool = False,
    ) -> None:
        super().__init__()
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.scale = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.demodulate = demodulate
        self.upsample = upsample
        self.padding = kernel_size // 2

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        styles = self.affine(w)
        weight = self.weight * self.scale
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = F.conv2d(x * styles[:, :, None, None], weight, padding=self.padding)
        if self.demodulate:
            d = (weight[None] * styles[:, None, :, None, None]).square().sum(dim=(2, 3, 4))
            x = x * torch.rsqrt(d + 1e-8)[:, :, None, None]
        return x


class StyleLayer(nn.Module):
    """Modulated conv + per-pixel noise (strength learned, initialised to 0) + bias + lrelu
    (times sqrt(2))."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, upsample: bool) -> None:
        super().__init__()
        self.conv = ModulatedConv(in_channels, out_channels, w_dim, 3, upsample=upsample)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: Tensor, w: Tensor, generator: torch.Generator | None) -> Tensor:
        x = self.conv(x, w)
        b, _, h, ww = x.shape
        where = x.device if generator is None else generator.device
        noise = torch.randn(b, 1, h, ww, device=where, generator=generator)
        x = x + noise.to(x.device, x.dtype) * self.noise_strength + self.bias[None, :, None, None]
        return lrelu(x, RELU_GAIN)


class ToRGB(nn.Module):
    """A modulated 1x1 convolution without demodulation, plus bias (linear output)."""

    def __init__(self, in_channels: int, channels: int, w_dim: int) -> None:
        super().__init__()
        self.conv = ModulatedConv(in_channels, channels, w_dim, 1, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        return self.conv(x, w) + self.bias[None, :, None, None]


class MappingNetwork(nn.Module):
    """z (normalised to unit second moment) [with an embedded, normalised class] -> w through
    ``layers`` equalized FC layers with lr multiplier ``lr_mul`` (Karras et al. 2019, Sec. 2);
    ``w_avg`` tracks the mean w during training (``w_avg_beta``) for truncation."""

    def __init__(
        self,
        latent_dim: int,
        w_dim: int,
        layers: int = 8,
        *,
        num_classes: int = 0,
        lr_mul: float = 0.01,
        w_avg_beta: float = 0.995,
    ) -> None:
        super().__init__()
        self.embed = EqualLinear(num_classes, w_dim) if num_classes else None
        dims = [latent_dim + (w_dim if num_classes else 0)] + [w_dim] * layers
        self.fcs = nn.ModuleList(
            EqualLinear(i, o, lr_mul=lr_mul) for i, o in zip(dims[:-1], dims[1:], strict=True)
        )
        self.num_classes = num_classes
        self.w_avg_beta = float(w_avg_beta)
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        x = z * torch.rsqrt(z.square().mean(dim=1, keepdim=True) + 1e-8)
        if self.embed is not None:
            if y is None:
                raise ValueError("a conditional mapping network needs class labels")
            e = self.embed(F.one_hot(y, self.num_classes).to(z.dtype))
            x = torch.cat([x, e * torch.rsqrt(e.square().mean(dim=1, keepdim=True) + 1e-8)], 1)
        for fc in self.fcs:
            x = lrelu(fc(x), RELU_GAIN)
        if self.training and torch.is_grad_enabled():
            with torch.no_grad():
                self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        return x


class Generator(nn.Module):
    """(z, y) -> image in about [-1, 1]; see the module docstring.

    Args:
        latent_dim, w_dim: sizes of z and w (512 in the paper and both official specs).
        image_size, channels: the output images.
        mapping_layers: depth of the mapping network (8 in the paper; 2 in the ``cifar`` and
            ``auto`` specs of stylegan2-ada-pytorch).
        channel_base, channel_max: feature maps per resolution, min(base / res, max).
        num_classes: > 0 conditions the mapping network on a class embedding.
        mapping_lr_mul: the mapping network's learning-rate multiplier (0.01).
        w_avg_beta: decay of the tracked average w (0.995).
    """

    def __init__(
        self,
        latent_dim: int = 512,
        w_dim: int = 512,
        image_size: int = 32,
        channels: int = 3,
        *,
        mapping_layers: int = 8,
        channel_base: int = 16384,
        channel_max: int = 512,
        num_classes: int = 0,
        mapping_lr_mul: float = 0.01,
        w_avg_beta: float = 0.995,
    ) -> None:
        super().__init__()
        self.resolutions = resolutions(image_size)
        self.num_classes = int(num_classes)
        ch = [channels_at(r, channel_base, channel_max) for r in self.resolutions]
        self.mapping = MappingNetwork(
            latent_dim, w_dim, mapping_layers, num_classes=self.num_classes,
            lr_mul=mapping_lr_mul, w_avg_beta=w_avg_beta,
        )  # fmt: skip
        self.const = nn.Parameter(torch.randn(ch[0], 4, 4))
        self.layers = nn.ModuleList([StyleLayer(ch[0], ch[0], w_dim, upsample=False)])
        self.to_rgb = nn.ModuleList([ToRGB(ch[0], channels, w_dim)])
        for c_in, c_out in zip(ch[:-1], ch[1:], strict=True):
            self.layers.append(StyleLayer(c_in, c_out, w_dim, upsample=True))
            self.layers.append(StyleLayer(c_out, c_out, w_dim, upsample=False))
            self.to_rgb.append(ToRGB(c_out, channels, w_dim))
        #: one w per modulated layer and per toRGB that starts a resolution (official num_ws)
        self.num_ws = len(self.layers) + 1
        self.w_dim = w_dim
        self.latent_dim = latent_dim

    def ws(
        self,
        z: Tensor,
        y: Tensor | None = None,
        *,
        truncation_psi: float = 1.0,
        mix: Tensor | None = None,
        cutoff: Tensor | None = None,
    ) -> Tensor:
        """(B, num_ws, w_dim): w = mapping(z) broadcast to every layer, pulled toward w_avg by
        ``truncation_psi`` (w_avg + psi (w - w_avg), Karras et al. 2019, Sec. 3); with ``mix``
        (second latents) the layers from ``cutoff`` (per sample) on take mapping(mix) (style
        mixing, Sec. 3.1)."""
        w = self.mapping(z, y)
        ws = w[:, None, :].expand(-1, self.num_ws, -1)
        if mix is not None and cutoff is not None:
            w2 = self.mapping(mix, y)
            layer = torch.arange(self.num_ws, device=z.device)[None, :, None]
            ws = torch.where(layer >= cutoff[:, None, None], w2[:, None, :], ws)
        if truncation_psi != 1.0:
            ws = self.mapping.w_avg.lerp(ws, float(truncation_psi))
        return ws

    def synthesis(self, ws: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """The image the per-layer styles ``ws`` make (noise from ``generator``, or the global
        stream when None)."""
        x = self.const[None].expand(ws.shape[0], -1, -1, -1)
        x = self.layers[0](x, ws[:, 0], generator)
        img = self.to_rgb[0](x, ws[:, 1])
        for i, rgb in enumerate(self.to_rgb[1:]):
            x = self.layers[2 * i + 1](x, ws[:, 2 * i + 1], generator)
            x = self.layers[2 * i + 2](x, ws[:, 2 * i + 2], generator)
            img = F.interpolate(img, scale_factor=2, mode="bilinear", align_corners=False)
            img = img + rgb(x, ws[:, 2 * i + 3])
        return img

    def forward(
        self,
        z: Tensor,
        y: Tensor | None = None,
        *,
        truncation_psi: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        return self.synthesis(self.ws(z, y, truncation_psi=truncation_psi), generator)


class DBlock(nn.Module):
    """Residual discriminator block: (conv3x3 -> conv3x3 -> halve) + 1x1 skip of the halved input,
    summed with gain sqrt(1/2) (Fig. 7c); ``residual=False`` is the ``orig`` architecture
    (no skip: the ``cifar`` spec)."""

    def __init__(self, in_channels: int, out_channels: int, residual: bool = True) -> None:
        super().__init__()
        self.conv0 = EqualConv2d(in_channels, in_channels, 3)
        self.conv1 = EqualConv2d(in_channels, out_channels, 3)
        self.skip = EqualConv2d(in_channels, out_channels, 1, bias=False) if residual else None

    def forward(self, x: Tensor) -> Tensor:
        h = lrelu(self.conv0(x), RELU_GAIN)
        h = F.avg_pool2d(lrelu(self.conv1(h), RELU_GAIN), 2)
        if self.skip is None:
            return h
        return (h + self.skip(F.avg_pool2d(x, 2))) * math.sqrt(0.5)


class Discriminator(nn.Module):
    """(x, y) -> one logit per sample; see the module docstring. With ``num_classes`` > 0 the
    output is projected on a class embedding (the official ``cmap`` projection)."""

    def __init__(
        self,
        image_size: int = 32,
        channels: int = 3,
        *,
        channel_base: int = 16384,
        channel_max: int = 512,
        num_classes: int = 0,
        architecture: str = "resnet",
        mbstd_group_size: int = 4,
        mbstd_channels: int = 1,
    ) -> None:
        super().__init__()
        if architecture not in ("resnet", "orig"):
            raise ConfigError(
                f"model.discriminator.architecture={architecture}; allowed: resnet, orig"
            )
        res = resolutions(image_size)[::-1]
        ch = [channels_at(r, channel_base, channel_max) for r in res]
        self.from_rgb = EqualConv2d(channels, ch[0], 1)
        self.blocks = nn.ModuleList(
            DBlock(c_in, c_out, architecture == "resnet")
            for c_in, c_out in zip(ch[:-1], ch[1:], strict=True)
        )
        c = ch[-1]
        self.mbstd = MinibatchStdDev(mbstd_group_size, mbstd_channels)
        self.conv = EqualConv2d(c + mbstd_channels, c, 3)
        self.fc = EqualLinear(c * 16, c)
        self.num_classes = int(num_classes)
        self.out = EqualLinear(c, c if num_classes else 1)
        self.embed = EqualLinear(num_classes, c) if num_classes else None

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        h = lrelu(self.from_rgb(x), RELU_GAIN)
        for block in self.blocks:
            h = block(h)
        h = lrelu(self.conv(self.mbstd(h)), RELU_GAIN)
        out = self.out(lrelu(self.fc(h.flatten(1)), RELU_GAIN))
        if self.embed is None:
            return out.squeeze(1)
        if y is None:
            raise ValueError("a conditional discriminator needs class labels")
        cmap = self.embed(F.one_hot(y, self.num_classes).to(x.dtype))
        return (out * cmap).sum(dim=1) / math.sqrt(cmap.shape[1])
