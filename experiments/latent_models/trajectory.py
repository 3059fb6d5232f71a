"""InfoGAN's scores along its runs: does a seed collapse, or lose its codes, on the way (issue 38:
"no collapse at any point of the budget")?

    python experiments/latent_models/trajectory.py                  # infogan, seeds 0,1,2
    python experiments/latent_models/trajectory.py --model infogan --seeds 0

Scores every periodic checkpoint (``iter_*.ckpt``, every 300 iterations) of the runs ``run.py``
trained under ``--runs`` at ``run.py``'s protocol (N = 5,000 against the first 5,000 real digits;
the codes' categorical accuracy and correlations), keeps each score beside its checkpoint, and
writes ``trajectory_<model>.csv`` and ``trajectory_<model>.png`` beside this file. Checkpoints
already scored are not scored again; runs are not trained here.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))
from latent_models.run import CODES, SCORES, code_strength, run  # noqa: E402


def score(ckpt: Path, cache: Path) -> dict:
    """``run.py``'s protocol on one checkpoint (kept beside it as ``<ckpt>.eval.json``)."""
    out = ckpt.with_suffix(".eval.json")
    if not out.exists():
        run([sys.executable, "-m", "gans.evaluate", f"ckpt={ckpt}", "num_samples=5000",
             "metrics.num_reference=5000", f"metrics.cache_dir={cache}", f"out={out}",
             f"+data.cache_dir={cache}"])  # fmt: skip
    scored = json.loads(out.read_text())
    codes = scored.get("disentanglement", {})
    record = {"iteration": scored["iteration"], **{k: scored["scores"].get(k) for k in SCORES}}
    return {**record, **{k: codes.get(k) for k in CODES}}


def plot(rows: list[dict], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    for i, seed in enumerate(sorted({r["seed"] for r in rows})):
        mine = [r for r in rows if r["seed"] == seed]
        steps = [r["iteration"] for r in mine]
        ax.plot(steps, [r["categorical_accuracy"] for r in mine], "o-", color=f"C{i}",
                label=f"seed {seed}: categorical accuracy")  # fmt: skip
        ax.plot(steps, [r["recall"] for r in mine], "s--", color=f"C{i}", label="recall")
    ax.axhline(0.90, color="k", ls=":", lw=0.8)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("generator iterations")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower right", ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="infogan")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--runs", default=str(ROOT / "outputs" / "latent_models"))
    parser.add_argument("--cache", default=str(ROOT / "outputs" / "latent_models" / "cache"))
    args = parser.parse_args()
    rows = []
    for seed in map(int, args.seeds.split(",")):
        folder = Path(args.runs) / f"{args.model}-s{seed}"
        for ckpt in sorted((folder / "checkpoints").glob("iter_*.ckpt")):
            row = {"seed": seed, **score(ckpt, Path(args.cache))}
            row["c1_best"], row["c2_best"] = (code_strength(row, c) for c in ("c1", "c2"))
            rows.append(row)
            print(json.dumps(row), flush=True)
    stem = f"trajectory_{args.model}"
    with open(HERE / f"{stem}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, f"{args.model}: every 300 iterations (2 CPU cores); dotted: the accuracy target",
         HERE / f"{stem}.png")  # fmt: skip


if __name__ == "__main__":
    main()
