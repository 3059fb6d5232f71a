"""What some games can do beyond training and sampling, declared by the classes that can.

A game that can is an instance of the ability's class (``isinstance(game, Traverses)``), so the
commands and callbacks that use an ability ask for it by kind instead of probing attributes.
Each class names the methods its games implement; none holds state or an ``__init__``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn


class Traverses:
    """Draws a latent traversal grid: one sweep per latent dimension or code (the VAE's
    dimensions, InfoGAN's continuous codes)."""

    def traversal(self, steps: int = 9) -> Tensor:
        """The grid's images, ``steps`` per row."""
        raise NotImplementedError


class Truncates:
    """A style-based generator with the truncation trick in W (``truncation_psi``) and style
    mixing (StyleGAN2)."""

    truncation_psi: float

    def style_mixing_grid(self, seed: int = 0) -> tuple[Tensor, int]:
        """(images, images per row) of the style-mixing figure."""
        raise NotImplementedError


class HasCodes:
    """Samples with known latent codes (InfoGAN): what disentanglement metrics score."""

    def coded_samples(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
        """(samples, categorical codes, continuous codes) of ``n`` draws from the prior."""
        raise NotImplementedError


class Quantizes:
    """Maps images to indices of a learnt codebook (VQGAN stage 1)."""

    num_codes: int

    def code_indices(self, images: Tensor, batch_size: int, device: Any) -> Tensor:
        """The code indices of ``images`` (on the CPU), encoded in eval mode ``batch_size`` at a
        time on ``device``, the codebook left as it is."""
        raise NotImplementedError


class NeedsPerceptual:
    """Trains with a frozen perceptual network that the run builds and attaches (VQGAN)."""

    perceptual_kind: str

    def attach_perceptual(self, network: nn.Module | None) -> None:
        raise NotImplementedError

    @property
    def perceptual_name(self) -> str:
        """Which perceptual network trained it, for the run's record."""
        raise NotImplementedError
