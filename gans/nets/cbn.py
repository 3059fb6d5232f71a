"""Conditional batch normalization (de Vries et al. 2017, "Modulating early visual processing by
language"; Dumoulin et al. 2017): BatchNorm whose gain and bias depend on the condition."""

from __future__ import annotations

from torch import Tensor, nn

from gans.errors import ConfigError

#: how per-class gain and bias tables start (:class:`ConditionalBatchNorm2d`)
CBN_INITS = ("identity", "ortho")


class ConditionalBatchNorm2d(nn.Module):
    """(1 + gamma(c)) * BN(x) + beta(c), BN without its own affine parameters.

    ``num_classes`` > 0: c is a class label and gamma, beta are per-class rows of two embedding
    tables (SAGAN, Zhang et al. 2019). ``cond_dim`` > 0: c is a vector (BigGAN's shared class
    embedding concatenated with a chunk of z, Brock et al. 2019, Sec. 3) and gamma, beta are
    linear in it. Per-class tables start (``init``) at ``identity``: gamma = beta = 0, plain
    BatchNorm at initialisation, as the projection-discriminator code (sngan_projection's
    CategoricalConditionalBatchNormalization: gain 1, bias 0) and SAGAN; or at ``ortho``: each
    table an orthogonal matrix, so every class scales and shifts the features differently from
    the first step, as BigGAN-PyTorch (``init_weights`` initialises its ``nn.Embedding`` gains and
    biases orthogonally; ``layers.ccbn``: gain 1 + embedding). The linear maps are initialised
    (and spectrally normalised) with the rest of the network, as in BigGAN-PyTorch (a zero matrix
    has no spectral norm to divide by).
    """

    def __init__(
        self, channels: int, num_classes: int = 0, cond_dim: int = 0, init: str = "identity"
    ) -> None:
        super().__init__()
        if (int(num_classes) > 0) == (int(cond_dim) > 0):
            raise ConfigError("conditional BatchNorm needs exactly one of num_classes, cond_dim")
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.num_classes = int(num_classes)
        if self.num_classes:
            self.gain: nn.Module = nn.Embedding(self.num_classes, channels)
            self.bias: nn.Module = nn.Embedding(self.num_classes, channels)
            self.init_tables(init)
        else:
            self.gain = nn.Linear(int(cond_dim), channels, bias=False)
            self.bias = nn.Linear(int(cond_dim), channels, bias=False)

    def init_tables(self, init: str) -> None:
        """(Re)initialise the per-class gain and bias tables: ``identity`` or ``ortho``."""
        if init not in CBN_INITS:
            raise ConfigError(
                f"model.generator.cbn_init={init} is unknown; allowed: {', '.join(CBN_INITS)}"
            )
        for table in (self.gain, self.bias):
            (nn.init.zeros_ if init == "identity" else nn.init.orthogonal_)(table.weight)

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        gain = 1 + self.gain(c)[:, :, None, None]
        return self.norm(x) * gain + self.bias(c)[:, :, None, None]


class ConditionalSequential(nn.Sequential):
    """``nn.Sequential`` that hands the condition to the layers that take one."""

    def forward(self, x: Tensor, c: Tensor | None = None) -> Tensor:  # type: ignore[override]
        for layer in self:
            x = layer(x, c) if isinstance(layer, ConditionalBatchNorm2d) else layer(x)
        return x


def batch_norm(
    channels: int, num_classes: int = 0, cond_dim: int = 0, init: str = "identity"
) -> nn.Module:
    """Plain BatchNorm2d when unconditioned, else :class:`ConditionalBatchNorm2d`."""
    if num_classes or cond_dim:
        return ConditionalBatchNorm2d(channels, num_classes, cond_dim, init)
    return nn.BatchNorm2d(channels)
