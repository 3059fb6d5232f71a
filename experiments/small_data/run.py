"""Small data: DCGAN and StyleGAN2 on 10,000, 1,000 and 100 real MNIST digits, each with no
augmentation, DiffAugment and ADA, at the same wall-clock budget of training.

    python experiments/small_data/run.py                  # everything missing, then the table
    python experiments/small_data/run.py --budget 180     # seconds of training per run

Data: the 10,000 real MNIST test digits (``../shared/data/mnist-test/images``); the subsets are
fixed draws (seed 0) linked into class folders under ``--runs``. Budget: each (model, augment)
pair's training speed is measured once (a short calibration run on the 1,000-image subset, on
this machine), and every run of the pair trains for budget x that speed iterations, so each gets
the same training time on an idle machine and the table does not depend on what else ran.
Scores: ``gans.evaluate`` with 5,000 samples against the first 5,000 of all 10,000 digits
(``data.root`` pointed at the full folder), the project's digits classifier as features (the
protocol of ``experiments/latent_models``). The floor of each subset is what a generator that
reproduces its training images exactly would score: 5,000 draws with replacement from the
subset against the same reference. Finished runs are skipped and a run short of its budget is
resumed; the table between the markers in ``README.md`` and ``results.json`` are rewritten from
every result found.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))
import provenance  # noqa: E402
from latent_models.run import DIGITS, replace_table, run, trained_to  # noqa: E402  (shared runner)

SUBSETS = (10000, 1000, 100)
AUGMENTS = ("none", "diffaugment", "ada")
#: the budget is ~50x shorter than the ADA paper's runs: p may move 0 -> 1 in 10k images, not 500k
ADA = ["augment.speed_images=10000"]
MODELS: dict[str, tuple[list[str], str]] = {
    "dcgan": (
        ["model=dcgan", "model.generator.base_channels=16", "model.discriminator.base_channels=16",
         "optimizer.lr=5e-4", "ema.enabled=true", "data.batch_size=64"],
        "DCGAN, width 16 (the dcgan_mnist preset's settings), batch 64",
    ),
    "stylegan2": (
        ["model=stylegan2", "model.generator.channel_base=512", "model.generator.channel_max=32",
         "model.latent.dim=64", "model.generator.w_dim=64"],
        "StyleGAN2 (`auto` spec, widths 32-16, z and w 64), batch 32",
    ),
    "progan": (
        ["model=progan", "model.generator.channel_base=512", "model.generator.channel_max=32",
         "model.latent.dim=64"],
        "ProGAN (widths 32-16, z 64, batch 16), grown 4 -> 32 over the first 3/4 of the run",
    ),
}  # fmt: skip
#: the (model, augment) pairs run on every subset; ProGAN runs once, on all 10,000 digits
PAIRS = [(m, a) for m in ("dcgan", "stylegan2") for a in AUGMENTS]
EXTRA = [("progan", "none", 10000)]
#: ProGAN's calibration runs at 32x32 from its first iterations (its slowest resolution)
CALIBRATE = {"progan": ["model.schedule.fade_images=16", "model.schedule.stable_images=16"]}
COMMON = ["data=image_folder", "data.channels=1", "data.image_size=32", "metrics=none",
          "logger=csv", "trainer.enable_progress_bar=false", "seed=0", "log_every=50"]  # fmt: skip
NUM = 5000


def subset_folder(k: int, runs: Path) -> Path:
    """A class-folder copy (symbolic links) of a fixed draw of ``k`` of the 10,000 digits."""
    if k >= 10000:
        return DIGITS
    folder = runs / "data" / f"n{k}"
    if not folder.exists():
        files = sorted(DIGITS.glob("*/*.png"))
        chosen = torch.randperm(len(files), generator=torch.Generator().manual_seed(0))[:k]
        tmp = folder.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        for i in chosen.tolist():
            target = tmp / files[i].parent.name / files[i].name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(files[i])
        tmp.rename(folder)
    return folder


def progressive(iterations: int) -> list[str]:
    """ProGAN's seven phases (4x4 stable, then fade + stable at 8, 16, 32) in 3/4 of the run."""
    phase = max(1, int(0.75 * iterations * 16 / 7))
    return [f"model.schedule.fade_images={phase}", f"model.schedule.stable_images={phase}"]


def train_command(model: str, augment: str, k: int, runs: Path, cache: Path) -> list[str]:
    overrides, _ = MODELS[model]
    extra = ADA if augment == "ada" else []
    return [sys.executable, "-m", "gans.train", *COMMON, *overrides, f"augment={augment}", *extra,
            f"data.root={subset_folder(k, runs)}", f"data.cache_dir={cache}/n{k}"]  # fmt: skip


def calibrate(model: str, augment: str, runs: Path, cache: Path) -> float:
    """Training iterations per second of the pair on this machine (a 40 s run, 1,000 images)."""
    out = runs / "calibration" / f"{model}-{augment}"
    summary = out / "summary.json"
    if not summary.exists():
        shutil.rmtree(out, ignore_errors=True)
        run([*train_command(model, augment, 1000, runs, cache), *CALIBRATE.get(model, []),
             "iterations=100000",
             "+trainer.max_time=00:00:00:40", "sample_every=0", "checkpoint_every=100000",
             f"hydra.run.dir={out}"])  # fmt: skip
    return float(json.loads(summary.read_text())["iterations_per_s"])


def train_and_score(
    model: str, augment: str, k: int, iterations: int, runs: Path, cache: Path
) -> dict:
    folder = runs / f"{model}-{augment}-n{k}"
    last = folder / "checkpoints" / "last.ckpt"
    record_file = folder / f"eval-{iterations}.json"
    if record_file.exists():
        return json.loads(record_file.read_text())
    if trained_to(last) < iterations:
        resume = [f"ckpt_path={last}"] if last.exists() else []
        schedule = progressive(iterations) if model == "progan" else []
        run([*train_command(model, augment, k, runs, cache), *schedule, f"iterations={iterations}",
             f"sample_every={iterations}", f"checkpoint_every={max(1, iterations // 4)}",
             f"hydra.run.dir={folder}", *resume])  # fmt: skip
        provenance.record_run(HERE, folder.name, folder)
    out = folder / "eval.json"
    run([sys.executable, "-m", "gans.evaluate", f"ckpt={last}", f"num_samples={NUM}",
         f"metrics.num_reference={NUM}", f"metrics.cache_dir={cache}", f"out={out}",
         f"+data.root={DIGITS}", f"+data.datamodule.root={DIGITS}",
         f"+data.cache_dir={cache}/n10000",
         f"+data.datamodule.cache_dir={cache}/n10000"])  # fmt: skip
    scored = json.loads(out.read_text())
    state = torch.load(last, map_location="cpu", weights_only=True)["state_dict"]
    summary = json.loads((folder / "summary.json").read_text())
    record = {
        "model": model,
        "augment": augment,
        "images": k,
        "iteration": scored["iteration"],
        "train_seconds": summary["seconds"],
        "fid": scored["scores"]["fid"],
        "kid": scored["scores"]["kid"],
        "precision": scored["scores"].get("precision"),
        "recall": scored["scores"].get("recall"),
        "ada_p": float(state["augment.p"]) if "augment.p" in state else None,
        "protocol": scored["tag"],
    }
    grid = sorted((folder / "samples").glob("iter_*.png"))
    if grid:
        (HERE / "images").mkdir(exist_ok=True)
        shutil.copy(grid[-1], HERE / "images" / f"{model}-{augment}-n{k}.png")
    record_file.write_text(json.dumps(record, indent=2))
    return record


def floors(runs: Path, cache: Path) -> dict[int, float]:
    """The FID of each subset's images (5,000 draws with replacement) against the reference."""
    out = HERE / "floors.json"
    if out.exists():
        return {int(k): v for k, v in json.loads(out.read_text()).items()}
    script = ROOT / "experiments" / "small_data" / "floor.py"
    found = {}
    for k in SUBSETS:
        done = subprocess.run(
            [sys.executable, str(script), str(subset_folder(k, runs)), str(DIGITS), str(cache),
             str(NUM)],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )  # fmt: skip
        found[k] = float(done.stdout.strip().splitlines()[-1])
    out.write_text(json.dumps(found, indent=2))
    return found


def table(records: list[dict], floor: dict[int, float], rates: dict, budget: float) -> str:
    rows = [
        "| model | augment | images | iterations | FID | KID | precision | recall "
        "| ADA's final p |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for k in SUBSETS:
        for model in MODELS:
            for augment in AUGMENTS:
                found = [r for r in records if (r["model"], r["augment"], r["images"]) ==
                         (model, augment, k)]  # fmt: skip
                if not found:
                    continue
                r = found[-1]
                p = "-" if r["ada_p"] is None else f"{r['ada_p']:.3f}"
                rows.append(
                    f"| {model} | {augment} | {k:,} | {r['iteration']:,} | {r['fid']:.2f} "
                    f"| {r['kid']:.3f} | {r['precision']:.3f} | {r['recall']:.3f} | {p} |"
                )
        rows.append(f"| floor: the {k:,} training images themselves | - | {k:,} | - "
                    f"| {floor[k]:.2f} | - | - | - | - |")  # fmt: skip
    speeds = ", ".join(f"{name} {rate:.2f} it/s" for name, rate in rates.items())
    rows.append("")
    rows.append(f"Budget: {budget:.0f} s of training per run at the calibrated speeds ({speeds}).")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=float, default=180.0, help="training seconds per run")
    parser.add_argument("--models", default="dcgan,stylegan2")
    parser.add_argument("--augments", default=",".join(AUGMENTS))
    parser.add_argument("--subsets", default=",".join(map(str, SUBSETS)))
    parser.add_argument("--runs", default=str(ROOT / "outputs" / "small_data"))
    parser.add_argument("--no-extra", dest="extra", action="store_false",
                        help="leave out ProGAN's one run")  # fmt: skip
    args = parser.parse_args()
    runs = Path(args.runs)
    cache = runs / "cache"
    subsets = list(map(int, args.subsets.split(",")))
    runs_to_do = [(m, a, k) for m in args.models.split(",") for a in args.augments.split(",")
                  for k in subsets if (m, a) in PAIRS]  # fmt: skip
    runs_to_do += [run_ for run_ in EXTRA if args.extra and run_[2] in subsets]
    # every speed first, on an idle machine; then the runs, whose length no longer depends on it
    rates = {f"{m}+{a}": calibrate(m, a, runs, cache) for m, a, _ in runs_to_do}
    for model, augment, k in runs_to_do:
        iterations = max(1, int(rates[f"{model}+{augment}"] * args.budget))
        started = time.perf_counter()
        record = train_and_score(model, augment, k, iterations, runs, cache)
        record["wall_seconds"] = round(time.perf_counter() - started, 1)
        print(json.dumps(record), flush=True)
    records = [json.loads(p.read_text()) for p in sorted(runs.glob("*-n*/eval-*.json"))]
    floor = floors(runs, cache)
    (HERE / "results.json").write_text(
        json.dumps(
            {"budget_s": args.budget, "rates": rates, "floors": floor, "runs": records}, indent=2
        )  # fmt: skip
    )
    replace_table(HERE / "README.md", table(records, floor, rates, args.budget))


if __name__ == "__main__":
    main()
