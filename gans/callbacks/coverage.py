"""Mode coverage of a 2-D mixture during training, with a scatter plot of the samples."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import lightning as L
import matplotlib
import numpy as np
import torch
from lightning.pytorch.utilities import rank_zero_only
from PIL import Image
from torch import Tensor

from gans.callbacks.periodic import EveryIterations
from gans.callbacks.samples import log_image
from gans.metrics.coverage import mode_coverage

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402  (after choosing the headless backend)


def scatter_plot(samples: Tensor, modes: Tensor, std: float, title: str = "") -> Image.Image:
    """Samples (blue dots) over the true modes (red circles of radius 3 std, the high-quality
    region), as an RGB image."""
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    points = samples.detach().float().cpu().numpy()
    ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.4, color="tab:blue", linewidths=0)
    for mx, my in modes.cpu().numpy():
        ax.add_patch(plt.Circle((mx, my), 3 * std, fill=False, color="tab:red", lw=0.8))
    span = float(modes.abs().max()) * 1.5 + 6 * std
    ax.set_xlim(-span, span)
    ax.set_ylim(-span, span)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


class MixtureCoverage(EveryIterations):
    """Every ``every`` iterations and at the end of training, draw ``num_samples`` points from
    the game (its EMA when enabled; eval mode; the same noise each time), score them with
    PacGAN's protocol (:func:`gans.metrics.coverage.mode_coverage`), log
    ``coverage/{modes,high_quality,reverse_kl}`` and write ``<dirpath>/scatter_XXXXXX.png``
    (also sent to image-capable loggers as ``scatter``).
    """

    def __init__(
        self,
        modes: Tensor,
        std: float,
        every: int,
        dirpath: str,
        num_samples: int = 2500,
        within: float = 3.0,
        seed: int = 1234,
    ) -> None:
        self.modes = modes
        self.std = float(std)
        super().__init__(every)
        self.dirpath = Path(dirpath)
        self.num_samples = int(num_samples)
        self.within = float(within)
        self.seed = int(seed)

    def samples(self, pl_module: Any) -> Tensor:
        rng = torch.Generator().manual_seed(self.seed)
        return pl_module.sample(self.num_samples, generator=rng).cpu()

    def run(self, trainer: L.Trainer, pl_module: Any) -> dict[str, float]:
        step = trainer.global_step
        points = self.samples(pl_module)
        results = mode_coverage(points, self.modes, self.std, self.within)
        if not torch.isfinite(points).all():
            results["high_quality"] = float("nan")
        self._publish(trainer, step, points, results)
        return results

    @rank_zero_only
    def _publish(
        self, trainer: L.Trainer, step: int, points: Tensor, results: dict[str, float]
    ) -> None:
        logged = {f"coverage/{k}": v for k, v in results.items()}
        title = (
            f"iteration {step}: {results['modes']:.0f}/{self.modes.shape[0]} modes, "
            f"{100 * results['high_quality']:.1f}% HQ, KL {results['reverse_kl']:.3f}"
        )
        image = scatter_plot(points[torch.isfinite(points).all(dim=1)], self.modes, self.std, title)
        self.dirpath.mkdir(parents=True, exist_ok=True)
        image.save(self.dirpath / f"scatter_{step:06d}.png")
        grid = torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1).float() / 255
        for logger in trainer.loggers:
            logger.log_metrics(logged, step=step)
            log_image(logger, "scatter", grid, step)
