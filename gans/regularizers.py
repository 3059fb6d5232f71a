"""Discriminator regularizers: loss terms added to d_loss, or hooks run after the D step.

Each one is small and pure: ``penalty`` returns a scalar (or None) from the discriminator and the
batch; ``after_step`` acts on the weights. ``every = k`` applies a loss term on every k-th D step
only, multiplied by k (lazy regularization, Karras et al. 2020, StyleGAN2 Sec. 3.1).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gans.errors import ConfigError


class Regularizer:
    """Base class: no loss term, nothing after the step."""

    name = "regularizer"

    def __init__(self, every: int = 1) -> None:
        if int(every) < 1:
            raise ConfigError(f"regularizer.{self.name}.every={every} must be an integer >= 1")
        self.every = int(every)

    def penalty(
        self,
        discriminator: nn.Module,
        real: Tensor,
        fake: Tensor,
        y: Tensor | None,
        real_out: Tensor,
        fake_out: Tensor,
    ) -> Tensor | None:
        return None

    def after_step(self, discriminator: nn.Module) -> None:
        return None

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


def input_gradient_norms(discriminator: nn.Module, x: Tensor, y: Tensor | None) -> Tensor:
    """||grad_x D(x)||_2 per sample, with a graph for the double backward."""
    x = x.detach().requires_grad_(True)
    out = discriminator(x, y)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad.flatten(1).norm(2, dim=1)


class GradientPenalty(Regularizer):
    """WGAN-GP (Gulrajani et al. 2017, Eq. 3): weight * E[(||grad D(x_hat)||_2 - target)^2]
    on x_hat = eps * x + (1 - eps) * G(z), eps ~ U[0, 1] per sample. Paper: weight 10, target 1."""

    name = "gradient_penalty"

    def __init__(self, weight: float = 10.0, target: float = 1.0, every: int = 1) -> None:
        super().__init__(every)
        self.weight = float(weight)
        self.target = float(target)

    def penalty(self, discriminator, real, fake, y, real_out, fake_out):  # noqa: D102
        eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device)
        x_hat = eps * real.detach() + (1 - eps) * fake.detach()
        norms = input_gradient_norms(discriminator, x_hat, y)
        return self.weight * ((norms - self.target) ** 2).mean()


class R1(Regularizer):
    """R1 (Mescheder et al. 2018, Eq. 9): gamma / 2 * E_x~data[||grad_x D(x)||^2].

    The paper's convention, with the 1/2. Mescheder et al.'s GAN_stability code computes
    reg_param * E||grad||^2 without the 1/2, so its reg_param = 10 equals gamma = 20 here.
    """

    name = "r1"
    on_real = True

    def __init__(self, gamma: float = 10.0, every: int = 1) -> None:
        super().__init__(every)
        self.gamma = float(gamma)

    def penalty(self, discriminator, real, fake, y, real_out, fake_out):  # noqa: D102
        x = real if self.on_real else fake
        norms = input_gradient_norms(discriminator, x, y)
        return 0.5 * self.gamma * (norms**2).mean()


class R2(R1):
    """R2 (Mescheder et al. 2018, Eq. 10): gamma / 2 * E_z[||grad_x D(G(z))||^2]."""

    name = "r2"
    on_real = False


class WeightClip(Regularizer):
    """WGAN (Arjovsky et al. 2017, Alg. 1): clamp every critic parameter to [-c, c] after each
    critic step; c = 0.01 in the paper."""

    name = "weight_clip"

    def __init__(self, clip: float = 0.01) -> None:
        super().__init__(1)
        if float(clip) <= 0:
            raise ConfigError(f"regularizer.weight_clip.clip={clip} must be > 0")
        self.clip = float(clip)

    @torch.no_grad()
    def after_step(self, discriminator: nn.Module) -> None:
        for p in discriminator.parameters():
            p.clamp_(-self.clip, self.clip)


class Drift(Regularizer):
    """ProGAN's drift term (Karras et al. 2018, Sec. A.1): epsilon * E[D(x)^2], epsilon = 0.001."""

    name = "drift"

    def __init__(self, epsilon: float = 0.001, every: int = 1) -> None:
        super().__init__(every)
        self.epsilon = float(epsilon)

    def penalty(self, discriminator, real, fake, y, real_out, fake_out):  # noqa: D102
        return self.epsilon * (real_out**2).mean()
