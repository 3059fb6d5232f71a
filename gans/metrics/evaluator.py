"""Score a generator against a fixed reference of real features under one protocol
(:mod:`gans.metrics.measurement` builds the evaluator a run's config asks for)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from gans.metrics.protocol import Protocol
from gans.metrics.reference import dataset_size, reference_features
from gans.metrics.suite import MetricSuite

#: ``sample(n, generator=rng)`` -> n samples in [-1, 1]: a game's ``sample``
Sampler = Callable[..., Tensor]


class Evaluator:
    """Scores generators against a fixed reference under one :class:`Protocol`.

    Args:
        features: a feature network (``name``, ``weights``, ``resize`` attributes).
        datamodule: the training data (reference samples come from it).
        num_samples: generated samples per evaluation.
        num_reference: real samples in the reference (all if fewer).
        metrics: names from :data:`gans.metrics.suite.METRICS`.
    """

    def __init__(
        self,
        features: nn.Module,
        datamodule: Any,
        data_name: str,
        num_samples: int,
        num_reference: int,
        metrics: tuple[str, ...],
        batch_size: int = 500,
        kid_subset_size: int = 1000,
        prdc_k: int = 5,
        cache_dir: str | None = None,
        seed: int = 1234,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.features = features
        self.datamodule = datamodule
        self.num_samples = int(num_samples)
        self.num_reference = min(int(num_reference), dataset_size(datamodule))
        held = int(getattr(datamodule, "holdout", 0) or 0)  # the reference: the training part
        self.split = f"{data_name}/{getattr(datamodule, 'split', 'all')}" + (
            f"-holdout{held}" if held else ""
        )
        self.metrics = tuple(metrics)
        self.batch_size = int(batch_size)
        self.kid_subset_size = kid_subset_size
        self.prdc_k = prdc_k
        self.cache_dir = cache_dir
        self.seed = seed
        self.extra = extra or {}
        self.suite: MetricSuite | None = None

    def protocol(self, ema: bool) -> Protocol:
        return Protocol(
            features=self.features.name,
            weights=self.features.weights,
            generated=self.num_samples,
            reference=self.num_reference,
            split=self.split,
            resize=self.features.resize,
            ema=bool(ema),
        )

    def prepare(self, device: Any, shard: tuple[int, int] = (0, 1)) -> None:
        """Move the feature network to ``device`` and load (or compute) the reference."""
        self.features.to(device)
        real = reference_features(
            self.features, self.datamodule, self.num_reference, self.cache_dir, device
        )
        self.suite = MetricSuite(
            real.shape[1], self.metrics, self.kid_subset_size, prdc_k=self.prdc_k
        ).to(device)
        self.suite.set_reference(real.to(device), shard)

    def evaluate(
        self,
        sample: Sampler,
        device: Any,
        shard: tuple[int, int] = (0, 1),
        gather: Callable[[Tensor], Tensor] | None = None,
    ) -> dict[str, float]:
        """Generate this rank's share of ``num_samples`` and score all ranks' samples (the
        metric states sync inside ``compute``; ``gather`` collects the features for PRDC)."""
        if self.suite is None:
            self.prepare(device, shard)
        assert self.suite is not None
        self.suite.reset()
        self.add_samples(sample, shard)
        return self.suite.compute(gather)

    @torch.no_grad()
    def add_samples(self, sample: Sampler, shard: tuple[int, int] = (0, 1)) -> None:
        """Rank ``shard[0]``'s share of ``num_samples`` (every ``world``-th; randomness from
        ``seed + rank``: the same samples every call) from ``sample`` (a game's
        :meth:`~gans.games.base.Game.sample`), [-1, 1] mapped to [0, 1] with clamping, fed to the
        metric states."""
        assert self.suite is not None
        rank, world = shard
        mine = len(range(rank, self.num_samples, world))
        rng = torch.Generator().manual_seed(self.seed + rank)
        for start in range(0, mine, self.batch_size):
            n = min(self.batch_size, mine - start)
            images = (sample(n, generator=rng).clamp(-1, 1) + 1) / 2
            self.suite.update(*self.features(images))
