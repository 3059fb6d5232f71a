"""`python -m gans.train_classifier data=mnist`: train (or show the cached) domain classifier whose
features the metrics use with ``metrics.features=classifier``. Training also happens on first
use by ``gans.train``/``gans.evaluate``; this command does it ahead of time and reports accuracy.
``+retrain=true`` trains even when a shipped or cached one exists (``make classifier`` retrains
the ones shipped in ``gans/metrics/pretrained``).
"""

from __future__ import annotations

import time

import hydra
from omegaconf import DictConfig, OmegaConf

from gans import restore
from gans.cli import command, reports_config_errors
from gans.configs import CONF_DIR
from gans.metrics.measurement import Measurement


def train_classifier(cfg: DictConfig) -> dict[str, object]:
    """Load or train the classifier for ``cfg.data``; returns its accuracy and checksum."""
    cfg = cfg.copy()
    OmegaConf.resolve(cfg)
    datamodule = restore.datamodule(cfg)
    started = time.perf_counter()
    retrain = bool(cfg.get("retrain", False))
    _, accuracy, digest = Measurement(cfg, datamodule).classifier(retrain=retrain)
    return {
        "data": cfg.data.name,
        "accuracy": accuracy,
        "sha256": digest,
        "seconds": time.perf_counter() - started,
    }


@command
@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="train")
@reports_config_errors
def main(cfg: DictConfig) -> None:
    result = train_classifier(cfg)
    print(
        f"classifier for data={result['data']}: held-out accuracy {result['accuracy']:.4f}, "
        f"weights sha256 {str(result['sha256'])[:8]} ({result['seconds']:.0f} s, cached after "
        "the first call)"
    )


if __name__ == "__main__":
    main()
