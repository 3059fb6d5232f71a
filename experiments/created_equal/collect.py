"""Collect the 'Are GANs created equal?' runs: the README table, results.json, fid_boxplot.png.

    python experiments/created_equal/collect.py [--runs experiments/created_equal/runs]

Reads ``runs/<loss>/search/<part>/<job>/`` (``summary.json`` of a finished job, ``failed.json`` of
a diverged one, and Hydra's ``.hydra/overrides.yaml`` for the configuration it drew) and
``runs/<loss>/best/seed<s>/summary.json``. A diverged or non-finite configuration counts as the
worst FID (infinite) for the median, as a failed run does in Lucic et al.'s distributions.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

import matplotlib
import yaml

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from finished import finished  # noqa: E402
from markers import END, START, replace_between  # noqa: E402, F401

SEARCHED = ("optimizer.lr", "optimizer.beta1", "optimizer.beta2", "model.n_critic")


def finished_jobs(folder: Path) -> list[Path]:
    """Job folders under ``folder`` that ended: a summary, or a recorded failure."""
    ended = [p.parent for p in folder.glob("*/*/summary.json") if finished(p.parent)]
    return sorted({*ended, *(p.parent for p in folder.glob("*/*/failed.json"))})


def job_record(job: Path, searched: tuple[str, ...] = SEARCHED) -> dict:
    """{"job", "fid" (inf when diverged or not finite), "params": the searched overrides}."""
    overrides = yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text()) or []
    params = [o for o in overrides if o.split("=", 1)[0] in searched]
    fid = math.inf
    if (job / "summary.json").exists():
        value = json.loads((job / "summary.json").read_text()).get("metrics", {}).get("fid")
        if value is not None and math.isfinite(float(value)):
            fid = float(value)
    return {"job": str(job), "fid": fid, "params": params}


def best_job(folder: Path, searched: tuple[str, ...] = SEARCHED) -> dict | None:
    """The finished configuration with the lowest finite FID, or None."""
    records = [job_record(j, searched) for j in finished_jobs(folder)]
    records = [r for r in records if math.isfinite(r["fid"])]
    return min(records, key=lambda r: r["fid"]) if records else None


def seed_fids(folder: Path) -> list[float]:
    fids = []
    for path in sorted(p for p in folder.glob("seed*/summary.json") if finished(p.parent)):
        value = json.loads(path.read_text()).get("metrics", {}).get("fid")
        fids.append(float(value) if value is not None else math.inf)
    return fids


def gather(runs: Path) -> list[dict]:
    rows = []
    for loss_dir in sorted(p for p in runs.iterdir() if (p / "search").is_dir()):
        search = [job_record(j) for j in finished_jobs(loss_dir / "search")]
        if not search:
            continue
        fids = [r["fid"] for r in search]
        best = min(search, key=lambda r: r["fid"])
        rows.append({
            "loss": loss_dir.name,
            "configurations": len(search),
            "diverged": sum(not math.isfinite(f) for f in fids),
            "search_fids": fids,
            "best_fid": best["fid"],
            "median_fid": statistics.median(fids),
            "best_params": best["params"],
            "seed_fids": seed_fids(loss_dir / "best"),
        })  # fmt: skip
    return rows


def fmt(value: float) -> str:
    return f"{value:.1f}" if math.isfinite(value) else "diverged"


def short(override: str) -> str:
    """``key=value`` with a float value to 3 significant digits."""
    key, value = override.split("=", 1)
    try:
        return f"{key}={float(value):.3g}" if "." in value or "e" in value else override
    except ValueError:
        return override


def table(rows: list[dict]) -> str:
    lines = [
        "| loss | configurations (diverged) | best FID | median FID | best configuration "
        "| best, 5 seeds: mean ± sd | min | median |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        seeds = [f for f in r["seed_fids"] if math.isfinite(f)]
        spread = (
            f"{statistics.mean(seeds):.1f} ± {statistics.stdev(seeds):.1f} (n={len(seeds)})"
            if len(seeds) > 1 else "")  # fmt: skip
        lowest = fmt(min(r["seed_fids"])) if r["seed_fids"] else ""
        middle = fmt(statistics.median(r["seed_fids"])) if r["seed_fids"] else ""
        config = " ".join(f"`{short(p)}`" for p in r["best_params"])
        lines.append(
            f"| {r['loss']} | {r['configurations']} ({r['diverged']}) | {fmt(r['best_fid'])} "
            f"| {fmt(r['median_fid'])} | {config} | {spread} | {lowest} | {middle} |"
        )
    return "\n".join(lines)


def boxplot(rows: list[dict], path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    names = [r["loss"] for r in rows]
    for ax, key, title in (
        (axes[0], "search_fids", "random search: one FID per configuration"),
        (axes[1], "seed_fids", "best configuration: one FID per seed"),
    ):
        data = [[f for f in r[key] if math.isfinite(f)] or [math.nan] for r in rows]
        ax.boxplot(data)
        ax.set_xticks(range(1, len(names) + 1), names)
        ax.set_title(title)
        ax.tick_params(axis="x", rotation=30)
        ax.set_yscale("log")
    axes[0].set_ylabel("FID (domain classifier features; lower is better)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=HERE / "runs")
    parser.add_argument("--out", type=Path, default=HERE, help="README.md, results.json, plot")
    args = parser.parse_args()
    rows = gather(args.runs)
    text = table(rows)
    finite = json.loads(json.dumps(rows), parse_constant=lambda _: None)  # inf -> null
    (args.out / "results.json").write_text(json.dumps(finite, indent=1) + "\n")
    boxplot(rows, args.out / "fid_boxplot.png")
    replace_between(args.out / "README.md", text)
    print(text)


if __name__ == "__main__":
    main()
