"""Adversarial objectives.

Each objective maps discriminator logits (raw outputs, before any sigmoid) to the two players'
losses. Written with ``softplus`` so that ``-log(sigmoid(l)) = softplus(-l)`` and
``-log(1 - sigmoid(l)) = softplus(l)`` are evaluated stably, exactly as
``binary_cross_entropy_with_logits`` does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


class Objective:
    """A two-player objective on discriminator logits."""

    #: True when D outputs a logit of P(real), so sigmoid(output) is a probability.
    probabilistic: bool = True
    #: True when -d_loss estimates a distance between the distributions (Wasserstein critics).
    estimates_distance: bool = False

    def d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        raise NotImplementedError

    def g_loss(self, fake: Tensor) -> Tensor:
        raise NotImplementedError

    def score(self, logits: Tensor) -> Tensor:
        """What is logged as D(x): P(real) for BCE objectives, else the raw output."""
        return torch.sigmoid(logits) if self.probabilistic else logits

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _bce_discriminator(real: Tensor, fake: Tensor) -> Tensor:
    """L_D = -E[log D(x)] - E[log(1 - D(G(z)))] (Goodfellow et al. 2014, Eq. 1; notes' BCE)."""
    return F.softplus(-real).mean() + F.softplus(fake).mean()


class Minimax(Objective):
    """The original game (Goodfellow et al. 2014, Eq. 1).

    D maximises log D(x) + log(1 - D(G(z))); G minimises E[log(1 - D(G(z)))] = -E[softplus(l)].
    Its generator gradient vanishes while D confidently rejects fakes (the notes' "optimization
    trick for early steps").
    """

    def d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        return _bce_discriminator(real, fake)

    def g_loss(self, fake: Tensor) -> Tensor:
        return -F.softplus(fake).mean()


class NonSaturating(Objective):
    """The non-saturating game (Goodfellow et al. 2014, Sec. 3): G minimises -E[log D(G(z))].

    Same fixed point as :class:`Minimax`, with strong generator gradients early in training.
    """

    def d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        return _bce_discriminator(real, fake)

    def g_loss(self, fake: Tensor) -> Tensor:
        return F.softplus(-fake).mean()


class Wasserstein(Objective):
    """WGAN (Arjovsky et al. 2017, Eq. 3): the critic maximises E[D(x)] - E[D(G(z))].

    d_loss = E[D(G(z))] - E[D(x)], g_loss = -E[D(G(z))]; -d_loss estimates the Wasserstein-1
    distance when D is 1-Lipschitz (weight clipping or a gradient penalty).
    """

    probabilistic = False
    estimates_distance = True

    def d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        return fake.mean() - real.mean()

    def g_loss(self, fake: Tensor) -> Tensor:
        return -fake.mean()


class Hinge(Objective):
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018, Eq. 16-17; BigGAN).

    d_loss = E[relu(1 - D(x))] + E[relu(1 + D(G(z)))], g_loss = -E[D(G(z))].
    """

    probabilistic = False

    def d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()

    def g_loss(self, fake: Tensor) -> Tensor:
        return -fake.mean()


class LeastSquares(Objective):
    """Least squares GAN (Mao et al. 2017, Eq. 2), on raw discriminator outputs.

    d_loss = 1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2], g_loss = 1/2 E[(D(G(z)) - c)^2].
    a = 0, b = c = 1 is the notes' CycleGAN MSE form (a 0-1 coding, Mao et al. Eq. 9).
    """

    probabilistic = False

    def __init__(self, a: float = 0.0, b: float = 1.0, c: float = 1.0) -> None:
        self.a, self.b, self.c = float(a), float(b), float(c)

    def d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        return 0.5 * ((real - self.b) ** 2).mean() + 0.5 * ((fake - self.a) ** 2).mean()

    def g_loss(self, fake: Tensor) -> Tensor:
        return 0.5 * ((fake - self.c) ** 2).mean()

    def __repr__(self) -> str:
        return f"LeastSquares(a={self.a}, b={self.b}, c={self.c})"


def matching_aware_d_loss(
    objective: Objective, real: Tensor, fake: Tensor, mismatched: Tensor
) -> Tensor:
    """GAN-CLS's discriminator loss (Reed et al. 2016, "Generative Adversarial Text to Image
    Synthesis", Alg. 1): real images with wrong labels count as fakes beside the generated ones,
    L_D = r(D(x, y)) + (f(D(x, y')) + f(D(G(z), y))) / 2, for an objective whose d_loss is
    r(real) + f(fake): the mean of its d_loss on (real, fake) and on (real, mismatched)."""
    return 0.5 * (objective.d_loss(real, fake) + objective.d_loss(real, mismatched))


def mode_seeking_loss(
    fake1: Tensor, fake2: Tensor, z1: Tensor, z2: Tensor, eps: float = 1e-5
) -> Tensor:
    """MSGAN's mode-seeking term (Mao et al. 2019, Eq. 3, as its code minimises it):
    1 / (mean|G(z2, y) - G(z1, y)| / mean|z2 - z1| + eps), small when two latents drawn for the
    same labels give images as far apart as the latents are."""
    ratio = (fake2 - fake1).abs().mean() / (z2 - z1).abs().mean()
    return 1.0 / (ratio + eps)
