"""A game that is not the GAN family, for the plumbing's and the callbacks' tests: one player
(``generator``) fitted by moment matching, with a term that keeps state in a buffer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from gans.batches import Batch
from gans.games.base import Game
from gans.losses import NonSaturating
from gans.terms import Term


class RunningMean(Term):
    """weight * ||mean(G(z)) - m||^2, m a running mean of the data's batches (decay ``decay``):
    a term whose state lives in a buffer."""

    name = "running_mean"
    player = "generator"

    def __init__(self, decay: float = 0.9, weight: float = 1.0, every: int = 1) -> None:
        super().__init__(weight, every)
        self.decay = float(decay)
        self.register_buffer("mean", torch.zeros(()))
        self.register_buffer("seen", torch.zeros((), dtype=torch.long))

    def forward(self, real: Tensor, fake: Tensor) -> Tensor:
        with torch.no_grad():
            first = self.seen == 0
            self.mean.copy_(
                torch.where(first, real.mean(), torch.lerp(real.mean(), self.mean, self.decay))
            )
            self.seen += 1
        return self.weight * (fake.mean() - self.mean) ** 2


class MomentMatching(Game):
    """G(z) = tanh(A z + b) reshaped to the data's shape; loss = (mean gap)^2 + (std gap)^2 of
    G's batch against the real batch, times ``scale`` (inf makes it diverge on purpose), plus
    the generator's terms."""

    sampled = ("generator",)

    def __init__(
        self,
        optimizer: Mapping[str, Any],
        data_shape: Sequence[int],
        latent_dim: int = 8,
        scale: float = 1.0,
        name: str = "toy",
        terms: Any = None,
        ema: Mapping[str, Any] | None = None,
        log_every: int = 1,
        check_finite_every: int = 1,
        seed: int = 0,
    ) -> None:
        shape = tuple(int(s) for s in data_shape)
        generator = nn.Sequential(
            nn.Linear(latent_dim, int(torch.tensor(shape).prod())),
            nn.Tanh(),
            nn.Unflatten(1, shape),
        )
        super().__init__(
            {"generator": generator},
            optimizer,
            terms=terms,
            ema=ema,
            averaged=("generator",),
            log_every=log_every,
            check_finite_every=check_finite_every,
            seed=seed,
        )
        self.name = name
        self.latent_dim = int(latent_dim)
        self.scale = float(scale)

    def play(self, batch: Batch) -> bool:
        self.phase("Gmain", self.fit, batch.real)
        return True

    def fit(self, real: Tensor) -> None:
        with self.playing("generator"):
            z = torch.randn(real.shape[0], self.latent_dim, device=self.device)
            fake = self.generator(z)
            loss = self.scale * ((fake.mean() - real.mean()) ** 2 + (fake.std() - real.std()) ** 2)
            self.record(**{"loss/generator": loss})
            for term in self.terms_of("generator"):
                loss = loss + term.gain * term(real, fake)
            self.update("generator", loss, closes_iteration=True)

    def generate(self, n, *, labels, inputs, generator, ema):  # noqa: ANN001, ANN201, D102
        z = (
            inputs
            if inputs is not None
            else torch.randn(n, self.latent_dim, generator=generator, device=generator.device)
        )
        return self.network("generator", ema)(z.to(self.device))


class UsersObjective(NonSaturating):
    """A user's own objective outside the package (the trust boundary's ``--config-dir`` test):
    the non-saturating loss under another name."""
