"""Stacked-MNIST mode count: real stacked digits (the classifier's ceiling), DCGAN, and DCGAN with
PacGAN's packing, on the 10,000 real MNIST test digits in ../shared/data/mnist-test.

    python experiments/mode_collapse/stacked.py [--iterations 5000] [--seeds 3] [--jobs 2]

Runs that ran to their end are skipped (rerun to resume). Writes stacked.json and the README's
stacked-MNIST table: per seed and mean, the mode count and KL, and how sure the classifier is of
its readings (mean softmax confidence per channel; share of images read with >= 0.9 in all three
channels, and the modes among those), since blurry channels are read noisily and inflate the
count.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir

from gans.data.stacked_mnist import StackedMNISTDataModule
from gans.data.transforms import to_signed_unit
from gans.metrics.measurement import Measurement
from gans.metrics.stacked import digit_readings, mode_count, stacked_scores
from gans.train import CONF_DIR

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import provenance  # noqa: E402
from finished import finished  # noqa: E402
from markers import replace_between  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
RAW = ROOT.parent / "shared" / "data" / "mnist-test" / "raw"
START, END = "<!-- stacked:start -->", "<!-- stacked:end -->"
# DCGAN with 16 base channels (a quarter of the paper's width, the default run's) to fit the CPU
# budget; PacGAN's stacked-MNIST experiment is DCGAN with a packed discriminator.
NETS = ["model.generator.base_channels=16", "model.discriminator.base_channels=16"]
# A packed D judges data.batch_size / pack inputs; PacGAN's code keeps DCGAN's 64 D inputs per
# step, each of `pack` images, so the packed run draws 128 images per step.
VARIANTS = {
    "dcgan": ["model=dcgan", *NETS],
    "dcgan_pack2": ["model=dcgan", *NETS, "model.pack=2", "data.batch_size=128"],
}


def mnist_root(runs: Path) -> Path:
    """torchvision's layout <root>/MNIST/raw with the test split's .gz files (unpacked on use)."""
    raw = runs / "mnist" / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for f in RAW.glob("t10k-*.gz"):
        if not (raw / f.name).exists():
            shutil.copy(f, raw / f.name)
    return runs / "mnist"


def real_count(root: Path, cache: Path) -> dict[str, float]:
    """The protocol on 26,000 real stacked images: what a perfect generator would score."""
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose("train", ["data=stacked_mnist", f"metrics.cache_dir={cache}"])
    dm = StackedMNISTDataModule(
        str(root), split="test", count=26_000, seed=123, download=True, cache_dir=str(cache)
    )
    dm.prepare_data()
    dm.setup("fit")
    digits = dm.digits()
    digits.prepare_data()
    classifier, accuracy, _ = Measurement(cfg, dm).classifier(digits)
    images = to_signed_unit(torch.as_tensor(dm.dataset.images))
    readings = [digit_readings(chunk, classifier.eval()) for chunk in images.split(1000)]
    codes, confidence = (torch.cat(parts) for parts in zip(*readings, strict=True))
    truth = mode_count(torch.as_tensor(dm.dataset.labels))
    return {**stacked_scores(codes, confidence), "true_modes": truth["modes"],
            "true_kl": truth["kl"], "classifier_accuracy": accuracy}  # fmt: skip


def train_run(name: str, overrides: list[str], seed: int, args: argparse.Namespace,
              root: Path, cache: Path) -> dict:  # fmt: skip
    out = args.runs / f"stacked-{name}-{args.iterations}" / str(seed)
    if not finished(out):
        command = [
            sys.executable, "-m", "gans.train", *overrides, "data=stacked_mnist",
            f"data.root={root}", "data.split=test", "data.count=50000", "data.download=true",
            f"data.cache_dir={cache}", f"metrics.cache_dir={cache}",
            f"iterations={args.iterations}", f"metrics.every={args.iterations}", f"seed={seed}",
            "logger=none", "trainer.enable_progress_bar=false", f"hydra.run.dir={out}",
        ]  # fmt: skip
        env = {**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1"}
        subprocess.run(command, cwd=ROOT, env=env, check=True)
        provenance.record_run(HERE, f"stacked {name}", out)
    return json.loads((out / "summary.json").read_text())


def row(name: str, m: dict, seconds: str = "") -> str:
    return (
        f"| {name} | {m['modes']:.0f} | {m['kl']:.3f} | {m['confidence']:.3f} "
        f"| {100 * m['confident']:.1f}% | {m['confident_modes']:.0f} | {seconds} |"
    )


def table(record: dict) -> str:
    """Each seed, then mean ± sd over seeds, and the real stacked digits (the ceiling)."""
    lines = [
        "| run | modes (of 1,000) | KL to uniform | confidence per channel "
        "| images read with >= 0.9 in all channels | modes among those | s per run |",
        "|---|---|---|---|---|---|---|",
        row("real stacked digits (26,000)", record["real"]),
    ]
    for name, runs in record["runs"].items():
        for seed, r in enumerate(runs):
            lines.append(row(f"{name}, seed {seed}", r["metrics"], f"{r['seconds']:.0f}"))
        if len(runs) > 1:
            cells = []
            columns = (("modes", 1, 0), ("kl", 1, 3), ("confidence", 1, 3),
                       ("confident", 100, 1), ("confident_modes", 1, 0))  # fmt: skip
            for key, scale, digits in columns:
                values = [scale * r["metrics"][key] for r in runs]
                cells.append(f"{statistics.mean(values):.{digits}f} ± "
                             f"{statistics.stdev(values):.{digits}f}")  # fmt: skip
            lines.append(f"| **{name}, mean ± sd** | " + " | ".join(cells) + " | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=5000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (one core each)")
    parser.add_argument("--runs", type=Path, default=HERE / "runs")
    args = parser.parse_args()
    root, cache = mnist_root(args.runs), args.runs / "cache"
    record: dict = {"iterations": args.iterations, "real": real_count(root, cache), "runs": {}}
    jobs = [(name, seed) for name in VARIANTS for seed in range(args.seeds)]
    with ThreadPoolExecutor(args.jobs) as pool:  # one core each
        done = pool.map(
            lambda job: train_run(job[0], VARIANTS[job[0]], job[1], args, root, cache), jobs
        )
        for (name, _), summary in zip(jobs, list(done), strict=True):
            record["runs"].setdefault(name, []).append(summary)
    (HERE / "stacked.json").write_text(json.dumps(record, indent=1))
    for name, runs in record["runs"].items():  # seed 0's last sample grid beside the README
        grids = sorted(Path(runs[0]["samples"]).glob("iter_*.png"))
        if grids:
            shutil.copy(grids[-1], HERE / f"stacked_{name}.png")
    text = table(record)
    replace_between(HERE / "README.md", text, START, END)
    print(text)
    real = record["real"]
    print(f"classifier held-out accuracy {real['classifier_accuracy']:.4f}; "
          f"true modes among the real triples {real['true_modes']:.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
