"""FID, KID, IS (torchmetrics) and precision/recall/density/coverage (prdc) on feature vectors.

The feature network runs once per image; torchmetrics' metrics receive its outputs through an
identity "feature extractor", so Inception is not run three times, and reference features can be
cached. Real-sample states survive :meth:`MetricSuite.reset` (they are the fixed reference).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable

import torch
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.inception import InceptionScore
from torchmetrics.image.kid import KernelInceptionDistance

from gans.errors import ConfigError, TrainingDiverged

METRICS = ("fid", "kid", "is", "prdc")
# KID and IS keep every feature vector by design; their warning says so on each construction.
warnings.filterwarnings(
    "ignore", message=r"Metric `(Kernel Inception Distance|InceptionScore)` will save"
)


class Passthrough(nn.Module):
    """The identity, posing as a torchmetrics feature extractor of ``num_features`` outputs."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = int(num_features)

    def forward(self, x: Tensor) -> Tensor:
        return x


def precision_recall_density_coverage(real: Tensor, fake: Tensor, k: int = 5) -> dict[str, float]:
    """Improved precision/recall (Kynkaanniemi et al. 2019) and density/coverage (Naeem et al.
    2020) with k-NN balls in feature space, by the authors' ``prdc`` package."""
    from prdc import compute_prdc

    with contextlib.redirect_stdout(io.StringIO()):  # prdc prints the sample counts
        values = compute_prdc(real.double().cpu().numpy(), fake.double().cpu().numpy(), k)
    return {name: float(value) for name, value in values.items()}


class MetricSuite:
    """Accumulate generated features/logits against a fixed set of reference features."""

    def __init__(
        self,
        feature_dim: int,
        metrics: tuple[str, ...] = METRICS,
        kid_subset_size: int = 1000,
        kid_subsets: int = 100,
        is_splits: int = 10,
        prdc_k: int = 5,
    ) -> None:
        unknown = set(metrics) - set(METRICS)
        if unknown:
            raise ConfigError(
                f"metrics.compute={sorted(unknown)} unknown; allowed: {', '.join(METRICS)}"
            )
        self.metrics = tuple(metrics)
        identity = Passthrough(feature_dim)
        self.fid = FrechetInceptionDistance(feature=identity, reset_real_features=False)
        self.kid = KernelInceptionDistance(
            feature=identity,
            subsets=kid_subsets,
            subset_size=kid_subset_size,
            reset_real_features=False,
        )
        self.inception_score = InceptionScore(feature=nn.Identity(), splits=is_splits)
        self.kid_subset_size = kid_subset_size
        self.prdc_k = prdc_k
        self.real: Tensor | None = None
        self.fake: list[Tensor] = []

    def to(self, device: torch.device | str) -> MetricSuite:
        for metric in (self.fid, self.kid, self.inception_score):
            metric.to(device)
        return self

    def set_reference(self, features: Tensor, shard: tuple[int, int] = (0, 1)) -> None:
        """Real features; under DDP each rank adds its ``shard`` (rank, world) so the synced
        states hold every reference sample exactly once."""
        rank, world = shard
        self.real = features
        mine = features[rank::world].to(self.fid.device)
        for chunk in mine.split(1000):
            self.fid.update(chunk, real=True)
            self.kid.update(chunk, real=True)

    def reset(self) -> None:
        for metric in (self.fid, self.kid, self.inception_score):
            metric.reset()
        self.fake = []

    def update(self, features: Tensor, logits: Tensor) -> None:
        """Add generated samples' features and logits; refuses NaN/Inf (which would reach the
        matrix square root of the FID and crash the process) with :class:`TrainingDiverged`."""
        if not (torch.isfinite(features).all() and torch.isfinite(logits).all()):
            raise TrainingDiverged(
                "the generated samples' features hold NaN or Inf (the generator has diverged); "
                "refusing to compute metrics on them"
            )
        self.fid.update(features, real=False)
        self.kid.update(features, real=False)
        self.inception_score.update(logits)
        self.fake.append(features.detach())

    def compute(self, gather: Callable[[Tensor], Tensor] | None = None) -> dict[str, float]:
        """Every configured metric; call on every rank (the torchmetrics states sync inside)."""
        results: dict[str, float] = {}
        fake = torch.cat(self.fake)
        if gather is not None:
            fake = gather(fake).reshape(-1, fake.shape[-1])
        with torch.random.fork_rng(devices=[]):  # KID and IS draw subsets: keep training's RNG
            torch.manual_seed(0)
            if "fid" in self.metrics:
                results["fid"] = float(self.fid.compute())
            if "kid" in self.metrics:
                real_count = int(self.real.shape[0]) if self.real is not None else 0
                self.kid.subset_size = min(self.kid_subset_size, fake.shape[0], real_count)
                mean, std = self.kid.compute()
                results["kid"], results["kid_std"] = float(mean), float(std)
            if "is" in self.metrics:
                mean, std = self.inception_score.compute()
                results["is"], results["is_std"] = float(mean), float(std)
        if "prdc" in self.metrics and self.real is not None:
            real = self.real[: fake.shape[0]]
            results.update(precision_recall_density_coverage(real, fake, self.prdc_k))
        return results
