"""Ablations: what keeps the 2-D GANs' high-quality share low (budget, learning-rate decay, EMA,
BatchNorm statistics at sampling, maxout units).

    python experiments/mode_collapse/ablate.py      # every ablation of variants.yaml (resumes)
    python experiments/mode_collapse/ablate.py --only base long

Each ablation in ``variants.yaml``'s ``ablations`` is ``gans.train`` with the table's budget plus
its own overrides, one seed per data, under ``runs/ablate/<name>-<data>``, two at a time on one
core each; runs that ran to their end are skipped. Every finished run's last checkpoint is
then scored with PacGAN's protocol (the 2,500 points the training metric draws) four ways: the
generator in eval mode (BatchNorm running statistics, what training logs), in train mode
(statistics of each batch of 100, as it is trained), and its EMA copy in both modes when the run
averages. The table goes into the README between the ``ablation`` markers and ``ablation.json``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import provenance  # noqa: E402
from finished import finished  # noqa: E402
from markers import replace_between  # noqa: E402
from run import variant_data, variant_overrides  # noqa: E402  (an ablation is read as a variant)

from gans.metrics.coverage import mode_coverage  # noqa: E402
from gans.restore import datamodule, restore  # noqa: E402

START, END = "<!-- ablation:start -->", "<!-- ablation:end -->"
NUM_SAMPLES, SEED = 2500, 1234  # the training metric's draw (gans/callbacks/coverage.py)


def train(name: str, overrides: list[str], out: Path) -> float:
    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "gans.train", *overrides, f"hydra.run.dir={out}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline"}
    started = time.perf_counter()
    with open(out / "train.log", "w") as log:
        code = subprocess.call(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - started
    print(f"{name}: exit {code} in {seconds:.0f} s", flush=True)
    if code == 0:
        provenance.record_run(HERE, f"ablation {out.name}", out)
    return code


@torch.no_grad()
def score(ckpt: Path) -> dict[str, list[float]]:
    """{"G eval" | "G train" | "EMA eval" | "EMA train": [modes, high quality, reverse KL]}."""
    cfg, model, _ = restore(ckpt)
    dm = datamodule(cfg)
    z = model.prior.sample(
        NUM_SAMPLES, torch.device("cpu"), generator=torch.Generator().manual_seed(SEED)
    )
    scores = {}
    for ema in (False, True):
        if ema and "generator" not in model.averaged:
            continue
        network = copy.deepcopy(model.network("generator", ema))
        for mode in ("eval", "train"):
            network.train(mode == "train")
            # train mode: BatchNorm normalises each batch of the training batch size by itself
            points = torch.cat([network(c, None) for c in z.split(int(cfg.data.batch_size))])
            r = mode_coverage(points, dm.modes, dm.std)
            key = f"{'EMA' if ema else 'G'} {mode}"
            scores[key] = [r["modes"], r["high_quality"], r["reverse_kl"]]
    return scores


DECAY = [
    "optimizer.schedule.generator={kind:linear,start:50%,length:50%}",
    "optimizer.schedule.discriminator={kind:linear,start:50%,length:50%}",
]


def described(overrides: list[str]) -> str:
    """The overrides as table text, both players' linear decay over the second half in words."""
    words = [f"`{o}`" for o in overrides if o not in DECAY]
    if all(o in overrides for o in DECAY):
        words.append("both lr -> 0 over the 2nd half")
    return " ".join(words) or "(the 2,000-iteration budget)"


def table(records: list[dict], spec: dict) -> str:
    modes = {"ring": 8, "grid": 25}
    lines = [
        "| ablation | data | overrides | G (eval BN) | G (train BN) | EMA (eval BN) | s |",
        "|---|---|---|---|---|---|---|",
    ]

    def cell(s: list[float] | None) -> str:
        return "" if s is None else f"{s[0]:.0f} / {100 * s[1]:.1f}% / {s[2]:.3f}"

    for r in records:
        over = described(variant_overrides(spec["ablations"][r["name"]]))
        scores = r["scores"]
        lines.append(
            f"| {r['name']} | {r['data']} ({modes[r['data']]}) | {over} "
            f"| {cell(scores['G eval'])} | {cell(scores['G train'])} "
            f"| {cell(scores.get('EMA eval'))} | {r['seconds']:.0f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (one core each)")
    parser.add_argument("--only", nargs="*", default=None, help="ablation names to run")
    parser.add_argument("--runs", type=Path, default=HERE / "runs" / "ablate")
    args = parser.parse_args()
    spec = yaml.safe_load((HERE / "variants.yaml").read_text())
    todo, wanted = [], []
    for name, entry in spec["ablations"].items():
        if args.only and name not in args.only:
            continue
        overrides, datas = variant_overrides(entry), variant_data(entry, spec)
        for data in datas:
            out = args.runs / f"{name}-{data}"
            wanted.append((name, data, out))
            if not finished(out):
                cmd = [*spec["budget"], *overrides, f"data={data}", "seed=0"]
                todo.append((f"{name}-{data}", cmd, out))
    print(f"{len(todo)} ablation runs to train, {args.jobs} at a time", flush=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        codes = list(pool.map(lambda t: train(*t), todo))
    records = []
    for name, data, out in wanted:
        if not finished(out):
            continue
        summary = json.loads((out / "summary.json").read_text())
        scores = score(out / "checkpoints" / "last.ckpt")
        records.append(
            {"name": name, "data": data, "seconds": summary["seconds"], "scores": scores}
        )
    if not args.only:
        (HERE / "ablation.json").write_text(json.dumps(records, indent=1) + "\n")
        replace_between(HERE / "README.md", table(records, spec), START, END)
    print(table(records, spec))
    return 1 if any(codes) else 0


if __name__ == "__main__":
    sys.exit(main())
