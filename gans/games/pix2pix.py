"""Pix2Pix (Isola et al. 2017): a conditional GAN on aligned pairs, G(a) judged by a PatchGAN
on concat(a, .), plus an L1 pull towards the target."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gans.batches import Paired
from gans.errors import ConfigError
from gans.games.translation import TranslationGame
from gans.losses import Objective


class Pix2PixGame(TranslationGame):
    """Per batch of pairs (a, b): fake = G(a) (dropout on: the paper's noise); one D step on
    ``d_weight * objective.d_loss(D(a, b), D(a, fake))``; one G step on
    ``g_weight * objective.g_loss(D(a, fake)) + lambda_l1 * ||b - fake||_1`` (Isola et al. 2017,
    Eq. 4: G* = arg min_G max_D L_cGAN + lambda L_L1), D's gradients off in the G step.

    Args:
        generator: a -> b (the U-Net).
        discriminator: concat(a, b) -> patch logits (the PatchGAN).
        lambda_l1: the L1 weight (100 in the paper).
        others: see :class:`~gans.games.translation.TranslationGame`.
    """

    sampled = ("generator",)
    paired = True

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        objective: Objective,
        optimizer: Mapping[str, Any],
        *,
        name: str = "pix2pix",
        in_channels: int,
        out_channels: int,
        image_size: int,
        lambda_l1: float = 100.0,
        d_weight: float = 0.5,
        g_weight: float = 1.0,
        held: int = 16,
        terms: Any = None,
        ema: Mapping[str, Any] | None = None,
        log_every: int = 50,
        check_finite_every: int = 1,
        seed: int = 0,
    ) -> None:
        super().__init__(
            {"generator": generator, "discriminator": discriminator},
            optimizer,
            objective,
            name=name,
            in_channels=in_channels,
            out_channels=out_channels,
            image_size=image_size,
            d_weight=d_weight,
            g_weight=g_weight,
            held=held,
            stepped=("discriminator", "generator"),
            terms=terms,
            ema=ema,
            averaged=("generator",),
            tags={"generator": "g", "discriminator": "d"},
            log_every=log_every,
            check_finite_every=check_finite_every,
            seed=seed,
        )
        self.generator: nn.Module
        self.discriminator: nn.Module
        if float(lambda_l1) < 0:
            raise ConfigError(f"model.lambda_l1={lambda_l1} must be >= 0")
        self.lambda_l1 = float(lambda_l1)

    def play(self, batch: Paired) -> bool:
        if not isinstance(batch, Paired):
            raise ConfigError(
                f"model={self.name} trains on aligned pairs: use data=paired_folder (got "
                f"{type(batch).__name__} batches)"
            )
        self.hold(batch)
        fake = self.generator(batch.a)
        self.phase("Dmain", self.discriminator_step, batch, fake)
        self.phase("Gmain", self.generator_step, batch, fake)
        return True

    def judged(self, source: Tensor, made: Tensor) -> dict[str, Tensor]:
        return {"discriminator": torch.cat([source, made], dim=1)}

    def judge(self, a: Tensor, b: Tensor) -> Tensor:
        """D's patch logits for the pair (a, b)."""
        return self.discriminator(torch.cat([a, b], dim=1))

    def discriminator_step(self, batch: Paired, fake: Tensor) -> None:
        with self.playing("discriminator"):
            real_logits = self.judge(batch.a, batch.b)
            fake_logits = self.judge(batch.a, fake.detach())
            loss = self.d_objective(real_logits, fake_logits)
            self.record(
                **{"loss/d": loss},
                d_real=self.objective.score(real_logits).mean(),
                d_fake=self.objective.score(fake_logits).mean(),
            )
            self.update("discriminator", loss)

    def generator_step(self, batch: Paired, fake: Tensor) -> None:
        with self.playing("generator"):
            adversarial = self.g_objective(self.judge(batch.a, fake))
            l1 = F.l1_loss(fake, batch.b)
            loss = adversarial + self.lambda_l1 * l1
            self.record(**{"loss/g": loss, "loss/g_gan": adversarial, "loss/l1": l1})
            self.update("generator", loss, closes_iteration=True)

    def health_signals(self) -> Tensor | None:
        keys = ("loss/d", "loss/g_gan", "d_real", "d_fake")
        if not self.objective.probabilistic or not all(k in self.stats for k in keys):
            return None
        return torch.stack([self.stats[k].float() for k in keys])
