"""How well a latent code controls one property of the samples: a categorical code against the
digit classes (clustering accuracy), continuous codes against measured shape (slant, width)."""

from __future__ import annotations

from typing import Any

import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor, nn


def cluster_accuracy(codes: Tensor, labels: Tensor) -> float:
    """The fraction of samples whose code maps to their label under the best one-to-one map of
    code values to labels (the Hungarian algorithm on the co-occurrence counts): 1 for any
    relabelling of a perfect assignment, about 1/K for unrelated ones."""
    codes, labels = codes.long().cpu(), labels.long().cpu()
    rows, cols = int(codes.max()) + 1, int(labels.max()) + 1
    counts = torch.zeros(rows, cols, dtype=torch.long)
    counts.index_put_((codes, labels), torch.ones_like(codes), accumulate=True)
    matched_rows, matched_cols = linear_sum_assignment(counts.numpy(), maximize=True)
    return float(counts[matched_rows, matched_cols].sum()) / max(len(codes), 1)


def _ink(images: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(ink in [0, 1] of shape (n, H, W), row coordinates, column coordinates) of images in
    [-1, 1]; colour images are averaged over channels."""
    ink = ((images.float().mean(1) + 1) / 2).clamp(0, 1)
    rows = torch.arange(ink.shape[1], dtype=ink.dtype).view(1, -1, 1)
    cols = torch.arange(ink.shape[2], dtype=ink.dtype).view(1, 1, -1)
    return ink, rows, cols


def slant(images: Tensor) -> Tensor:
    """The ink's skew mu_11 / mu_02 per image (second central moments of the ink as a mass:
    columns drift by this much per row down, the shear a deskew removes; > 0 leans left
    at the top)."""
    ink, rows, cols = _ink(images)
    mass = ink.sum((1, 2)).clamp_min(1e-8)
    r_mean = (ink * rows).sum((1, 2)) / mass
    c_mean = (ink * cols).sum((1, 2)) / mass
    dr = rows - r_mean.view(-1, 1, 1)
    dc = cols - c_mean.view(-1, 1, 1)
    mu11 = (ink * dr * dc).sum((1, 2)) / mass
    mu02 = (ink * dr * dr).sum((1, 2)) / mass
    return mu11 / mu02.clamp_min(1e-8)


def width(images: Tensor, inner: float = 0.9) -> Tensor:
    """The ink's horizontal extent per image, in pixels: the span of columns holding the middle
    ``inner`` of the ink's mass (robust to stray pixels)."""
    ink, _, _ = _ink(images)
    columns = ink.sum(1)
    cumulative = columns.cumsum(1) / columns.sum(1, keepdim=True).clamp_min(1e-8)
    tail = (1 - inner) / 2
    first = (cumulative < tail).sum(1)
    last = (cumulative < 1 - tail).sum(1)
    return (last - first + 1).float()


def correlation(a: Tensor, b: Tensor) -> float:
    """Pearson's correlation of two 1-d tensors (0 when either is constant)."""
    a, b = a.double() - a.double().mean(), b.double() - b.double().mean()
    denominator = (a.norm() * b.norm()).item()
    return float((a * b).sum().item() / denominator) if denominator > 0 else 0.0


@torch.no_grad()
def measure(
    game: Any, classifier: nn.Module, num_samples: int = 5000, batch_size: int = 500, seed: int = 0
) -> dict[str, float]:
    """For a game with latent codes (``coded_samples``): ``categorical_accuracy`` of its first
    categorical code against the classes ``classifier`` sees in the samples, and for each
    continuous code j, ``c<j>_slant`` and ``c<j>_width``: its correlation with the samples'
    slant and width. Draws from its own generator (seeded ``seed``)."""
    generator = torch.Generator().manual_seed(seed)
    classifier = classifier.eval().to(game.device)
    codes, continuous, predicted, slants, widths = [], [], [], [], []
    for start in range(0, num_samples, batch_size):
        n = min(batch_size, num_samples - start)
        images, categorical, cont = game.coded_samples(n, generator)
        codes.append(categorical[:, 0].cpu())
        continuous.append(cont.cpu())
        predicted.append(classifier(images.to(game.device)).argmax(1).cpu())
        slants.append(slant(images.cpu()))
        widths.append(width(images.cpu()))
    cont_all, s, w = torch.cat(continuous), torch.cat(slants), torch.cat(widths)
    results = {"categorical_accuracy": cluster_accuracy(torch.cat(codes), torch.cat(predicted))}
    for j in range(cont_all.shape[1]):
        results[f"c{j + 1}_slant"] = correlation(cont_all[:, j], s)
        results[f"c{j + 1}_width"] = correlation(cont_all[:, j], w)
    return results
