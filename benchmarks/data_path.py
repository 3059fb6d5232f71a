"""Iterations/s of one DCGAN fed by the uint8 in-memory fast path vs a per-sample DataLoader.

    python benchmarks/data_path.py [--root ../shared/data/mnist-test/images] [--iterations 200]

Same model, data, seed and batch size; only ``data.in_memory`` changes. The streamed run decodes
every PNG each time it is drawn with ``--workers`` processes, as a hand-written torchvision
``ImageFolder`` + ``DataLoader`` loop does. The first (in-memory) run's decode time is excluded:
a warm-up run fills the cache first.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("WANDB_MODE", "disabled")

from hydra import compose, initialize_config_dir  # noqa: E402

from gans.train import CONF_DIR, train  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def run(
    root: str, in_memory: bool, iterations: int, workers: int, cache: str, extra: list[str]
) -> float:
    overrides = [
        "data=image_folder",
        f"data.root={root}",
        "data.channels=1",
        "data.image_size=32",
        f"data.in_memory={str(in_memory).lower()}",
        f"data.num_workers={workers}",
        f"data.cache_dir={cache}",
        f"iterations={iterations}",
        "logger=none",
        "sample_every=0",
        "checkpoint_every=0",
        "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false",
        f"paths.run_dir={tempfile.mkdtemp()}",
        *extra,
    ]
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
    return train(cfg)["iterations_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=str(REPO.parent / "shared/data/mnist-test/images"))
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--width", type=int, default=32, help="DCGAN base channels (64 = paper)")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides, e.g. trainer=gpu")
    args = parser.parse_args()
    extra = [
        f"model.generator.base_channels={args.width}",
        f"model.discriminator.base_channels={args.width}",
        *args.overrides,
    ]
    cache = tempfile.mkdtemp()
    run(args.root, True, 5, args.workers, cache, extra)  # decode once into the cache
    fast = run(args.root, True, args.iterations, args.workers, cache, extra)
    streamed = run(args.root, False, args.iterations, args.workers, cache, extra)
    print(f"{'data path':<38} {'it/s':>8}")
    print(f"{'in memory (uint8 cache, batch gather)':<38} {fast:8.2f}")
    print(f"{f'per-sample DataLoader, {args.workers} workers':<38} {streamed:8.2f}")
    print(f"speed-up: {fast / streamed:.2f}x  (DCGAN width {args.width}, 32x32, batch 64)")


if __name__ == "__main__":
    main()
