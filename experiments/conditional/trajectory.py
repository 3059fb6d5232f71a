"""Conditional accuracy and recall along one training run: does a conditional model lose its
diversity, or its labels, as it trains (issue 38: "no collapse at any point of the budget")?

    python experiments/conditional/trajectory.py --model cdcgan --iterations 8000
    python experiments/conditional/trajectory.py --model acgan --seed 0 --every 500

Trains ``run.py``'s command for one model and seed with a checkpoint every ``--every``
iterations (resuming from the run's ``last.ckpt`` after an interruption; a run that ``run.py``
trained, ``--runs outputs/conditional``, is scored as it is: its fixed-length rows keep a
checkpoint every 500 iterations), scores every
checkpoint at ``run.py``'s protocol (N = 5,000; 500 per class) and writes
``trajectory_<model>-s<seed>.csv`` and ``trajectory_<model>-s<seed>.png`` beside this file.
Checkpoints already scored are not scored again.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))
from conditional.run import MODELS, SCORES, train_overrides  # noqa: E402
from latent_models.run import run, trained_to  # noqa: E402


def train(name: str, seed: int, iterations: int, every: int, folder: Path, cache: Path) -> None:
    """``run.py``'s training command at a fixed length with periodic checkpoints."""
    last = folder / "checkpoints" / "last.ckpt"
    if trained_to(last) >= iterations:
        return
    overrides = [
        *(o for o in train_overrides(name, 0, iterations) if not o.startswith("checkpoint_every=")),
        f"checkpoint_every={every}",
    ]
    resume = [f"ckpt_path={last}"] if last.exists() else []
    started = time.perf_counter()
    run([sys.executable, "-m", "gans.train", *overrides, f"seed={seed}",
         f"data.cache_dir={cache}", f"hydra.run.dir={folder}", *resume])  # fmt: skip
    seconds = time.perf_counter() - started
    with open(folder / "train_seconds.txt", "a") as f:
        f.write(f"{seconds:.1f}\n")


def score(ckpt: Path, cache: Path) -> dict:
    """``run.py``'s protocol on one checkpoint (kept beside it as ``<ckpt>.eval.json``)."""
    out = ckpt.with_suffix(".eval.json")
    if not out.exists():
        run([sys.executable, "-m", "gans.evaluate", f"ckpt={ckpt}", "num_samples=5000",
             "metrics.num_reference=5000", "metrics.per_class=500", f"metrics.cache_dir={cache}",
             f"out={out}", f"+data.cache_dir={cache}"])  # fmt: skip
    scored = json.loads(out.read_text())
    return {"iteration": scored["iteration"], **{k: scored["scores"].get(k) for k in SCORES}}


def plot(rows: list[dict], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["iteration"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(steps, [r["cond_acc"] for r in rows], "o-", label="conditional accuracy")
    ax.plot(steps, [r["recall"] for r in rows], "s-", label="recall")
    ax.axhline(0.95, color="C0", ls=":", lw=0.8)
    ax.axhline(0.6, color="C1", ls=":", lw=0.8)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("generator iterations")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="cdcgan", choices=list(MODELS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--iterations", type=int, default=8000)
    parser.add_argument("--every", type=int, default=500)
    parser.add_argument("--runs", default=str(ROOT / "outputs" / "conditional-trajectory"))
    parser.add_argument("--cache", default=str(ROOT / "outputs" / "conditional" / "cache"))
    args = parser.parse_args()
    cache = Path(args.cache)
    folder = Path(args.runs) / f"{args.model}-s{args.seed}"
    train(args.model, args.seed, args.iterations, args.every, folder, cache)
    ckpts = sorted((folder / "checkpoints").glob("iter_*.ckpt"))
    rows = []
    for ckpt in ckpts:
        rows.append(score(ckpt, cache))
        print(json.dumps(rows[-1]), flush=True)
    stem = f"trajectory_{args.model}-s{args.seed}"
    with open(HERE / f"{stem}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    timing = folder / "train_seconds.txt"  # absent when run.py trained the run
    seconds = (
        sum(float(s) for s in timing.read_text().split())
        if timing.exists()
        else json.loads((folder / "summary.json").read_text())["seconds"]
    )
    plot(rows, f"{args.model}, seed {args.seed}: {args.iterations} iterations in {seconds:.0f} s "
         "(2 CPU cores); dotted: targets", HERE / f"{stem}.png")  # fmt: skip


if __name__ == "__main__":
    main()
