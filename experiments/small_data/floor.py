"""The FID a generator that reproduces its training images exactly would score: N draws with
replacement from a training subset against the first N of the full data (the reference that
``gans.evaluate num_samples=N metrics.num_reference=N`` uses), same features and settings.

    python experiments/small_data/floor.py <subset folder> <full folder> <cache> <N>

Prints the FID on its last line.
"""

from __future__ import annotations

import sys

import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf

from gans.metrics.measurement import Measurement
from gans.metrics.reference import extract, real_images
from gans.metrics.suite import MetricSuite
from gans.train import CONF_DIR


def datamodule(root: str, cache: str):
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(
            config_name="train",
            overrides=["paths.run_dir=/tmp/small-data-floor", "data=image_folder",
                       f"data.root={root}", "data.channels=1", "data.image_size=32",
                       f"data.cache_dir={cache}", f"metrics.cache_dir={cache}"],
        )  # fmt: skip
    OmegaConf.resolve(cfg)
    dm = instantiate(cfg.data.datamodule)
    dm.prepare_data()
    dm.setup("fit")
    return cfg, dm


def main(subset: str, full: str, cache: str, n: int) -> float:
    cfg, full_dm = datamodule(full, f"{cache}/n10000")
    evaluator = Measurement(cfg, full_dm).images()
    reference, _ = extract(evaluator.features, real_images(full_dm, n), "cpu")
    _, subset_dm = datamodule(subset, f"{cache}/floor-{abs(hash(subset))}")
    features, logits = extract(evaluator.features, real_images(subset_dm, 10**9), "cpu")
    draw = torch.randint(features.shape[0], (n,), generator=torch.Generator().manual_seed(0))
    suite = MetricSuite(features.shape[1], ("fid",), min(1000, n), prdc_k=cfg.metrics.prdc_k)
    suite.set_reference(reference[:n])
    suite.update(features[draw], logits[draw])
    fid = suite.compute()["fid"]
    print(fid)
    return fid


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
