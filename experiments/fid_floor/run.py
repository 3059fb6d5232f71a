"""The real-vs-real floor of each metric: two disjoint halves of the real data, same N each.

    python experiments/fid_floor/run.py                      # digits
    python experiments/fid_floor/run.py data=image_folder \\
        data.root=../shared/data/mnist-test/images data.channels=1 model.num_classes=10

A generator cannot be expected to score below this floor at that N; compare it with
``python -m gans.evaluate ckpt=... num_samples=<N> metrics.num_reference=<N>``, whose reference is
exactly the first half used here. ``--out=<file>`` writes the JSON there instead of
``floor-<data>.json`` beside this script.
Uses the same feature network, cache and settings as training (``metrics.*`` overrides apply).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf

from gans.metrics.measurement import Measurement
from gans.metrics.reference import extract, real_images
from gans.metrics.suite import MetricSuite
from gans.train import CONF_DIR


def main(overrides: list[str], out: Path | None = None) -> dict:
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="train", overrides=["paths.run_dir=/tmp/fid-floor", *overrides])
    OmegaConf.resolve(cfg)
    datamodule = instantiate(cfg.data.datamodule)
    datamodule.prepare_data()
    datamodule.setup("fit")
    started = time.perf_counter()
    evaluator = Measurement(cfg, datamodule).images()
    # the same fixed order as the reference statistics: the first half IS the reference that
    # `gans.evaluate metrics.num_reference=<half> num_samples=<half>` compares a generator with
    features, logits = extract(evaluator.features, real_images(datamodule, 10**9), "cpu")
    half = features.shape[0] // 2
    suite = MetricSuite(
        features.shape[1], tuple(cfg.metrics.compute), min(1000, half), prdc_k=cfg.metrics.prdc_k
    )
    suite.set_reference(features[:half])
    suite.update(features[half : 2 * half], logits[half : 2 * half])
    scores = suite.compute()
    protocol = evaluator.protocol(ema=False)
    record = {
        "data": cfg.data.name,
        "root": str(cfg.data.get("root", "")),
        "n_each": half,
        "features": protocol.features,
        "weights": protocol.weights,
        "resize": protocol.resize,
        **evaluator.extra,
        "scores": scores,
        "seconds": time.perf_counter() - started,
    }
    print(json.dumps(record, indent=2))
    out = out or Path(__file__).parent / f"floor-{cfg.data.name}.json"
    out.write_text(json.dumps(record, indent=2) + "\n")
    return record


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    given = [a for a in sys.argv[1:] if a.startswith("--out=")]
    main([a for a in sys.argv[1:] if a not in given], Path(given[-1][6:]) if given else None)
