"""The metric and health callbacks a run's config asks for."""

from __future__ import annotations

from typing import Any

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
from gans.metrics.measurement import Measurement


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


def evaluation(measurement: Measurement, game: Any) -> list[L.Callback]:
    """The metrics callbacks (and best-FID checkpoint) the run's ``metrics`` ask for, by what
    ``measurement`` says ``game``'s outputs are scored as (images, reconstruction, translation,
    coverage, stacked, none); builds the feature network now, so a missing one fails before
    training."""
    cfg, datamodule = measurement.cfg, measurement.data
    metrics = measurement.metrics
    every = int(metrics.get("every", 0) or 0)
    kind = measurement.kind(game)
    if every < 1 or kind == "none":
        return []
    if kind == "coverage":
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
    if kind == "translation":
        return [TranslationEvaluation(measurement.translation(), every)]
    if kind == "reconstruction":
        return [ReconstructionEvaluation(measurement.reconstruction(), every)]
    if kind == "stacked":
        stacked = metrics.get("stacked") or {}
        return [
            StackedModes(
                measurement.stacked(),
                every,
                num_samples=int(stacked.get("num_samples", 26_000)),
                batch_size=measurement.batch_size,
            )
        ]
    if len(datamodule.sample_shape) != 3:
        raise ConfigError(
            f"data.quality=images but data={cfg.data.get('name')} gives samples of shape "
            f"{tuple(datamodule.sample_shape)}; use metrics=none"
        )
    evaluator = measurement.images()
    evaluation = Evaluation(evaluator, every, measurement.class_aware(evaluator))
    callbacks: list[L.Callback] = [evaluation]
    classifier = measurement.codes(game)
    if classifier is not None:
        settings = metrics.get("disentanglement") or {}
        num_samples = int(settings.get("num_samples", 5000))
        callbacks.append(
            Disentanglement(classifier, every, num_samples, batch_size=measurement.batch_size)
        )
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
