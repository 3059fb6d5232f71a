"""What a run is measured with, decided in one place from its config, data and game.

A :class:`Measurement` answers, for the training callbacks (:mod:`gans.callbacks.monitors`) and
for ``gans.evaluate`` alike: which kind of scores apply (:meth:`Measurement.kind`: images,
translation, reconstruction, coverage, stacked or none, from ``data.quality`` and whether the game
translates), and builds the scorers that prepare and score them: the image evaluator, its
class-aware part, the translation and reconstruction evaluators, and the domain classifier that
reads latent codes and stacked digits. The domain classifier is loaded here and nowhere else
(:meth:`Measurement.classifier`, once per data).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig
from torch import nn

from gans.data import cache
from gans.data.mnist import MNISTDataModule
from gans.errors import ConfigError
from gans.games.abilities import HasCodes
from gans.metrics import classifier as clf
from gans.metrics.conditional import ClassAwareEvaluator
from gans.metrics.evaluator import Evaluator
from gans.metrics.features import ClassifierFeatures, InceptionFeatures, inception_weights
from gans.metrics.reference import derived_key
from gans.metrics.translation import TranslationEvaluator

logger = logging.getLogger(__name__)
#: what ``data.quality`` may say a dataset is measured with
QUALITIES = ("images", "reconstruction", "translation", "coverage", "stacked", "none")
FEATURES = ("auto", "inception", "classifier")
#: the labelled datasets whose domain classifier can score a translation's target domain
DOMAINS = ("mnist",)
#: classifiers shipped with gans (``make classifier`` retrains them); found by their cache key
PRETRAINED = Path(__file__).resolve().parent / "pretrained"
#: shipped classifiers already named on the console by this process
_ANNOUNCED: set[Path] = set()


def feature_kind(metrics: DictConfig, channels: int) -> str:
    """``metrics.features`` resolved: ``auto`` is the domain classifier for 1-channel data and
    Inception otherwise."""
    kind = metrics.get("features", "auto")
    if kind not in FEATURES:
        raise ConfigError(f"metrics.features={kind} is unknown; allowed: {', '.join(FEATURES)}")
    if kind == "auto":
        return "classifier" if channels == 1 else "inception"
    return kind


def load_or_train_classifier(
    datamodule: Any, metrics: DictConfig, retrain: bool = False
) -> tuple[clf.Classifier, float, str]:
    """The domain classifier for this data: the one shipped with gans or cached for the same
    data and settings, else trained now (and cached). ``retrain`` skips both lookups.
    Returns (classifier, held-out accuracy, weights SHA-256). Reached through
    :meth:`Measurement.classifier`."""
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


class Measurement:
    """The scorers of one run (``cfg``: its composed config, ``datamodule``: its data).

    Args:
        num_samples: generated samples per image evaluation (default ``metrics.num_samples``).
    """

    def __init__(self, cfg: DictConfig, datamodule: Any, num_samples: int | None = None) -> None:
        self.cfg = cfg
        self.data = datamodule
        self.metrics = cfg.get("metrics") or {}
        self.num_samples = num_samples
        self.quality = cfg.data.get("quality", "images")
        if self.quality not in QUALITIES:
            raise ConfigError(
                f"data.quality={self.quality} is unknown; allowed: {', '.join(QUALITIES)}"
            )
        self._classifiers: list[tuple[Any, tuple[clf.Classifier, float, str]]] = []

    @property
    def batch_size(self) -> int:
        return int(self.metrics.get("batch_size", 500))

    def kind(self, game: Any) -> str:
        """What ``game``'s outputs are scored as: ``translation`` for a game that translates,
        else what the data says (``data.quality``)."""
        return "translation" if game.translates else self.quality

    def classifier(
        self, data: Any = None, retrain: bool = False
    ) -> tuple[clf.Classifier, float, str]:
        """(classifier, held-out accuracy, weights SHA-256) of the domain classifier of ``data``
        (default: the run's), loaded or trained once per data by this measurement."""
        data = self.data if data is None else data
        for known, loaded in self._classifiers:
            if known is data and not retrain:
                return loaded
        loaded = load_or_train_classifier(data, self.metrics, retrain=retrain)
        self._classifiers.append((data, loaded))
        return loaded

    def features(self) -> tuple[nn.Module, dict[str, Any]]:
        """The feature network ``metrics.features`` names for this data (Inception, or the
        domain classifier) and what the protocol records of it."""
        kind = feature_kind(self.metrics, int(self.cfg.data.get("channels", 3)))
        if kind == "inception":
            return self._inception(), {}
        model, accuracy, digest = self.classifier()
        features = ClassifierFeatures(model, digest, self.image_size)
        return features, {"classifier_accuracy": accuracy}

    @property
    def image_size(self) -> int:
        return int(list(self.data.sample_shape)[-1])

    def images(self) -> Evaluator:
        """FID/KID/IS/PRDC of generated samples against the data; fails here (at start-up) when
        the feature network cannot be had, e.g. Inception weights absent offline."""
        metrics = self.metrics
        features, extra = self.features()
        return Evaluator(
            features,
            self.data,
            data_name=str(self.cfg.data.name),
            num_samples=int(self.num_samples or metrics.num_samples),
            num_reference=int(metrics.num_reference),
            metrics=tuple(metrics.compute),
            batch_size=int(metrics.batch_size),
            kid_subset_size=int(metrics.kid_subset_size),
            prdc_k=int(metrics.prdc_k),
            cache_dir=metrics.get("cache_dir"),
            extra=extra,
        )

    def class_aware(self, evaluator: Evaluator) -> ClassAwareEvaluator | None:
        """Conditional accuracy and intra-class FID of ``evaluator``'s protocol, for a game
        conditioned on ``model.num_classes`` >= 2 classes (``metrics.per_class`` samples per
        class; 0 turns them off)."""
        classes = int(self.cfg.model.get("num_classes", 0) or 0)
        per_class = int(self.metrics.get("per_class", 0) or 0)
        if classes < 2 or per_class < 1:
            return None
        features = evaluator.features
        if isinstance(features, ClassifierFeatures):
            classifier = features
        else:
            model, _, digest = self.classifier()
            classifier = ClassifierFeatures(model, digest, self.image_size)
        return ClassAwareEvaluator(
            features,
            classifier,
            self.data,
            classes,
            per_class,
            evaluator.num_reference,
            evaluator.split,
            batch_size=self.batch_size,
        )

    def codes(self, game: Any) -> clf.Classifier | None:
        """For a game with categorical latent codes on labelled data: the domain classifier
        that reads its samples' classes (their disentanglement), else None."""
        latent = self.cfg.model.get("latent") or {}
        if not isinstance(game, HasCodes) or not latent.get("categorical"):
            return None
        if int(getattr(self.data, "num_classes", 0) or 0) < 2:
            return None
        return self.classifier()[0]

    def stacked(self) -> clf.Classifier:
        """The digits classifier that reads each channel of a stacked-digits sample."""
        digits = self.data.digits()
        digits.prepare_data()
        return self.classifier(digits)[0]

    def translation(self) -> TranslationEvaluator:
        """L1/PSNR/SSIM, FID/KID, cycle error and label preservation of a translator on its data's
        held-out split; fails at start-up when its feature network cannot be had."""
        metrics = self.metrics
        size = int(self.cfg.data.image_size)
        kind = feature_kind(metrics, int(self.cfg.data.get("channels", 3)))
        extra: dict[str, Any] = {}
        classifier = None
        if kind == "inception":
            features: nn.Module = self._inception()
        if kind == "classifier" or (metrics.get("translation") or {}).get("domain"):
            model, accuracy, digest = self.classifier(self._domain(size))
            classifier = model.eval().requires_grad_(False)
            extra["classifier_accuracy"] = accuracy
            if kind == "classifier":
                features = ClassifierFeatures(model, digest, size)
        return TranslationEvaluator(
            features,
            classifier,
            data_name=str(self.cfg.data.name),
            split=str(self.cfg.data.get("test_split") or "test"),
            batch_size=self.batch_size,
            max_images=int((metrics.get("translation") or {}).get("max_images", 10_000)),
            kid_subset_size=int(metrics.get("kid_subset_size", 1000)),
            extra=extra,
        )

    def reconstruction(self) -> TranslationEvaluator:
        """For autoencoders (``data.quality=reconstruction``): the translation scores with x as
        both the source and the target (L1, PSNR, SSIM, and FID/KID of the reconstructions
        against the held-out images: rFID), on the features the image metrics use."""
        features, extra = self.features()
        return TranslationEvaluator(
            features,
            None,
            data_name=str(self.cfg.data.name),
            split=f"holdout{int(self.cfg.data.get('holdout', 0) or 0)}",
            batch_size=self.batch_size,
            max_images=int((self.metrics.get("translation") or {}).get("max_images", 10_000)),
            kid_subset_size=int(self.metrics.get("kid_subset_size", 1000)),
            extra=extra,
        )

    def _inception(self) -> InceptionFeatures:
        """Inception's features (weights from ``metrics.inception_weights``, downloaded when
        ``metrics.download`` allows)."""
        weights = self.metrics.get("inception_weights")
        return InceptionFeatures(inception_weights(weights, bool(self.metrics.get("download", 1))))

    def _domain(self, image_size: int) -> Any:
        """The labelled data of ``metrics.translation.domain`` (``mnist``: the digits shipped
        with gans) at ``image_size``, whose classifier scores a translation's target domain."""
        domain = (self.metrics.get("translation") or {}).get("domain")
        if domain not in DOMAINS:
            raise ConfigError(
                f"metrics.translation.domain={domain}: translation metrics on the classifier's "
                f"features need a labelled domain ({', '.join(DOMAINS)}); for other images use "
                "metrics.features=inception or metrics=none"
            )
        return MNISTDataModule("builtin", image_size=image_size, channels=1, batch_size=64)
