"""Search DCGAN defaults for the default `make train` run (DCGAN on the MNIST digits, 2,000
iterations) with the project's Optuna sweep, then check the best against the current defaults
over 3 seeds, at the real-vs-real FID floor's protocol.

    python experiments/default_run/run.py                    # search, seeds, table (resumes)
    python experiments/default_run/run.py --trials 12 --seeds 3

1. ``python -m gans.train hparams_search=optuna_dcgan`` (TPE over lr, beta1, both widths, EMA
   decay), its study in ``runs/search.db`` (sqlite), so a rerun asks only for the trials still
   missing; each trial scores FID on 5,000 samples against the first 5,000 real digits.
2. The current defaults and the search's best, each ``seed=0,...,seeds-1`` (one multirun each).
3. The table (with the floor from ``experiments/fid_floor/floor-mnist.json``) goes into the README
   between the markers, and the Optuna results into ``optimization_results.yaml``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))

import provenance  # noqa: E402
from finished import finished  # noqa: E402
from markers import replace_between  # noqa: E402

FLOOR = ROOT / "experiments" / "fid_floor" / "floor-mnist.json"
PROTOCOL = ["metrics.num_samples=5000", "metrics.num_reference=5000"]
# conf/preset/dcgan_mnist.yaml before the search, spelt out so the comparison outlives adoption
BEFORE = [
    "optimizer.lr=5e-4",
    "optimizer.beta1=0.5",
    "model.generator.base_channels=16",
    "model.discriminator.base_channels=16",
    "ema.enabled=true",
    "ema.decay=0.999",
]


def train(overrides: list[str], log: Path, threads: int) -> int:
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    cmd = [sys.executable, "-m", "gans.train", "-m", *overrides]
    with open(log, "a") as out:
        return subprocess.call(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def completed_trials(storage: Path, study: str) -> list[dict]:
    """The finished trials of the study in ``storage``: [{"params", "value"}]."""
    if not storage.exists():
        return []
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        trials = optuna.load_study(study_name=study, storage=f"sqlite:///{storage}").trials
    except KeyError:  # no such study yet
        return []
    done = [t for t in trials if t.state.name in ("COMPLETE", "FAIL")]
    return [{"params": t.params, "value": t.value, "state": t.state.name} for t in done]


def seeds_of(folder: Path, seeds: int) -> list[float]:
    return [
        json.loads((folder / f"seed{s}" / "summary.json").read_text())["metrics"]["fid"]
        for s in range(seeds)
        if finished(folder / f"seed{s}")
    ]


def repeat(name: str, overrides: list[str], args: argparse.Namespace) -> list[float]:
    folder = args.runs / name
    missing = [s for s in range(args.seeds) if not finished(folder / f"seed{s}")]
    if missing:
        train([*overrides, *PROTOCOL, f"seed={','.join(map(str, missing))}",
               f"hydra.sweep.dir={folder}", "hydra.sweep.subdir=seed${seed}"],
              folder / "multirun.log", args.threads)  # fmt: skip
        provenance.record_run(HERE, name, folder / f"seed{missing[0]}")
    return seeds_of(folder, args.seeds)


def table(baseline: list[float], best: list[float], params: dict, floor: float) -> str:
    def row(name: str, fids: list[float]) -> str:
        if not fids:
            return f"| {name} | | | | |"
        mean = statistics.mean(fids)
        sd = statistics.stdev(fids) if len(fids) > 1 else float("nan")
        each = ", ".join(f"{f:.2f}" for f in fids)
        return f"| {name} | {each} | {mean:.2f} ± {sd:.2f} | {mean / floor:.1f}x |"

    setting = " ".join(f"`{k}={v}`" for k, v in params.items())
    return "\n".join([
        "| run | FID per seed (0, 1, 2) | mean ± sd | / floor |",
        "|---|---|---|---|",
        row("defaults before the search", baseline),
        row(f"search's best: {setting}", best),
        f"| real-vs-real floor (N = 5,000) | {floor:.2f} | | 1.0x |",
    ])  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads per run")
    parser.add_argument("--runs", type=Path, default=HERE / "runs")
    args = parser.parse_args()
    args.runs.mkdir(parents=True, exist_ok=True)
    storage, study = args.runs / "search.db", "dcgan-mnist-defaults"
    done = completed_trials(storage, study)
    if len(done) < args.trials:
        search = [
            "hparams_search=optuna_dcgan",
            f"hydra.sweeper.storage=sqlite:///{storage}",
            f"hydra.sweeper.study_name={study}",
            f"hydra.sweeper.n_trials={args.trials - len(done)}",
            f"hydra.sweeper.sampler.seed={len(done)}",
            f"hydra.sweep.dir={args.runs / 'search' / f'part{len(done)}'}",
        ]
        train(search, args.runs / "search.log", args.threads)
        done = completed_trials(storage, study)
    scored = [t for t in done if t["value"] is not None and t["value"] == t["value"]]
    best = min(scored, key=lambda t: t["value"])
    (HERE / "optimization_results.yaml").write_text(yaml.safe_dump({
        "command": f"python -m gans.train hparams_search=optuna_dcgan (n_trials={args.trials})",
        "best_params": dict(best["params"]), "best_value": best["value"],
        "trials": sorted(done, key=lambda t: (t["value"] is None, t["value"] or 0)),
    }, sort_keys=False))  # fmt: skip
    baseline = repeat("baseline", BEFORE, args)
    chosen = repeat("best", [f"{k}={v}" for k, v in best["params"].items()], args)
    floor = json.loads(FLOOR.read_text())["scores"]["fid"]
    text = table(baseline, chosen, best["params"], floor)
    replace_between(HERE / "README.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
