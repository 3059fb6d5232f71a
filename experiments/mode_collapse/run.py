"""Regenerate the mode-collapse table: every variant x data x seed, then collect.

    python experiments/mode_collapse/run.py              # all of variants.yaml (resumes)
    python experiments/mode_collapse/run.py --jobs 2 --only gan pacgan4 --seeds 3

Each (variant, data) pair runs as Hydra multiruns, ``python -m gans.train -m <budget> <final>
<variant> data=<data> seed=...`` (the lists of ``variants.yaml``), under
``experiments/mode_collapse/runs/<variant>-<data>/<seed>``, ``--chunk`` seeds per multirun and
``--jobs`` multiruns at once, one CPU thread each. Seeds that ran to their end are skipped
(a rerun resumes). Then ``collect.py`` writes ``results.json``, the README table and
``coverage.png``, and ``stacked.py`` the stacked-MNIST table (``--no-stacked`` skips it).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))

import provenance  # noqa: E402
from finished import finished  # noqa: E402


def command(
    variant: list[str], budget: list[str], data: str, seeds: list[int], out: Path
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gans.train",
        "-m",
        *budget,
        *variant,
        f"data={data}",
        f"seed={','.join(str(s) for s in seeds)}",
        f"hydra.sweep.dir={out}",
        "hydra.sweep.subdir=${seed}",
    ]


def variant_overrides(entry: list[str] | dict | None) -> list[str]:
    """A variant is a list of overrides, or {data: [...], overrides: [...]}."""
    return list(entry.get("overrides", [])) if isinstance(entry, dict) else list(entry or [])


def variant_data(entry: list[str] | dict | None, spec: dict) -> list[str]:
    return list(entry.get("data", spec["data"])) if isinstance(entry, dict) else spec["data"]


def missing(out: Path, seeds: int) -> list[int]:
    """The seeds of ``out`` that have not run to their end (:func:`finished`)."""
    return [s for s in range(seeds) if not finished(out / str(s))]


def launch(name: str, cmd: list[str], out: Path) -> tuple[str, int, float]:
    out.mkdir(parents=True, exist_ok=True)
    print(f"{name}: started", flush=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline"}
    started = time.perf_counter()
    with open(out / f"multirun-{name.split()[-1]}.log", "a") as log:
        code = subprocess.call(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - started
    print(f"{name}: exit {code} in {seconds:.0f} s", flush=True)
    if code == 0:  # the row's settings: any of its seeds' (they differ only in the seed)
        provenance.record_run(HERE, out.name, next(out.glob("*/.hydra")).parent)
    return name, code, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="multiruns at once (one core each)")
    parser.add_argument("--seeds", type=int, default=None, help="default: variants.yaml's")
    parser.add_argument("--chunk", type=int, default=5, help="seeds per multirun")
    parser.add_argument("--only", nargs="*", default=None, help="variant names to run")
    parser.add_argument("--runs", type=Path, default=HERE / "runs")
    parser.add_argument(
        "--no-stacked", action="store_true", help="skip the stacked-MNIST runs (stacked.py)"
    )
    args = parser.parse_args()
    spec = yaml.safe_load((HERE / "variants.yaml").read_text())
    seeds = args.seeds or int(spec["seeds"])
    todo = []
    budget = [*spec["budget"], *spec.get("final", [])]
    for variant, entry in spec["variants"].items():
        if args.only and variant not in args.only:
            continue
        for data in variant_data(entry, spec):
            out = args.runs / f"{variant}-{data}"
            left = missing(out, seeds)
            for start in range(0, len(left), args.chunk):
                chunk = left[start : start + args.chunk]
                cmd = command(variant_overrides(entry), budget, data, chunk, out)
                todo.append((f"{variant}-{data} seeds {chunk[0]}-{chunk[-1]}", cmd, out))
    print(f"{len(todo)} multiruns of up to {args.chunk} seeds, {args.jobs} at a time", flush=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda t: launch(*t), todo))
    failed = [name for name, code, _ in results if code]
    collect = [sys.executable, str(HERE / "collect.py"), "--runs", str(args.runs)]
    code = subprocess.call(collect, cwd=ROOT)
    if not args.no_stacked and not args.only:
        stacked = [sys.executable, str(HERE / "stacked.py"), "--runs", str(args.runs)]
        code = code or subprocess.call(stacked, cwd=ROOT)
    if failed:
        print(f"failed: {', '.join(failed)} (see runs/<name>/multirun.log)", file=sys.stderr)
    return 1 if failed else code


if __name__ == "__main__":
    sys.exit(main())
