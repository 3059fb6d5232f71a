"""Build the configured feature network and reference, and score a generator under a protocol."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig
from torch import Tensor, nn

from gans.data import cache
from gans.errors import ConfigError
from gans.metrics import classifier as clf
from gans.metrics.features import ClassifierFeatures, InceptionFeatures, inception_weights
from gans.metrics.protocol import Protocol
from gans.metrics.reference import dataset_size, derived_key, reference_features
from gans.metrics.suite import MetricSuite

logger = logging.getLogger(__name__)
FEATURES = ("auto", "inception", "classifier")
#: ``sample(n, generator=rng)`` -> n samples in [-1, 1]: a game's ``sample``
Sampler = Callable[..., Tensor]


def feature_kind(metrics: DictConfig, channels: int) -> str:
    kind = metrics.get("features", "auto")
    if kind not in FEATURES:
        raise ConfigError(f"metrics.features={kind} is unknown; allowed: {', '.join(FEATURES)}")
    if kind == "auto":
        return "classifier" if channels == 1 else "inception"
    return kind


#: classifiers shipped with gans (``make classifier`` retrains them); found by their cache key
PRETRAINED = Path(__file__).resolve().parent / "pretrained"


#: shipped classifiers already named on the console by this process
_ANNOUNCED: set[Path] = set()


def load_or_train_classifier(
    datamodule: Any, metrics: DictConfig, retrain: bool = False
) -> tuple[clf.Classifier, float, str]:
    """The domain classifier for this data: the one shipped with gans or cached for the same
    data and settings, else trained now (and cached). ``retrain`` skips both lookups.
    Returns (classifier, held-out accuracy, weights SHA-256)."""
    classes = int(datamodule.num_classes)
    if classes < 2:
        raise ConfigError(
            "metrics.features=classifier (the default for 1-channel data) needs a labeled dataset, "
            "but the data has no labels: use metrics.features=inception or metrics=none"
        )
    settings = dict(metrics.get("classifier") or {})
    key = derived_key("classifier", datamodule, settings=settings, arch=2)
    path = cache.cache_file(metrics.get("cache_dir") or cache.user_cache_dir(), ".", key)
    loaded = None
    shipped = PRETRAINED / path.name
    if not retrain and shipped.is_file():  # (cache.load would also look in the user cache)
        loaded = clf.load(shipped, key)
        if loaded is not None and shipped not in _ANNOUNCED:  # once, also when several use it
            _ANNOUNCED.add(shipped)
            logger.info(
                "metrics classifier: the one shipped with gans (%s, held-out accuracy %.4f)",
                path.name,
                loaded[1],
            )
    if loaded is None and not retrain:
        loaded = clf.load(path, key)
    if loaded is None:
        datamodule.setup("fit")
        if getattr(datamodule, "dataset", None) is None:
            raise ConfigError(
                "metrics.features=classifier trains on in-memory data: set data.in_memory=true"
            )
        images, labels = datamodule.dataset.images, datamodule.dataset.labels
        device = "cuda" if torch.cuda.is_available() else "cpu"
        model, accuracy = clf.timed_train(
            torch.as_tensor(images), labels, classes, device=device, **settings
        )
        clf.save(model.cpu(), accuracy, path, key)
        loaded = (model.cpu(), accuracy)
    model, accuracy = loaded
    return model, accuracy, clf.weights_digest(model)


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


def feature_network(cfg: DictConfig, datamodule: Any) -> tuple[nn.Module, dict[str, Any]]:
    """The feature network ``cfg.metrics.features`` names for this data (Inception, or the
    domain classifier trained on ``datamodule``) and what the protocol records of it."""
    metrics = cfg.metrics
    kind = feature_kind(metrics, int(cfg.data.get("channels", 3)))
    if kind == "inception":
        weights = inception_weights(
            metrics.get("inception_weights"), bool(metrics.get("download", 1))
        )
        return InceptionFeatures(weights), {}
    model, accuracy, digest = load_or_train_classifier(datamodule, metrics)
    features = ClassifierFeatures(model, digest, int(list(datamodule.sample_shape)[-1]))
    return features, {"classifier_accuracy": accuracy}


def build_evaluator(cfg: DictConfig, datamodule: Any, num_samples: int | None = None) -> Evaluator:
    """The evaluator ``cfg.metrics`` describes; fails here (at start-up) when the feature
    network cannot be had, e.g. Inception weights absent offline."""
    metrics = cfg.metrics
    features, extra = feature_network(cfg, datamodule)
    return Evaluator(
        features,
        datamodule,
        data_name=str(cfg.data.name),
        num_samples=int(num_samples or metrics.num_samples),
        num_reference=int(metrics.num_reference),
        metrics=tuple(metrics.compute),
        batch_size=int(metrics.batch_size),
        kid_subset_size=int(metrics.kid_subset_size),
        prdc_k=int(metrics.prdc_k),
        cache_dir=metrics.get("cache_dir"),
        extra=extra,
    )
