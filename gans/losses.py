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
