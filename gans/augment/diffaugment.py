"""DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
Training"): the same random, differentiable transformations applied to real and generated
images every time the discriminator sees them, in both players' steps (Fig. 4, Eq. 3-4), so
that D cannot overfit a small training set and G still gets gradients through them.

The policy ``color,translation,cutout`` of the paper's code: brightness + U[-0.5, 0.5],
saturation x U[0, 2], contrast x U[0.5, 1.5] (each per sample, about the channel / image
mean); translation by up to 1/8 of the image with zero padding; cutout of one square half the
image's side, zeroed.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from gans.augment.ops import translate
from gans.errors import ConfigError

POLICIES = ("color", "translation", "cutout")


class DiffAugment(nn.Module):
    """x -> T(x) for a fresh random T per sample and per call (see the module docstring)."""

    def __init__(
        self,
        policy: Sequence[str] = POLICIES,
        translation: float = 0.125,
        cutout: float = 0.5,
    ) -> None:
        super().__init__()
        unknown = [p for p in policy if p not in POLICIES]
        if unknown:
            raise ConfigError(f"augment.policy has {unknown[0]!r}; allowed: {', '.join(POLICIES)}")
        self.policy = tuple(policy)
        self.translation = float(translation)
        self.cutout = float(cutout)

    def forward(self, x: Tensor) -> Tensor:
        for name in self.policy:
            x = getattr(self, f"_{name}")(x)
        return x

    def _color(self, x: Tensor) -> Tensor:
        b = x.shape[0]
        x = x + (torch.rand(b, 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5)
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * (torch.rand(b, 1, 1, 1, device=x.device, dtype=x.dtype) * 2) + mean
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        return (x - mean) * (torch.rand(b, 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5) + mean

    def _translation(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        sh, sw = int(h * self.translation + 0.5), int(w * self.translation + 0.5)
        dy = torch.randint(-sh, sh + 1, (b,), device=x.device)
        dx = torch.randint(-sw, sw + 1, (b,), device=x.device)
        return translate(x, dx, dy, "zeros")

    def _cutout(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        ch, cw = int(h * self.cutout + 0.5), int(w * self.cutout + 0.5)
        cy = torch.randint(0, h + (1 - ch % 2), (b, 1), device=x.device)
        cx = torch.randint(0, w + (1 - cw % 2), (b, 1), device=x.device)
        rows = torch.arange(h, device=x.device)[None, :]
        cols = torch.arange(w, device=x.device)[None, :]
        inside_r = (rows >= cy - ch // 2) & (rows < cy - ch // 2 + ch)
        inside_c = (cols >= cx - cw // 2) & (cols < cx - cw // 2 + cw)
        keep = ~(inside_r[:, :, None] & inside_c[:, None, :])
        return x * keep[:, None].to(x.dtype)

    def scalars(self) -> dict[str, Tensor]:
        return {}

    def observe(self, real_logits: Tensor, step: int) -> None:
        """DiffAugment adapts nothing."""

    def extra_repr(self) -> str:
        return f"policy={','.join(self.policy)}"
