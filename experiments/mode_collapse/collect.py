"""Collect the mode-collapse runs into results.json, the README table and coverage.png.

    python experiments/mode_collapse/collect.py [--runs experiments/mode_collapse/runs]

Reads every ``runs/<variant>-<data>/<job>/summary.json`` that ``gans.train`` wrote; reports mean
and standard error over seeds, and how many seeds meet the target (every mode captured and at
least 95% high-quality samples).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
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

MODES = {"ring": 8, "grid": 25}
HIGH_QUALITY = {"ring": 0.95, "grid": 0.90}  # the share a seed needs, with every mode, to meet it


def mean_se(values: list[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, float("nan")
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


def gather(runs: Path, spec: dict) -> list[dict]:
    rows = []
    for variant in spec["variants"]:
        for data in spec["data"]:
            summaries = [
                json.loads(p.read_text())
                for p in sorted((runs / f"{variant}-{data}").glob("*/summary.json"))
                if finished(p.parent)
            ]
            if not summaries:
                continue
            scores = [s["metrics"] for s in summaries]
            hit = sum(
                m["modes"] == MODES[data] and m["high_quality"] >= HIGH_QUALITY[data]
                for m in scores
            )
            row = {"variant": variant, "data": data, "seeds": len(scores), "target_met": hit}
            for key in ("modes", "high_quality", "reverse_kl"):
                row[key] = mean_se([float(m[key]) for m in scores])
            row["seconds"] = mean_se([float(s["seconds"]) for s in summaries])
            rows.append(row)
    return rows


def table(rows: list[dict], spec: dict) -> str:
    lines = []
    for data in spec["data"]:
        lines += [
            f"**{data}** ({MODES[data]} modes)",
            "",
            "| run | modes captured | % high quality | reverse KL | seeds meeting target "
            "| s per run |",
            "|---|---|---|---|---|---|",
        ]
        for r in (r for r in rows if r["data"] == data):
            (m, m_se), (hq, hq_se), (kl, kl_se) = r["modes"], r["high_quality"], r["reverse_kl"]
            lines.append(
                f"| {r['variant']} | {m:.1f} ± {m_se:.1f} | {100 * hq:.1f} ± {100 * hq_se:.1f} "
                f"| {kl:.3f} ± {kl_se:.3f} | {r['target_met']}/{r['seeds']} "
                f"| {r['seconds'][0]:.0f} |"
            )
        for name, (m, hq, kl) in spec["published"].get(data, {}).items():
            lines.append(f"| PacGAN paper: {name} | {m} | {hq} | {kl} | | |")
        lines.append("")
    return "\n".join(lines)


def plot(rows: list[dict], spec: dict, path: Path) -> None:
    fig, axes = plt.subplots(2, 2, figsize=(10, 6))
    for col, data in enumerate(spec["data"]):
        subset = [r for r in rows if r["data"] == data]
        names = [r["variant"] for r in subset]
        for row_ax, key, scale, label in (
            (0, "modes", 1, f"modes captured (of {MODES[data]})"),
            (1, "high_quality", 100, "% high-quality samples"),
        ):
            ax = axes[row_ax][col]
            means = [scale * r[key][0] for r in subset]
            errors = [0 if math.isnan(r[key][1]) else scale * r[key][1] for r in subset]
            ax.bar(names, means, yerr=errors, color="tab:blue", capsize=3)
            published = spec["published"].get(data, {})
            for name, values in published.items():
                ax.axhline(values[row_ax], ls="--", lw=0.8, color="tab:red")
                ax.text(
                    len(names) - 0.5,
                    values[row_ax],
                    f"paper {name}",
                    fontsize=7,
                    color="tab:red",
                    ha="right",
                    va="bottom",
                )
            ax.set_ylabel(label, fontsize=8)
            ax.set_title(data, fontsize=9)
            ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=HERE / "runs")
    parser.add_argument("--out", type=Path, default=HERE, help="README.md, results.json, plot")
    args = parser.parse_args()
    spec = yaml.safe_load((HERE / "variants.yaml").read_text())
    rows = gather(args.runs, spec)
    (args.out / "results.json").write_text(json.dumps(rows, indent=1))
    text = table(rows, spec)
    replace_between(args.out / "README.md", text)
    if rows:
        plot(rows, spec, args.out / "coverage.png")
    for row in rows:  # seed 0's last scatter plot beside the README
        scatters = sorted(
            (args.runs / f"{row['variant']}-{row['data']}").glob("0/**/scatter_*.png")
        )
        if scatters:
            shutil.copy(
                scatters[-1], args.out / f"scatter_{row['variant']}_{row['data']}_seed0.png"
            )
    print(text)


if __name__ == "__main__":
    main()
