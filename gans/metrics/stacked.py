"""Stacked-MNIST mode count (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018, Sec. 5.2)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


@torch.no_grad()
def digit_readings(images: Tensor, classifier: nn.Module) -> tuple[Tensor, Tensor]:
    """Classify each channel of (N, 3, H, W) images in [-1, 1] as a digit. Returns the mode
    ``100 * red + 10 * green + blue`` of each image (N,) and the classifier's softmax probability
    of the digit it read in each channel (N, 3): how sure the reading is."""
    probs = [classifier(images[:, c : c + 1].clamp(-1, 1)).float().softmax(dim=1) for c in range(3)]
    confidence, digits = torch.stack(probs, dim=1).max(dim=2)
    return 100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2], confidence


def digit_triples(images: Tensor, classifier: nn.Module) -> Tensor:
    """The mode ``100 * red + 10 * green + blue`` of each image (N,) (:func:`digit_readings`)."""
    return digit_readings(images, classifier)[0]


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


def stacked_scores(codes: Tensor, confidence: Tensor, threshold: float = 0.9) -> dict[str, float]:
    """:func:`mode_count` and the quality side of it, since blurry channels are read noisily and
    so inflate the count: ``confidence`` (mean softmax probability of the digit read, over all
    channels), ``confident`` (share of images whose three readings all reach ``threshold``) and
    ``confident_modes`` (triples among those images only)."""
    sure = (confidence >= threshold).all(dim=1).cpu()
    return {
        **mode_count(codes),
        "confidence": float(confidence.double().mean()),
        "confident": float(sure.double().mean()),
        "confident_modes": mode_count(codes.cpu()[sure])["modes"] if sure.any() else 0.0,
    }
