"""Mode coverage of a 2-D mixture (PacGAN, Lin et al. 2018, Sec. 5.1, after VEEGAN)."""

from __future__ import annotations

import torch
from torch import Tensor


def mode_coverage(
    samples: Tensor, modes: Tensor, std: float, within: float = 3.0
) -> dict[str, float]:
    """Assign each sample to its nearest mode; it is *high quality* if that mode is within
    ``within * std``; a mode is *captured* if it has at least one high-quality sample.

    Returns ``modes`` (captured count), ``high_quality`` (fraction of samples) and
    ``reverse_kl``: KL(p_model || p_data) of the nearest-mode histogram of all samples against
    the uniform mixture weights (0 log 0 = 0).
    """
    distances = torch.cdist(samples.double(), modes.double())
    nearest, index = distances.min(dim=1)
    good = nearest <= within * std
    captured = index[good].unique().numel()
    counts = torch.bincount(index, minlength=modes.shape[0]).double()
    p = counts / counts.sum()
    q = 1.0 / modes.shape[0]
    mask = p > 0
    reverse_kl = float((p[mask] * (p[mask] / q).log()).sum())
    return {
        "modes": float(captured),
        "high_quality": float(good.double().mean()),
        "reverse_kl": reverse_kl,
    }
