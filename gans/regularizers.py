"""Discriminator regularizers: terms (:class:`gans.terms.Term`) of the discriminator's loss, or
rules run after its step.

Each one is small and pure: ``penalty`` returns the weighted term (or None) from the
discriminator and the batch; ``after_step`` acts on the weights. ``every = k`` applies a loss term
on every k-th D step only, multiplied by k (lazy regularization, Karras et al. 2020, StyleGAN2
Sec. 3.1); ``lazy=true`` makes it a separate phase with StyleGAN2's optimizer correction.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from gans.errors import ConfigError
from gans.terms import Term


class Regularizer(Term):
    """A discriminator term: no loss term and nothing after the step unless overridden."""

    name = "regularizer"
    player = "discriminator"
    #: whether :meth:`penalty` reads D's outputs (``real_out``, ``fake_out``) and the generated
    #: batch: a separate lazy phase computes only what its terms read
    uses_outputs = True
    uses_fake = True

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

    def perturb(self, x: Tensor) -> Tensor:
        """What D sees instead of ``x`` (real or generated); identity unless overridden."""
        return x

    @property
    def joint(self) -> bool:
        """Whether the term needs both players' gradients (see :class:`Consensus`)."""
        return self.kind == "joint_penalty"


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
    double_backward = True

    def __init__(
        self, weight: float = 10.0, target: float = 1.0, every: int = 1, lazy: bool = False
    ) -> None:
        super().__init__(weight, every, lazy)
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
    double_backward = True
    uses_outputs = False
    uses_fake = False

    def __init__(self, gamma: float = 10.0, every: int = 1, lazy: bool = False) -> None:
        super().__init__(0.5 * float(gamma), every, lazy)
        self.gamma = float(gamma)

    def penalty(self, discriminator, real, fake, y, real_out, fake_out):  # noqa: D102
        x = real if self.on_real else fake
        norms = input_gradient_norms(discriminator, x, y)
        return self.weight * (norms**2).mean()


class R2(R1):
    """R2 (Mescheder et al. 2018, Eq. 10): gamma / 2 * E_z[||grad_x D(G(z))||^2]."""

    name = "r2"
    on_real = False
    uses_fake = True


class WeightClip(Regularizer):
    """WGAN (Arjovsky et al. 2017, Alg. 1): clamp every critic parameter to [-c, c] after each
    critic step; c = 0.01 in the paper."""

    name = "weight_clip"
    kind = "after_step"

    def __init__(self, clip: float = 0.01) -> None:
        super().__init__()
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

    def __init__(self, epsilon: float = 0.001, every: int = 1, lazy: bool = False) -> None:
        super().__init__(epsilon, every, lazy)
        self.epsilon = float(epsilon)

    def penalty(self, discriminator, real, fake, y, real_out, fake_out):  # noqa: D102
        return self.weight * (real_out**2).mean()


class InstanceNoise(Regularizer):
    """Instance noise (Sønderby et al. 2017; Arjovsky & Bottou 2017): D sees x + N(0, std^2 I) for
    real and generated samples alike, in both players' steps. It acts on D's inputs, so
    ``perturb`` is its hook and it adds no loss term."""

    name = "instance_noise"
    kind = "perturb"

    def __init__(self, std: float = 0.7) -> None:
        super().__init__()
        if float(std) < 0:
            raise ConfigError(f"regularizer.instance_noise.std={std} must be >= 0")
        self.std = float(std)

    def perturb(self, x: Tensor) -> Tensor:
        return x + self.std * torch.randn_like(x)


class Consensus(Regularizer):
    """Consensus optimization (Mescheder, Nowozin & Geiger 2017, Eq. 7): both players add
    gamma / 2 * ||v||^2, v = (dL_G/dtheta, dL_D/dpsi) the joint gradient field, which pulls the
    field's rotation towards convergence. Needs both players' gradients, so the game calls
    :meth:`joint_penalty` in each player's step."""

    name = "consensus"
    kind = "joint_penalty"
    double_backward = True

    def __init__(self, gamma: float = 1.0, every: int = 1) -> None:
        super().__init__(0.5 * float(gamma), every)
        self.gamma = float(gamma)

    def joint_penalty(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        objective,  # gans.losses.Objective (not imported: keeps this module free of the losses)
        real: Tensor,
        z: Tensor,
        y: Tensor | None,
    ) -> Tensor:
        g_params = [p for p in generator.parameters()]
        d_params = [p for p in discriminator.parameters()]
        flags = [p.requires_grad for p in g_params + d_params]
        for p in g_params + d_params:
            p.requires_grad_(True)
        try:
            fake = generator(z, y)
            fake_out = discriminator(fake, y)
            d_loss = objective.d_loss(discriminator(real, y), fake_out)
            g_loss = objective.g_loss(fake_out)
            grads = torch.autograd.grad(d_loss, d_params, create_graph=True)
            grads += torch.autograd.grad(g_loss, g_params, create_graph=True)
        finally:
            for p, flag in zip(g_params + d_params, flags, strict=True):
                p.requires_grad_(flag)
        return self.weight * sum((g**2).sum() for g in grads)


class Orthogonal(Regularizer):
    """BigGAN's orthogonal regularization of the generator (Brock et al. 2019, Eq. 3):
    beta * sum_W ||W W^T * (1 - I)||_F^2 over every weight matrix (convolutions flattened to
    (out, in * k * k)), embeddings excluded; it penalises only the off-diagonal, so filters are
    pushed apart without fixing their norms. Paper: beta = 1e-4. BigGAN-PyTorch adds the
    gradient 2 (W W^T * (1 - I)) W times ``--G_ortho`` instead, which is half of this term's
    gradient at the same beta."""

    name = "orthogonal"
    kind = "generator_penalty"
    player = "generator"

    def __init__(self, beta: float = 1e-4) -> None:
        super().__init__(beta)
        self.beta = float(beta)

    def generator_penalty(self, generator: nn.Module) -> Tensor:
        embeddings = {id(m.weight) for m in generator.modules() if isinstance(m, nn.Embedding)}
        total = None
        for p in generator.parameters():
            if p.dim() < 2 or id(p) in embeddings or not p.requires_grad:
                continue
            w = p.flatten(1)
            gram = w @ w.T
            off = gram - torch.diag_embed(torch.diagonal(gram))
            term = (off**2).sum()
            total = term if total is None else total + term
        if total is None:
            return torch.zeros((), device=next(generator.parameters()).device)
        return self.beta * total


class PathLength(Regularizer):
    """StyleGAN2's path length regularization (Karras et al. 2020, Eq. 4): weight *
    E_{w,y}[(||J_w^T y||_2 - a)^2], y ~ N(0, I) / sqrt(H W) images, J_w the Jacobian of the
    image in the per-layer styles w, a an exponential moving average of the lengths (decay
    ``decay``, a buffer); the generator's own lazy phase (``Greg``) on ``batch_shrink`` times
    fewer samples. Defaults: pl_weight 2, every 4, decay 0.01, batch shrink 2 (Karras et al.
    2020, App. B and stylegan2-ada-pytorch)."""

    name = "path_length"
    player = "generator"
    kind = "path_penalty"
    double_backward = True

    def __init__(
        self,
        weight: float = 2.0,
        every: int = 4,
        lazy: bool = True,
        decay: float = 0.01,
        batch_shrink: int = 2,
    ) -> None:
        super().__init__(weight, every, lazy)
        self.decay = float(decay)
        self.batch_shrink = int(batch_shrink)
        if self.batch_shrink < 1:
            raise ConfigError(f"regularizer.path_length.batch_shrink={batch_shrink} must be >= 1")
        self.register_buffer("pl_mean", torch.zeros(()))

    def path_penalty(self, images: Tensor, ws: Tensor, noise: Tensor | None = None) -> Tensor:
        """weight * mean_i (L_i - a)^2 with L_i = sqrt(mean over layers of ||d(images_i . y_i)/d
        ws_i||^2) (the official per-layer mean), a updated toward mean L first; ``ws`` (B,
        layers, w_dim) must be in ``images``' graph."""
        if noise is None:
            noise = torch.randn_like(images)
        noise = noise / math.sqrt(images.shape[2] * images.shape[3])
        (grads,) = torch.autograd.grad((images * noise).sum(), ws, create_graph=True)
        lengths = grads.square().sum(dim=2).mean(dim=1).sqrt()
        with torch.no_grad():
            self.pl_mean.copy_(self.pl_mean.lerp(lengths.mean().to(self.pl_mean), self.decay))
        return self.weight * (lengths - self.pl_mean).square().mean()
