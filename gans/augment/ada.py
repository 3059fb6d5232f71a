"""Adaptive discriminator augmentation (Karras et al. 2020, "Training Generative Adversarial
Networks with Limited Data", ADA).

Every image D sees (real or generated, in both players' steps) passes through a pipeline whose
operations each apply to a sample with probability p (Sec. 2.3): x-flip, 90-degree rotations,
integer translation by up to 1/8 of the image (reflect padding), brightness (+ N(0, 0.2)),
contrast (x lognormal(0, (0.5 ln 2)^2)) and saturation (x lognormal(0, (ln 2)^2) about the
luma axis): the paper's ``bgc`` pipeline without its non-integer geometry. p starts at 0 and is
adjusted every ``interval`` D steps by the overfitting heuristic r_t = E[sign(D(x_real))]
(Eq. 1): p += sign(r_t - target) * N / speed_images, N the real images seen since the last
adjustment (so p can go from 0 to 1 in ``speed_images`` images, 500k in the paper), clamped to
[0, 1]. p and the sign statistics are buffers: saved in checkpoints, all-reduced under DDP.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor, nn

from gans.augment.ops import gate, rotate90, translate
from gans.errors import ConfigError


class ADA(nn.Module):
    """The ``bgc`` subset pipeline at probability :attr:`p`, with p adapted by
    :meth:`observe` (see the module docstring)."""

    def __init__(
        self,
        target: float = 0.6,
        interval: int = 4,
        speed_images: int = 500_000,
        initial_p: float = 0.0,
        translation: float = 0.125,
        brightness_std: float = 0.2,
        contrast_std: float = 0.5,
        saturation_std: float = 1.0,
        adaptive: bool = True,
    ) -> None:
        super().__init__()
        if not 0.0 <= float(initial_p) <= 1.0:
            raise ConfigError(f"augment.initial_p={initial_p} must be in [0, 1]")
        if int(interval) < 1 or int(speed_images) < 1:
            raise ConfigError("augment.interval and augment.speed_images must be >= 1")
        self.target = float(target)
        self.interval = int(interval)
        self.speed_images = int(speed_images)
        self.translation = float(translation)
        self.brightness_std = float(brightness_std)
        self.contrast_std = float(contrast_std)
        self.saturation_std = float(saturation_std)
        self.adaptive = bool(adaptive)
        self.register_buffer("p", torch.tensor(float(initial_p)))
        #: (sum of sign(D(x_real)), number of reals) since the last adjustment
        self.register_buffer("signs", torch.zeros(2, dtype=torch.float64))
        self.register_buffer("rt", torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        p = self.p.to(x.device)

        def draw() -> Tensor:
            return torch.rand(b, device=x.device) < p

        x = gate(draw() & (torch.rand(b, device=x.device) < 0.5), x.flip(3), x)
        k = torch.randint(0, 4, (b,), device=x.device)
        x = gate(draw(), rotate90(x, k), x)
        apply = draw()
        dx = torch.round((torch.rand(b, device=x.device) * 2 - 1) * self.translation * w)
        dy = torch.round((torch.rand(b, device=x.device) * 2 - 1) * self.translation * h)
        moved = translate(x, dx.long(), dy.long(), "reflect")
        x = gate(apply, moved, x)
        one = (b, 1, 1, 1)
        brightness = torch.randn(one, device=x.device, dtype=x.dtype) * self.brightness_std
        x = gate(draw(), x + brightness, x)
        contrast = torch.exp2(torch.randn(one, device=x.device, dtype=x.dtype) * self.contrast_std)
        x = gate(draw(), x * contrast, x)
        if x.shape[1] > 1:
            luma = x.mean(dim=1, keepdim=True)
            sat = torch.exp2(torch.randn(one, device=x.device, dtype=x.dtype) * self.saturation_std)
            x = gate(draw(), luma + (x - luma) * sat, x)
        return x

    @torch.no_grad()
    def observe(self, real_logits: Tensor, step: int) -> None:
        """Accumulate sign(D(x_real)) of D step ``step`` (1-based, counted by the game and saved
        with it); on every ``interval``-th step move p toward the target r_t (a collective under
        DDP: every rank calls it equally often)."""
        if not self.adaptive:
            return
        signs = real_logits.detach().float().sign()
        count = torch.full((), float(signs.numel()), device=signs.device)
        self.signs += torch.stack([signs.sum(), count]).to(self.signs)
        if step % self.interval:
            return
        total = self.signs.clone()
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(total)
        rt = (total[0] / total[1].clamp(min=1)).float()
        step = torch.sign(rt - self.target) * total[1].float() / self.speed_images
        self.p.copy_((self.p + step.to(self.p)).clamp(0.0, 1.0))
        self.rt.copy_(rt.to(self.rt))
        self.signs.zero_()

    def scalars(self) -> dict[str, Tensor]:
        """p and the last r_t, logged as ``augment/p`` and ``augment/rt``."""
        return {"augment/p": self.p, "augment/rt": self.rt}

    def extra_repr(self) -> str:
        return f"target={self.target}, interval={self.interval}, speed_images={self.speed_images}"
