"""Stacked-MNIST mode count (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018, Sec. 5.2)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


@torch.no_grad()
def digit_triples(images: Tensor, classifier: nn.Module) -> Tensor:
    """Classify each channel of (N, 3, H, W) images in [-1, 1] as a digit; returns the mode
    ``100 * red + 10 * green + blue`` of each image (N,)."""
    digits = [classifier(images[:, c : c + 1].clamp(-1, 1)).argmax(dim=1) for c in range(3)]
    return 100 * digits[0] + 10 * digits[1] + digits[2]


def mode_count(codes: Tensor, modes: int = 1000) -> dict[str, float]:
    """``modes``: how many of the ``modes`` triples occur among ``codes``; ``kl``: KL(p || U)
    of their histogram p to the uniform distribution over all ``modes`` (0 log 0 = 0)."""
    counts = torch.bincount(codes.flatten().long().cpu(), minlength=modes).double()
    p = counts / counts.sum()
    seen = p > 0
    return {
        "modes": float(seen.sum()),
        "kl": float((p[seen] * (p[seen] * modes).log()).sum()),
    }
