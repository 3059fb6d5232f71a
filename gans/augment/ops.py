"""Per-sample image operations that are differentiable in the image, for augmentation.

Each takes a batch (B, C, H, W) and per-sample random draws, and is exact: integer shifts move
whole pixels (no interpolation), so an augmentation at probability 0 returns its input unchanged.
"""

from __future__ import annotations

import torch
from torch import Tensor


def shift_indices(size: int, shift: Tensor, mode: str) -> Tensor:
    """(B, size) source indices for moving each sample by ``shift`` pixels along one axis:
    ``zeros`` marks pixels shifted in from outside with -1, ``reflect`` mirrors them back."""
    idx = torch.arange(size, device=shift.device)[None, :] - shift[:, None]
    if mode == "reflect":
        period = 2 * (size - 1)
        idx = idx.remainder(period)
        return torch.where(idx >= size, period - idx, idx)
    return torch.where((idx >= 0) & (idx < size), idx, -1)


def translate(x: Tensor, dx: Tensor, dy: Tensor, mode: str = "zeros") -> Tensor:
    """Each sample moved by (dx, dy) whole pixels (right, down); uncovered pixels are 0
    (``zeros``, DiffAugment) or the mirror image (``reflect``, ADA)."""
    b, c, h, w = x.shape
    rows = shift_indices(h, dy, mode)  # (B, H)
    cols = shift_indices(w, dx, mode)  # (B, W)
    r = rows.clamp(min=0)[:, None, :, None].expand(b, c, h, w)
    out = x.gather(2, r)
    col = cols.clamp(min=0)[:, None, None, :].expand(b, c, h, w)
    out = out.gather(3, col)
    if mode == "zeros":
        valid = (rows >= 0)[:, None, :, None] & (cols >= 0)[:, None, None, :]
        out = out * valid.to(out.dtype)
    return out


def rotate90(x: Tensor, k: Tensor) -> Tensor:
    """Each sample rotated by k[i] * 90 degrees (square images)."""
    out = x
    for turns in (1, 2, 3):
        out = torch.where((k == turns)[:, None, None, None], x.rot90(turns, (2, 3)), out)
    return out


def gate(apply: Tensor, new: Tensor, old: Tensor) -> Tensor:
    """``new`` for the samples where ``apply`` is True, ``old`` (exactly) elsewhere."""
    return torch.where(apply[:, None, None, None], new, old)
