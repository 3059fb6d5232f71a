"""What the image-to-image translation games share: samples are translations of source images,
held examples stand in for the latent draws other games sample from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from gans.batches import Paired, Unpaired
from gans.errors import ConfigError
from gans.games.base import Game, _terms
from gans.games.held import HeldImages
from gans.losses import Objective
from gans.nets.modes import evaluating


class TranslationGame(HeldImages, Game):
    """A game whose generator maps a source image to a target image.

    ``sample(n, inputs=a)`` translates ``a`` (eval mode: BatchNorm running statistics, no
    dropout; the EMA copy when averaged); ``sample(n)`` translates ``n`` of the source images
    held from the first training batch (persistent buffers, so a resumed run draws the same
    ones), which is what the health monitor's diversity check and the CLIs' default grids see.

    Args:
        players, optimizer, groups, ema, averaged, tags, log_every, check_finite_every, seed:
            the plumbing's (:class:`~gans.games.base.Game`).
        objective: the loss group's adversarial objective on D's logits.
        d_weight, g_weight: factors on ``objective.d_loss`` and ``objective.g_loss`` that make
            them the paper's (the config files say why each is what it is).
        in_channels, out_channels, image_size: source and target images.
        held: how many source images to hold for ``sample(n)``.
    """

    reconstructs = False
    translates = True
    #: True when trained on aligned pairs (grids show input | output | target)
    paired = False
    #: the player that maps A to B
    forward_player = "generator"

    def __init__(
        self,
        players: Mapping[str, nn.Module],
        optimizer: Mapping[str, Any],
        objective: Objective,
        *,
        name: str,
        in_channels: int,
        out_channels: int,
        image_size: int,
        d_weight: float,
        g_weight: float,
        held: int = 16,
        stepped: Sequence[str] | None = None,
        groups: Mapping[str, Sequence[str]] | None = None,
        terms: Any = None,
        ema: Mapping[str, Any] | None = None,
        averaged: Sequence[str] = (),
        tags: Mapping[str, str] | None = None,
        log_every: int = 50,
        check_finite_every: int = 1,
        seed: int = 0,
    ) -> None:
        if _terms(terms):
            raise ConfigError(
                f"model={name} takes no regularizer group (its terms are its own: "
                "model.lambda_*): use regularizer=none"
            )
        super().__init__(
            players,
            optimizer,
            stepped=stepped,
            groups=groups,
            ema=ema,
            averaged=averaged,
            tags=tags,
            log_every=log_every,
            check_finite_every=check_finite_every,
            seed=seed,
        )
        self.name = str(name)
        self.objective = objective
        self.d_weight = float(d_weight)
        self.g_weight = float(g_weight)
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.image_size = int(image_size)
        self.register_held(int(held), (self.in_channels, image_size, image_size))

    def hold(self, batch: Paired | Unpaired) -> None:
        """Keep the first batch's source images (once) for :meth:`sample` without inputs."""
        self.hold_images(batch.a)

    def d_objective(self, real: Tensor, fake: Tensor) -> Tensor:
        return self.d_weight * self.objective.d_loss(real, fake)

    def g_objective(self, fake: Tensor) -> Tensor:
        return self.g_weight * self.objective.g_loss(fake)

    def translate(self, a: Tensor, *, ema: bool = True, direction: str = "AtoB") -> Tensor:
        """The generator's output for source images ``a`` (no mode change: see :meth:`sample`)."""
        if direction != "AtoB":
            raise ConfigError(f"direction={direction}: model={self.name} translates AtoB only")
        return self.network(self.forward_player, ema)(a)

    def generate(
        self,
        n: int,
        *,
        labels: Tensor | None,
        inputs: Tensor | None,
        generator: torch.Generator,
        ema: bool,
    ) -> Tensor:
        if inputs is None:
            inputs = self.held_images(n)
        return self.translate(inputs.to(self.device), ema=ema)

    def check_fits(self, shape: tuple[int, ...]) -> None:
        """Raise a ConfigError unless the generator maps the data's source images to the data's
        target shape and every discriminator takes what it will see."""
        size = tuple(shape[1:])
        probe = torch.zeros(2, self.in_channels, *size, device=self.device)
        made = self.sample(2, inputs=probe)
        if tuple(made.shape[1:]) != tuple(shape):
            raise ConfigError(
                f"model={self.name} makes images of shape {tuple(made.shape[1:])} from the "
                f"data's sources but the targets have {tuple(shape)} (check data.channels_a/"
                "channels_b and data.image_size)"
            )
        for player, judged in self.judged(probe, made).items():
            network = getattr(self, player)
            try:
                with torch.no_grad(), evaluating(network):
                    network(judged)
            except RuntimeError as exc:
                smallest = getattr(network, "min_size", None)
                hint = f" (it takes at least {smallest}x{smallest})" if smallest else ""
                raise ConfigError(
                    f"model.{player} cannot judge {size[-2]}x{size[-1]} images{hint}: use "
                    f"fewer layers (model.{player}.n_layers) or a larger data.image_size"
                ) from exc

    def judged(self, source: Tensor, made: Tensor) -> dict[str, Tensor]:
        """What each discriminator is shown, by player, for sources and generated images."""
        raise NotImplementedError
