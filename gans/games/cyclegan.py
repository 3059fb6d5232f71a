"""CycleGAN (Zhu et al. 2017): two generators G: A -> B and F: B -> A, two discriminators, and
cycle consistency F(G(a)) ~ a, G(F(b)) ~ b in place of paired supervision."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from gans.batches import Unpaired
from gans.errors import ConfigError
from gans.games.translation import TranslationGame
from gans.image_pool import ImagePool
from gans.losses import Objective

DIRECTIONS = ("AtoB", "BtoA")


def cycle_loss(reconstructed: Tensor, original: Tensor) -> Tensor:
    """||F(G(a)) - a||_1, the mean absolute error (Zhu et al. 2017, Eq. 2, one direction)."""
    return F.l1_loss(reconstructed, original)


def identity_loss(mapped: Tensor, original: Tensor) -> Tensor:
    """||G(b) - b||_1: a generator fed an image of its own target domain should leave it alone
    (Zhu et al. 2017, Sec. 5.2, after Taigman et al. 2017)."""
    return F.l1_loss(mapped, original)


class CycleGANGame(TranslationGame):
    """Per batch (a, b) of unpaired images, as the reference code orders it:

    1. one step of both generators on
       ``g_weight * (objective.g_loss(D_B(G(a))) + objective.g_loss(D_A(F(b))))
       + lambda_a * ||F(G(a)) - a||_1 + lambda_b * ||G(F(b)) - b||_1
       + lambda_identity * (lambda_b * ||G(b) - b||_1 + lambda_a * ||F(a) - a||_1)``
       (Zhu et al. 2017, Eq. 3 plus the identity term), the discriminators' gradients off;
    2. one step of both discriminators on ``d_weight * objective.d_loss`` each, D_A judging
       real a against F(b) and D_B real b against G(a), the fakes drawn through an image pool
       of past fakes per discriminator.

    Args:
        generator_ab, generator_ba: G and F.
        discriminator_a, discriminator_b: D_A (judges domain A) and D_B.
        lambda_a, lambda_b: cycle weights (10 each in the paper).
        lambda_identity: identity weight as a fraction of lambda (0.5; 0 turns it off).
        pool_size: past fakes kept per discriminator (50).
        others: see :class:`~gans.games.translation.TranslationGame`.
    """

    sampled = ("generator_ab", "generator_ba")
    forward_player = "generator_ab"

    def __init__(
        self,
        generator_ab: nn.Module,
        generator_ba: nn.Module,
        discriminator_a: nn.Module,
        discriminator_b: nn.Module,
        objective: Objective,
        optimizer: Mapping[str, Any],
        *,
        name: str = "cyclegan",
        in_channels: int,
        out_channels: int,
        image_size: int,
        lambda_a: float = 10.0,
        lambda_b: float = 10.0,
        lambda_identity: float = 0.5,
        pool_size: int = 50,
        d_weight: float = 1.0,
        g_weight: float = 2.0,
        held: int = 16,
        terms: Any = None,
        ema: Mapping[str, Any] | None = None,
        log_every: int = 50,
        check_finite_every: int = 1,
        seed: int = 0,
    ) -> None:
        super().__init__(
            {
                "generator_ab": generator_ab,
                "generator_ba": generator_ba,
                "discriminator_a": discriminator_a,
                "discriminator_b": discriminator_b,
            },
            optimizer,
            objective,
            name=name,
            in_channels=in_channels,
            out_channels=out_channels,
            image_size=image_size,
            d_weight=d_weight,
            g_weight=g_weight,
            held=held,
            stepped=("generators", "discriminators"),
            groups={
                "generators": ("generator_ab", "generator_ba"),
                "discriminators": ("discriminator_a", "discriminator_b"),
            },
            terms=terms,
            ema=ema,
            averaged=("generator_ab", "generator_ba"),
            tags={"generators": "g", "discriminators": "d"},
            log_every=log_every,
            check_finite_every=check_finite_every,
            seed=seed,
        )
        self.generator_ab: nn.Module
        self.generator_ba: nn.Module
        self.discriminator_a: nn.Module
        self.discriminator_b: nn.Module
        for key, value in (
            ("lambda_a", lambda_a),
            ("lambda_b", lambda_b),
            ("lambda_identity", lambda_identity),
            ("pool_size", pool_size),
        ):
            if float(value) < 0:
                raise ConfigError(f"model.{key}={value} must be >= 0")
        if float(lambda_identity) > 0 and int(in_channels) != int(out_channels):
            raise ConfigError(
                f"model.lambda_identity={lambda_identity} feeds each generator images of its "
                f"target domain, but A has {in_channels} channels and B {out_channels}: use "
                "model.lambda_identity=0 or the same data.channels_a and channels_b"
            )
        self.lambda_a = float(lambda_a)
        self.lambda_b = float(lambda_b)
        self.lambda_identity = float(lambda_identity)
        size = int(image_size)
        self.pool_a = ImagePool(int(pool_size), (int(in_channels), size, size))
        self.pool_b = ImagePool(int(pool_size), (int(out_channels), size, size))

    def play(self, batch: Unpaired) -> bool:
        if not isinstance(batch, Unpaired):
            raise ConfigError(
                f"model={self.name} trains on two unpaired domains: use data=unpaired_folder "
                f"(got {type(batch).__name__} batches)"
            )
        self.hold(batch)
        fake_b, fake_a = self.phase("Gmain", self.generator_step, batch.a, batch.b)
        self.phase("Dmain", self.discriminator_step, batch.a, batch.b, fake_a, fake_b)
        return True

    def generator_step(self, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
        with self.playing("generators"):
            fake_b = self.generator_ab(a)
            fake_a = self.generator_ba(b)
            adversarial = self.g_objective(self.discriminator_b(fake_b)) + self.g_objective(
                self.discriminator_a(fake_a)
            )
            cycle_a = cycle_loss(self.generator_ba(fake_b), a)
            cycle_b = cycle_loss(self.generator_ab(fake_a), b)
            loss = adversarial + self.lambda_a * cycle_a + self.lambda_b * cycle_b
            stats = {"loss/g_gan": adversarial, "loss/cycle_a": cycle_a, "loss/cycle_b": cycle_b}
            if self.lambda_identity > 0:
                same_b = identity_loss(self.generator_ab(b), b)
                same_a = identity_loss(self.generator_ba(a), a)
                identity = self.lambda_b * same_b + self.lambda_a * same_a
                loss = loss + self.lambda_identity * identity
                stats.update({"loss/identity_a": same_a, "loss/identity_b": same_b})
            self.record(**{"loss/g": loss}, **stats)
            self.update("generators", loss)
        return fake_b, fake_a

    def discriminator_step(self, a: Tensor, b: Tensor, fake_a: Tensor, fake_b: Tensor) -> None:
        with self.playing("discriminators"):
            past_a, past_b = self.pool_a.query(fake_a), self.pool_b.query(fake_b)
            loss_a = self.d_objective(self.discriminator_a(a), self.discriminator_a(past_a))
            loss_b = self.d_objective(self.discriminator_b(b), self.discriminator_b(past_b))
            self.record(**{"loss/d": loss_a + loss_b, "loss/d_a": loss_a, "loss/d_b": loss_b})
            self.update("discriminators", loss_a + loss_b, closes_iteration=True)

    def judged(self, source: Tensor, made: Tensor) -> dict[str, Tensor]:
        return {"discriminator_a": source, "discriminator_b": made}

    def translate(self, a: Tensor, *, ema: bool = True, direction: str = "AtoB") -> Tensor:
        """G(a) for ``AtoB``, F(a) for ``BtoA``."""
        if direction not in DIRECTIONS:
            raise ConfigError(f"direction={direction} is unknown; allowed: AtoB, BtoA")
        player = "generator_ab" if direction == "AtoB" else "generator_ba"
        return self.network(player, ema)(a)
