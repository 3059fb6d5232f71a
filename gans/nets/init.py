"""Weight initialisation schemes."""

from __future__ import annotations

from torch import nn


def dcgan_init(module: nn.Module) -> None:
    """Radford et al. 2016, Sec. 4: weights ~ N(0, 0.02); BatchNorm scale ~ N(1, 0.02), shift 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def spectral_norm_all(module: nn.Module) -> nn.Module:
    """Spectral normalization (Miyato et al. 2018) of every Conv/Linear weight, through torch's
    parametrization: W / sigma(W), sigma estimated by one power iteration per training forward."""
    from torch.nn.utils.parametrizations import spectral_norm

    for m in list(module.modules()):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            spectral_norm(m)
    return module
