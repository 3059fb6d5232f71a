"""ProGAN (Karras et al. 2018) as a GAN-family game that grows its networks.

Training starts at 4x4 and doubles the resolution up to the data's: the first resolution trains
for ``stable_images`` real images, each later one first fades in over ``fade_images`` (alpha from
0 to 1 by images seen) and then trains stably for ``stable_images`` (600k each in the official
code: lod_training_kimg and lod_transition_kimg; the paper's text says 800k). The real batch is
served at the current resolution (2x2-averaged down; during a fade-in blended with its own
lower-resolution version by alpha, as the official ``process_reals``), and both players' Adam
states are reset at each new resolution (the official ``reset_opt_for_new_lod``). The progress is
a function of the real images seen, which are saved with the game: a run resumed mid-fade goes on
at the same alpha. Samples are upsampled (nearest) to the data's size, so grids and metrics see
full-size images throughout.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from lightning.pytorch.utilities.rank_zero import rank_zero_only
from torch import Tensor

from gans.batches import Batch
from gans.errors import ConfigError
from gans.games.gan import GANGame
from gans.nets.progan import Progressive

log = logging.getLogger(__name__)


class ProGANGame(GANGame):
    """:class:`~gans.games.gan.GANGame` with a progressive schedule.

    Args:
        schedule: ``{"fade_images", "stable_images"}`` (real images per phase).
        batch_size, iterations: the run's (``data.batch_size``, ``iterations``), to report at
            start a schedule that the run is too short to complete.
        **kwargs: :class:`~gans.games.gan.GANGame`'s.
    """

    def __init__(
        self,
        *args: Any,
        schedule: Mapping[str, int],
        batch_size: int | None = None,
        iterations: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        for name in ("generator", "discriminator"):
            if not isinstance(getattr(self, name), Progressive):
                raise ConfigError(
                    f"model=progan needs progressive networks: model.{name}._target_="
                    f"gans.nets.progan.{name.capitalize()}"
                )
        self.fade_images = int(schedule["fade_images"])
        self.stable_images = int(schedule["stable_images"])
        if self.fade_images < 1 or self.stable_images < 1:
            raise ConfigError("model.schedule.fade_images and stable_images must be >= 1")
        self.stages = len(self.generator.resolutions)
        self.images_seen = 0
        self.stage_now = -1
        needed = self.schedule_images()
        if batch_size and iterations and needed > int(batch_size) * int(iterations):
            end = self.progress(int(iterations) * int(batch_size))
            rank_zero_only(log.warning)(  # one of our lines, not a raw UserWarning
                f"model=progan: the progressive schedule needs {needed:,} real images to reach "
                f"{self.generator.resolutions[-1]}x{self.generator.resolutions[-1]} with alpha 1, "
                f"but iterations={iterations} x data.batch_size={batch_size} shows "
                f"{int(iterations) * int(batch_size):,}: the run ends at "
                f"{self.generator.resolutions[end[0]]}x{self.generator.resolutions[end[0]]}, "
                f"alpha {end[1]:.2f}; shorten "
                "model.schedule.fade_images/stable_images or raise iterations"
            )

    def schedule_images(self) -> int:
        """Real images until the last resolution is faded in and trained stably."""
        return self.stable_images + (self.stages - 1) * (self.fade_images + self.stable_images)

    def progress(self, images: int) -> tuple[int, float]:
        """(stage, alpha) after ``images`` real images: stage 0 for ``stable_images``, then per
        stage a fade (alpha rising linearly from 0) and a stable phase (alpha 1)."""
        if images < self.stable_images:
            return 0, 1.0
        period = self.fade_images + self.stable_images
        stage, into = divmod(images - self.stable_images, period)
        if stage + 1 >= self.stages:
            return self.stages - 1, 1.0
        return stage + 1, min(1.0, into / self.fade_images)

    def grow(self, stage: int, alpha: float) -> None:
        """Set the progress of G, its EMA copy and D."""
        for network in {self.generator, self.network("generator"), self.discriminator}:
            network.grow(stage, alpha)

    @property
    def resolution(self) -> int:
        return self.generator.resolution

    def at_resolution(self, x: Tensor) -> Tensor:
        """The real batch at the current resolution, faded in as G's output is."""
        factor = x.shape[-1] // self.resolution
        if factor > 1:
            x = F.avg_pool2d(x, factor)
        if self.generator.fading:
            low = F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode="nearest")
            x = low.lerp(x, self.generator.alpha)
        return x

    def capture_refusal(self) -> str | None:
        return (
            "ProGAN grows its networks and fades resolutions in on the host between iterations; "
            "a recorded iteration would keep one resolution and one alpha"
        )

    def play(self, batch: Batch) -> bool:
        stage, alpha = self.progress(self.images_seen)
        if stage != self.stage_now:
            if self.stage_now >= 0:  # a new resolution: fresh Adam moments for both players
                for name in self.stepped:
                    self.optimizer(name).optimizer.state.clear()
            self.stage_now = stage
        self.grow(stage, alpha)
        real = self.at_resolution(batch.real)
        closed = super().play(dataclasses.replace(batch, x=real))
        if closed:
            world = self.trainer.world_size if self._trainer is not None else 1
            self.images_seen += real.shape[0] * world
        return closed

    def generate(self, n: int, **kwargs: Any) -> Tensor:
        """G's samples at the current resolution, upsampled (nearest) to the data's size."""
        out = super().generate(n, **kwargs)
        full = self.generator.resolutions[-1]
        if out.shape[-1] < full:
            out = F.interpolate(out, size=(full, full), mode="nearest")
        return out

    def check_fits(self, shape: tuple[int, ...]) -> None:
        """The networks at full resolution fit the data (then the progress is restored)."""
        stage, alpha = self.generator.stage, self.generator.alpha
        self.grow(self.stages - 1, 1.0)
        try:
            super().check_fits(shape)
        finally:
            self.grow(stage, alpha)

    def on_train_start(self) -> None:
        super().on_train_start()
        self.grow(*self.progress(self.images_seen))

    def scalars(self) -> dict[str, Tensor]:
        """GANGame's scalars plus the resolution and fade-in alpha of the last iteration."""
        out = super().scalars()
        out["progress/resolution"] = torch.tensor(float(self.resolution), device=self.device)
        out["progress/alpha"] = torch.tensor(self.generator.alpha, device=self.device)
        return out

    def game_state(self) -> dict[str, Any]:
        return {**super().game_state(), "images_seen": self.images_seen, "stage": self.stage_now}

    def load_game_state(self, state: dict[str, Any]) -> None:
        super().load_game_state(state)
        self.images_seen = int(state.get("images_seen", 0))
        self.stage_now = int(state.get("stage", -1))
        self.grow(*self.progress(self.images_seen))
