"""PacGAN's packing (Lin et al. 2018, Sec. 3): the discriminator judges m samples at once."""

from __future__ import annotations

from torch import Tensor

from gans.errors import ConfigError


def pack(x: Tensor, m: int) -> Tensor:
    """Concatenate each run of ``m`` consecutive samples along the first feature axis:
    (B, C, ...) -> (B / m, m * C, ...), e.g. points (B, 2) -> (B / m, 2m) and images
    (B, 3, H, W) -> (B / m, 3m, H, W), as PacGAN stacks images channel-wise."""
    if m == 1:
        return x
    if x.shape[0] % m:
        raise ConfigError(
            f"model.pack={m} needs batches divisible by {m}, got {x.shape[0]}: "
            "set data.batch_size to a multiple of model.pack"
        )
    return x.reshape(x.shape[0] // m, m * x.shape[1], *x.shape[2:])
