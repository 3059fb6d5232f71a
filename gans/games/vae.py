"""The variational autoencoder as a game of one: encoder and decoder minimise one loss together
(the notes' lab 01; Kingma & Welling 2014)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gans.batches import Batch
from gans.errors import ConfigError
from gans.games.abilities import Traverses
from gans.games.base import Game
from gans.prior import LatentPrior


def kl_per_dimension(mu: Tensor, log_var: Tensor) -> Tensor:
    """KL(N(mu, sigma^2) || N(0, 1)) per latent dimension, averaged over the batch:
    -1/2 (1 + log sigma^2 - mu^2 - sigma^2) (the notes' regularization term, negated)."""
    return (-0.5 * (1 + log_var - mu.pow(2) - log_var.exp())).mean(dim=0)


#: how the per-pixel binary cross-entropies of one image are combined
RECONSTRUCTIONS = ("sum", "mean")


def vae_loss(
    logits: Tensor,
    x01: Tensor,
    mu: Tensor,
    log_var: Tensor,
    beta: float,
    reconstruction: str = "sum",
) -> tuple[Tensor, Tensor, Tensor]:
    """(loss, reconstruction, KL per dimension): loss = beta * R + sum_j KL_j, averaged over the
    batch, to minimise. R is the binary cross-entropy between x in [0, 1] and sigmoid(logits)
    summed over an image's pixels (``sum``: with beta = 1 the negative ELBO of a Bernoulli
    decoder, Kingma & Welling 2014 eq. 10) or averaged over them (``mean``: the notes' lab 01,
    there with beta = 10). The returned reconstruction is R."""
    bce = F.binary_cross_entropy_with_logits(logits, x01, reduction="none").flatten(1)
    per_image = bce.sum(dim=1) if reconstruction == "sum" else bce.mean(dim=1)
    r = per_image.mean()
    kl = kl_per_dimension(mu, log_var)
    return beta * r + kl.sum(), r, kl


class VAEGame(Traverses, Game):
    """One step per batch on the VAE loss; samples are sigmoid(decoder(z)), z ~ N(0, I), mapped
    to [-1, 1] like every game's.

    Args:
        encoder: x -> (mu, log sigma^2).
        decoder: z -> pixel logits.
        optimizer: the ``optimizer`` group; ``optimizer.vae`` steps encoder and decoder together
            (logged as ``lr/vae``, ``grad_norm/vae``).
        latent: ``{"dim", "prior"}`` (the prior must be ``normal``: the KL term assumes it).
        beta: the reconstruction weight (Kingma & Welling: 1 with ``reconstruction=sum``; the
            notes' lab 01: 10 with ``mean``).
        reconstruction: ``sum`` or ``mean`` of the per-pixel cross-entropies (:func:`vae_loss`).
        active_threshold: a latent dimension with mean KL above this is an active unit.
    """

    sampled = ("decoder", "encoder")  # both in eval mode while sampling or reconstructing
    reconstructs = True

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        optimizer: Mapping[str, Any],
        latent: Mapping[str, Any],
        *,
        name: str = "vae",
        beta: float = 1.0,
        reconstruction: str = "sum",
        active_threshold: float = 0.01,
        terms: Any = None,
        ema: Mapping[str, Any] | None = None,
        log_every: int = 50,
        check_finite_every: int = 1,
        seed: int = 0,
    ) -> None:
        super().__init__(
            {"encoder": encoder, "decoder": decoder},
            optimizer,
            stepped=("vae",),
            groups={"vae": ("encoder", "decoder")},
            terms=terms,
            ema=ema,
            averaged=("decoder",),
            log_every=log_every,
            check_finite_every=check_finite_every,
            seed=seed,
        )
        self.encoder: nn.Module
        self.decoder: nn.Module
        self.name = str(name)
        self.prior = LatentPrior(latent["dim"], "normal")
        self.beta = float(beta)
        if reconstruction not in RECONSTRUCTIONS:
            raise ConfigError(
                f"model.reconstruction={reconstruction} is not one of {', '.join(RECONSTRUCTIONS)}"
            )
        self.reconstruction = reconstruction
        self.active_threshold = float(active_threshold)
        self._range_checked = False

    def play(self, batch: Batch) -> bool:
        if not self._range_checked:
            self.check_range(batch.real)
        self.phase("VAEmain", self.vae_step, batch.real)
        return True

    def check_range(self, x: Tensor) -> None:
        """Refuse data outside [-1, 1] (once, on the first batch): the BCE reconstruction term
        needs targets (x + 1) / 2 in [0, 1], and silently trains on garbage otherwise."""
        low, high = x.min().item(), x.max().item()
        if low < -1 - 1e-4 or high > 1 + 1e-4:
            raise ConfigError(
                f"model={self.name}: the data's values span [{low:.3g}, {high:.3g}] after its "
                "transform, but the VAE's binary cross-entropy needs images in [-1, 1] (mapped "
                "to [0, 1] targets): use image data without extra normalisation"
            )
        self._range_checked = True

    def vae_step(self, x: Tensor) -> None:
        """Encode, reparameterise z = mu + eps * exp(log sigma^2 / 2), decode, one step of both."""
        mu, log_var = self.encoder(x)
        z = mu + torch.randn_like(mu) * (0.5 * log_var).exp()
        loss, reconstruction, kl = vae_loss(
            self.decoder(z), (x + 1) / 2, mu, log_var, self.beta, self.reconstruction
        )
        self.record(**{"loss/vae": loss, "reconstruction": reconstruction}, kl_per_dim=kl)
        self.update("vae", loss, closes_iteration=True)

    def scalars(self) -> dict[str, Tensor]:
        """Loss, reconstruction, KL, active units and the KL of each latent dimension."""
        scalars = {k: v for k, v in self.stats.items() if v.dim() == 0}
        per_dim = self.stats.get("kl_per_dim")
        if per_dim is not None:  # derived here, every log_every, not on every step
            scalars["kl"] = per_dim.sum()
            scalars["active_units"] = (per_dim > self.active_threshold).sum()
            scalars.update((f"kl_per_dim/{j}", v) for j, v in enumerate(per_dim))
        return scalars

    @torch.no_grad()
    def traversal(self, steps: int = 9, span: float = 3.0) -> Tensor:
        """Latent traversal: for each latent dimension j (a row), decode z = 0 except z_j swept
        over [-span, span] in ``steps`` values (a column each): (d_z * steps, C, H, W)."""
        dim = self.prior.dim
        z = torch.zeros(dim, steps, dim)
        values = torch.linspace(-span, span, steps)
        for j in range(dim):
            z[j, :, j] = values
        return self.sample(dim * steps, inputs=z.reshape(dim * steps, dim))

    def generate(
        self,
        n: int,
        *,
        labels: Tensor | None,
        inputs: Tensor | None,
        generator: torch.Generator,
        ema: bool,
    ) -> Tensor:
        """sigmoid(decoder(z)) * 2 - 1 for z ~ N(0, I), or for ``inputs``: latent vectors
        (n, d_z), or images to reconstruct through the encoder's mean."""
        if inputs is None:
            z = self.prior.sample(n, generator.device, generator=generator)
        elif inputs.dim() == 2 and inputs.shape[1] == self.prior.dim:
            z = inputs
        else:
            z = self.encoder(inputs.to(self.device))[0]
        return torch.sigmoid(self.network("decoder", ema)(z.to(self.device))) * 2 - 1
