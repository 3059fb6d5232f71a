"""The metric and health callbacks a run's config asks for."""

from __future__ import annotations

import lightning as L
from omegaconf import DictConfig

from gans.callbacks.checkpoint import IterationCheckpoint
from gans.callbacks.coverage import MixtureCoverage
from gans.callbacks.disentanglement import Disentanglement
from gans.callbacks.evaluation import Evaluation
from gans.callbacks.health import TrainingHealth
from gans.callbacks.reconstructions import ReconstructionEvaluation
from gans.callbacks.stacked import StackedModes
from gans.callbacks.translation import TranslationEvaluation
from gans.errors import ConfigError
from gans.metrics.conditional import ClassAwareEvaluator
from gans.metrics.evaluator import Evaluator, build_evaluator, load_or_train_classifier
from gans.metrics.features import ClassifierFeatures
from gans.metrics.translation import build_reconstruction_evaluator, build_translation_evaluator

QUALITIES = ("images", "reconstruction", "translation", "coverage", "stacked", "none")


def health(cfg: DictConfig, evaluation: list[L.Callback] | None = None) -> list[TrainingHealth]:
    """The training-health monitor, unless ``health.enabled=false``; it reads the conditional
    accuracy of the run's ``evaluation`` callback when it computes one."""
    settings = dict(cfg.get("health") or {})
    if not settings.pop("enabled", False):
        return []
    scorer = next(
        (c for c in evaluation or [] if getattr(c, "class_aware", None) is not None), None
    )
    return [TrainingHealth(**settings, evaluation=scorer)]


def disentanglement(
    cfg: DictConfig, datamodule: L.LightningDataModule, every: int
) -> list[Disentanglement]:
    """For a latent with categorical codes on labelled data: their disentanglement, scored with
    the domain classifier (the one the classifier features use)."""
    latent = cfg.model.get("latent") or {}
    if not latent.get("categorical") or int(getattr(datamodule, "num_classes", 0) or 0) < 2:
        return []
    metrics = cfg.get("metrics") or {}
    classifier, _, _ = load_or_train_classifier(datamodule, metrics)
    settings = metrics.get("disentanglement") or {}
    return [
        Disentanglement(
            classifier,
            every,
            num_samples=int(settings.get("num_samples", 5000)),
            batch_size=int(metrics.get("batch_size", 500)),
        )
    ]


def class_aware(
    cfg: DictConfig, datamodule: L.LightningDataModule, evaluator: Evaluator
) -> ClassAwareEvaluator | None:
    """Conditional accuracy and intra-class FID for a class-conditional game on labelled data
    (``metrics.per_class`` samples per class; 0 turns them off)."""
    metrics = cfg.get("metrics") or {}
    classes = int(cfg.model.get("num_classes", 0) or 0)
    per_class = int(metrics.get("per_class", 0) or 0)
    if classes < 2 or per_class < 1:
        return None
    features = evaluator.features
    if not isinstance(features, ClassifierFeatures):
        model, _, digest = load_or_train_classifier(datamodule, metrics)
        classifier = ClassifierFeatures(model, digest, int(list(datamodule.sample_shape)[-1]))
    else:
        classifier = features
    return ClassAwareEvaluator(
        features,
        classifier,
        datamodule,
        classes,
        per_class,
        evaluator.num_reference,
        evaluator.split,
        batch_size=int(metrics.get("batch_size", 500)),
    )


def evaluation(cfg: DictConfig, datamodule: L.LightningDataModule) -> list[L.Callback]:
    """The metrics callback (and best-FID checkpoint) ``cfg.metrics`` asks for, by what the data
    says it is measured with (``data.quality``: images, reconstruction, translation, coverage,
    stacked, none);
    builds the feature network now, so a missing one fails before training."""
    metrics = cfg.get("metrics") or {}
    every = int(metrics.get("every", 0) or 0)
    quality = cfg.data.get("quality", "images")
    if quality not in QUALITIES:
        raise ConfigError(f"data.quality={quality} is unknown; allowed: {', '.join(QUALITIES)}")
    if every < 1 or quality == "none":
        return []
    if quality == "coverage":
        coverage = metrics.get("coverage") or {}
        return [
            MixtureCoverage(
                datamodule.modes,
                datamodule.std,
                every,
                cfg.paths.samples,
                num_samples=int(coverage.get("num_samples", 2500)),
                within=float(coverage.get("within", 3.0)),
            )
        ]
    if quality == "translation":
        size = int(list(datamodule.sample_shape)[-1])
        return [TranslationEvaluation(build_translation_evaluator(cfg, size), every)]
    if quality == "reconstruction":
        return [ReconstructionEvaluation(build_reconstruction_evaluator(cfg, datamodule), every)]
    if quality == "stacked":
        digits = datamodule.digits()
        digits.prepare_data()
        classifier, _, _ = load_or_train_classifier(digits, metrics)
        stacked = metrics.get("stacked") or {}
        return [
            StackedModes(
                classifier,
                every,
                num_samples=int(stacked.get("num_samples", 26_000)),
                batch_size=int(metrics.get("batch_size", 500)),
            )
        ]
    if len(datamodule.sample_shape) != 3:
        raise ConfigError(
            f"data.quality=images but data={cfg.data.get('name')} gives samples of shape "
            f"{tuple(datamodule.sample_shape)}; use metrics=none"
        )
    evaluator = build_evaluator(cfg, datamodule)
    evaluation = Evaluation(evaluator, every, class_aware(cfg, datamodule, evaluator))
    callbacks: list[L.Callback] = [evaluation, *disentanglement(cfg, datamodule, every)]
    if metrics.get("best_checkpoint", True) and "fid" in metrics.get("compute", []):
        key = evaluation.evaluator.protocol(cfg.ema.enabled).key("fid")
        callbacks.append(
            IterationCheckpoint(
                dirpath=cfg.paths.checkpoints,
                filename="best-fid",
                monitor=key,
                mode="min",
                save_top_k=1,
                every_n_train_steps=every,
                save_last=False,
                auto_insert_metric_name=False,
                enable_version_counter=False,
            )
        )
    return callbacks
