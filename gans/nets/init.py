"""Weight initialisation schemes."""

from __future__ import annotations

from torch import nn

from gans.errors import ConfigError


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


def spectral_norm_all(module: nn.Module, embeddings: bool = False) -> nn.Module:
    """Spectral normalization (Miyato et al. 2018) of every Conv/Linear weight (and, with
    ``embeddings``, every embedding table), through torch's parametrization: W / sigma(W), sigma
    estimated by one power iteration per training forward."""
    from torch.nn.utils.parametrizations import spectral_norm

    kinds: tuple[type[nn.Module], ...] = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
    for m in list(module.modules()):
        if isinstance(m, kinds + ((nn.Embedding,) if embeddings else ())):
            spectral_norm(m)
    return module


INITS = ("ortho", "N02", "xavier", "dcgan", "default")


def initialise(module: nn.Module, kind: str, embeddings: bool = False) -> None:
    """BigGAN's choices (Brock et al. 2019, Sec. 3: orthogonal, Saxe et al. 2014; BigGAN-PyTorch
    ``--G_init``: ortho, N02 = N(0, 0.02), xavier) for every conv and linear weight (and, with
    ``embeddings``, every embedding table, as BigGAN-PyTorch's and StudioGAN's ``init_weights``),
    biases 0; ``dcgan`` is :func:`dcgan_init` (N02 for transposed convolutions too, BatchNorm
    scales N(1, 0.02)); ``default`` keeps PyTorch's. PacGAN's 2-D networks use N02 (Lin et al.
    2018, code)."""
    if kind not in INITS:
        raise ConfigError(f"model.*.init={kind} is unknown; allowed: {', '.join(INITS)}")
    if kind == "default":
        return
    if kind == "dcgan":
        dcgan_init(module)
        return
    kinds: tuple[type[nn.Module], ...] = (nn.Conv2d, nn.Linear)
    for m in module.modules():
        if isinstance(m, kinds + ((nn.Embedding,) if embeddings else ())):
            if kind == "ortho":
                nn.init.orthogonal_(m.weight)
            elif kind == "N02":
                nn.init.normal_(m.weight, 0.0, 0.02)
            else:
                nn.init.xavier_uniform_(m.weight)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
