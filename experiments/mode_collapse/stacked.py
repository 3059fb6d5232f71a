"""Stacked-MNIST mode count: real stacked digits (the classifier's ceiling), DCGAN, and DCGAN with
PacGAN's packing, on the 10,000 real MNIST test digits in ../shared/data/mnist-test.

    python experiments/mode_collapse/stacked.py [--iterations 1500] [--seeds 1] [--jobs 2]

Writes stacked.json and the README's stacked-MNIST table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir

from gans.data.stacked_mnist import StackedMNISTDataModule
from gans.data.transforms import to_signed_unit
from gans.metrics.evaluator import load_or_train_classifier
from gans.metrics.stacked import digit_triples, mode_count
from gans.train import CONF_DIR

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
RAW = ROOT.parent / "shared" / "data" / "mnist-test" / "raw"
START, END = "<!-- stacked:start -->", "<!-- stacked:end -->"
# DCGAN with 32 base channels (half the paper's width) to fit the CPU budget; PacGAN's stacked-
# MNIST experiment is DCGAN with a packed discriminator.
NETS = ["model.generator.base_channels=32", "model.discriminator.base_channels=32"]
VARIANTS = {
    "dcgan": ["model=dcgan", *NETS],
    "dcgan_pack2": ["model=dcgan", *NETS, "model.pack=2"],
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
    classifier, accuracy, _ = load_or_train_classifier(digits, cfg.metrics)
    images = to_signed_unit(torch.as_tensor(dm.dataset.images))
    codes = torch.cat([digit_triples(chunk, classifier.eval()) for chunk in images.split(1000)])
    truth = mode_count(torch.as_tensor(dm.dataset.labels))
    return {**mode_count(codes), "true_modes": truth["modes"], "true_kl": truth["kl"],
            "classifier_accuracy": accuracy}  # fmt: skip


def train_run(name: str, overrides: list[str], seed: int, args: argparse.Namespace,
              root: Path, cache: Path) -> dict:  # fmt: skip
    out = args.runs / f"stacked-{name}" / str(seed)
    if not (out / "summary.json").exists():
        command = [
            sys.executable, "-m", "gans.train", *overrides, "data=stacked_mnist",
            f"data.root={root}", "data.split=test", "data.count=50000", "data.download=true",
            f"data.cache_dir={cache}", f"metrics.cache_dir={cache}",
            f"iterations={args.iterations}", f"metrics.every={args.iterations}", f"seed={seed}",
            "logger=none", "trainer.enable_progress_bar=false", f"hydra.run.dir={out}",
        ]  # fmt: skip
        env = {**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1"}
        subprocess.run(command, cwd=ROOT, env=env, check=True)
    return json.loads((out / "summary.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1500)
    parser.add_argument("--seeds", type=int, default=1)
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
    real = record["real"]
    lines = [
        "| run | modes (of 1,000) | KL to uniform | s per run |",
        "|---|---|---|---|",
        f"| real stacked digits (26,000) | {real['modes']:.0f} | {real['kl']:.3f} | |",
    ]
    for name, runs in record["runs"].items():
        for r in runs:
            m = r["metrics"]
            lines.append(f"| {name} | {m['modes']:.0f} | {m['kl']:.3f} | {r['seconds']:.0f} |")
    text = "\n".join(lines)
    readme = HERE / "README.md"
    body = readme.read_text()
    body = re.sub(f"{START}.*{END}", f"{START}\n{text}\n{END}", body, flags=re.S)
    readme.write_text(body)
    print(text)
    print(f"classifier held-out accuracy {real['classifier_accuracy']:.4f}; "
          f"true modes among the real triples {real['true_modes']:.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
