"""Regenerate the mode-collapse table: every variant x data x seed, then collect.

    python experiments/mode_collapse/run.py              # all of variants.yaml (resumes)
    python experiments/mode_collapse/run.py --jobs 2 --only gan pacgan2 --seeds 3

Each (variant, data) pair is one Hydra multirun, ``python -m gans.train -m ... seed=0,...,9``,
under ``experiments/mode_collapse/runs/<variant>-<data>/<job>``; ``--jobs`` of them run at once,
one CPU thread each. Pairs whose jobs all wrote ``summary.json`` are skipped. Then ``collect.py``
writes ``results.json``, the README table and ``coverage.png``, and ``stacked.py`` the
stacked-MNIST table (``--no-stacked`` skips it).
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


def command(variant: list[str], budget: list[str], data: str, seeds: int, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gans.train",
        "-m",
        *budget,
        *variant,
        f"data={data}",
        f"seed={','.join(str(s) for s in range(seeds))}",
        f"hydra.sweep.dir={out}",
        "hydra.sweep.subdir=${hydra.job.num}",
    ]


def done(out: Path, seeds: int) -> bool:
    return all((out / str(job) / "summary.json").exists() for job in range(seeds))


def launch(name: str, cmd: list[str], out: Path) -> tuple[str, int, float]:
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline"}
    started = time.perf_counter()
    with open(out / "multirun.log", "w") as log:
        code = subprocess.call(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - started
    print(f"{name}: exit {code} in {seconds:.0f} s", flush=True)
    return name, code, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="multiruns at once (one core each)")
    parser.add_argument("--seeds", type=int, default=None, help="default: variants.yaml's")
    parser.add_argument("--only", nargs="*", default=None, help="variant names to run")
    parser.add_argument("--runs", type=Path, default=HERE / "runs")
    parser.add_argument(
        "--no-stacked", action="store_true", help="skip the stacked-MNIST runs (stacked.py)"
    )
    args = parser.parse_args()
    spec = yaml.safe_load((HERE / "variants.yaml").read_text())
    seeds = args.seeds or int(spec["seeds"])
    todo = []
    for variant, overrides in spec["variants"].items():
        if args.only and variant not in args.only:
            continue
        for data in spec["data"]:
            out = args.runs / f"{variant}-{data}"
            if not done(out, seeds):
                cmd = command(overrides or [], spec["budget"], data, seeds, out)
                todo.append((f"{variant}-{data}", cmd, out))
    print(f"{len(todo)} multiruns of {seeds} seeds to run, {args.jobs} at a time", flush=True)
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
