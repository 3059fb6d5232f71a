"""VQGAN on the real MNIST digits: stage 1 with and without its adversarial loss, with the
discriminator switched on at the start or half-way, with 512 and 64 codes; then stage 2 (the
transformer prior) on the codes of the stage 1 trained adversarially from the start, scored beside
the VAE and DCGAN.

    python experiments/vqgan/run.py                 # train what is missing, score, write tables
    python experiments/vqgan/run.py --only adv_start500

Data: the 10,000 real MNIST test digits (``../shared/data/mnist-test/images``), 1,000 of them
held out (``data.holdout=1000``, a fixed draw) for the reconstruction metrics: L1, PSNR, SSIM,
rFID (the FID of the reconstructions against the held-out images) and codebook usage and
perplexity, measured every 100 iterations during training (the CSV log keeps each) and by
``gans.evaluate`` at the end. Stage 2's samples are scored by ``gans.evaluate`` at N = 5,000
against the first 5,000 real digits of all 10,000 (``+data.datamodule.holdout=0``): the
protocol of ``experiments/latent_models`` (same classifier), whose VAE and DCGAN rows are
quoted. Fixed iterations, seed 0; finished runs are skipped, a run short of its budget is
resumed; ``results.json``, the images and the tables between the markers in ``README.md`` are
rewritten from every result found.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))
import provenance  # noqa: E402
from latent_models.run import MNIST, replace_table, run, trained_to  # noqa: E402  (shared runner)

DATA = [*MNIST, "data.num_classes=10", "data.holdout=1000"]
TRAIN = ["logger=csv", "trainer.enable_progress_bar=false", "seed=0"]
STAGE1_ITERATIONS, STAGE2_ITERATIONS = 1000, 2000
STAGE1 = ["model=vqgan", f"iterations={STAGE1_ITERATIONS}", "metrics.every=100", "sample_every=500",
          "checkpoint_every=500"]  # fmt: skip
#: name -> (overrides, what it is)
STAGE1_RUNS: dict[str, tuple[list[str], str]] = {
    "rec_only": (["model.disc_start=100000"], "no adversarial loss (L1 + perceptual + codebook)"),
    "adv_start0": (["model.disc_start=0"], "adversarial from iteration 0"),
    "adv_start500": (["model.disc_start=500"], "adversarial from iteration 500 (default shape)"),
    "adv_start500_k64": (
        ["model.disc_start=500", "model.quantizer.num_codes=64"],
        "as above, 64 codes",
    ),
    "adv_start500_ema": (
        ["model.disc_start=500", "model.quantizer.ema=true", "model.quantizer.restart_below=0.1"],
        "as adv_start500, EMA codebook + dead-code restarts",
    ),
}
STAGE2 = ["model=vqgan_transformer", f"iterations={STAGE2_ITERATIONS}", "metrics=none",
          "sample_every=1000", "checkpoint_every=1000"]  # fmt: skip
#: name -> (the stage-1 run it models, what it is)
STAGE2_RUNS: dict[str, tuple[str, str]] = {
    "prior_adv_start0": ("adv_start0", "transformer prior on adv_start0's codes"),
}
LATENT_MODELS = HERE.parent / "latent_models" / "results.csv"


def history(folder: Path) -> list[dict]:
    """The reconstruction metrics logged during training, one row per evaluation."""
    rows = []
    for path in sorted((folder / "csv").rglob("metrics.csv")):
        with path.open() as f:
            for row in csv.DictReader(f):
                scores = {k.split("/")[0]: float(v) for k, v in row.items() if v and "/" in k}
                if "rfid" in scores:
                    rows.append({"iteration": int(float(row["step"])), **scores})
    return rows


def train(folder: Path, overrides: list[str], iterations: int) -> float | None:
    """Train (or resume) the run in ``folder`` up to ``iterations``; the seconds it took, or
    None when its checkpoint had them already."""
    last = folder / "checkpoints" / "last.ckpt"
    if trained_to(last) >= iterations:
        return None
    resume = [f"ckpt_path={last}"] if last.exists() else []
    started = time.perf_counter()
    run([sys.executable, "-m", "gans.train", *overrides, *DATA, *TRAIN,
         f"hydra.run.dir={folder}", *resume])  # fmt: skip
    provenance.record_run(HERE, folder.name, folder)
    return round(time.perf_counter() - started, 1)


def stage1(name: str, runs: Path) -> dict:
    folder = runs / name
    record_file = folder / "record.json"
    if record_file.exists():
        return json.loads(record_file.read_text())
    overrides, _ = STAGE1_RUNS[name]
    seconds = train(folder, [*STAGE1, *overrides], STAGE1_ITERATIONS)
    out = folder / "eval.json"
    run([sys.executable, "-m", "gans.evaluate", f"ckpt={folder / 'checkpoints' / 'last.ckpt'}",
         f"out={out}"])  # fmt: skip
    scored = json.loads(out.read_text())
    record = {"name": name, "iteration": scored["iteration"], "wall_seconds": seconds,
              "scores": scored["scores"], "protocol": scored["tag"],
              "history": history(folder)}  # fmt: skip
    record_file.write_text(json.dumps(record, indent=2))
    grids = sorted((folder / "samples").glob("recon_*.png"))
    if grids:
        shutil.copy(grids[-1], HERE / f"{name}_reconstructions.png")
    return record


def stage2(name: str, runs: Path) -> dict:
    folder = runs / name
    record_file = folder / "record.json"
    if record_file.exists():
        return json.loads(record_file.read_text())
    first, _ = STAGE2_RUNS[name]
    stage1(first, runs)
    first_ckpt = runs / first / "checkpoints" / "last.ckpt"
    seconds = train(folder, [*STAGE2, f"model.first_stage={first_ckpt}"], STAGE2_ITERATIONS)
    out = folder / "eval.json"
    run([sys.executable, "-m", "gans.evaluate", f"ckpt={folder / 'checkpoints' / 'last.ckpt'}",
         "num_samples=5000", "metrics.num_reference=5000", "+data.datamodule.holdout=0",
         f"out={out}"])  # fmt: skip
    scored = json.loads(out.read_text())
    record = {"name": name, "iteration": scored["iteration"], "wall_seconds": seconds,
              "scores": scored["scores"], "protocol": scored["tag"]}  # fmt: skip
    record_file.write_text(json.dumps(record, indent=2))
    grids = sorted((folder / "samples").glob("classes_*.png")) or sorted(
        (folder / "samples").glob("iter_*.png")
    )
    if grids:
        shutil.copy(grids[-1], HERE / f"{name}_samples.png")
    return record


def at(record: dict, iteration: int, key: str) -> str:
    for row in record.get("history", []):
        if row["iteration"] == iteration and key in row:
            return f"{row[key]:.2f}"
    return "-"


def stage1_table(records: dict) -> str:
    rows = ["| stage 1 | iterations | rFID | PSNR (dB) | SSIM | L1 | codebook usage | perplexity "
            "| PSNR at 500 -> 600 | rFID at 500 -> 600 |",
            "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, (_, what) in STAGE1_RUNS.items():
        if name not in records:
            continue
        r, s = records[name], records[name]["scores"]
        rows.append(
            f"| {name}: {what} | {r['iteration']} | {s['rfid']:.2f} | {s['psnr']:.2f} "
            f"| {s['ssim']:.3f} | {s['l1']:.4f} | {s['codebook_usage']:.3f} "
            f"| {s['codebook_perplexity']:.1f} | {at(r, 500, 'psnr')} -> {at(r, 600, 'psnr')} "
            f"| {at(r, 500, 'rfid')} -> {at(r, 600, 'rfid')} |"
        )
    return "\n".join(rows)


def latent_models_rows() -> list[str]:
    """The VAE and DCGAN rows of experiments/latent_models (same protocol), seed means."""
    if not LATENT_MODELS.exists():
        return []
    by_model: dict[str, list[dict]] = {}
    with LATENT_MODELS.open() as f:
        for row in csv.DictReader(f):
            by_model.setdefault(row["model"], []).append(row)
    rows = []
    for name in ("vae_conv_b200", "dcgan"):
        found = by_model.get(name, [])
        if found:
            fids = [float(r["fid"]) for r in found]
            recall = [float(r["recall"]) for r in found]
            rows.append(
                f"| {name} (experiments/latent_models, {len(found)} seeds) | "
                f"{found[0]['iteration']} | {sum(fids) / len(fids):.2f} | - "
                f"| {sum(recall) / len(recall):.3f} | {found[0]['protocol']} |"
            )
    return rows


def stage2_table(records: dict) -> str:
    rows = ["| model | iterations | FID | cond. acc. | recall | protocol |",
            "|---|---|---|---|---|---|"]  # fmt: skip
    for name, (_, what) in STAGE2_RUNS.items():
        if name in records:
            r, s = records[name], records[name]["scores"]
            rows.append(
                f"| {name}: {what} | {r['iteration']} | {s['fid']:.2f} "
                f"| {s.get('cond_acc', float('nan')):.3f} | {s['recall']:.3f} | {r['protocol']} |"
            )
    rows += latent_models_rows()
    floor = HERE.parent / "latent_models" / "floor.json"
    if floor.exists():
        f = json.loads(floor.read_text())["scores"]
        floor_row = f"| real vs real (the floor) | - | {f['fid']:.2f} | - | {f['recall']:.3f} | - |"
        rows.append(floor_row)
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join([*STAGE1_RUNS, *STAGE2_RUNS]))
    parser.add_argument("--runs", default=str(ROOT / "outputs" / "vqgan"))
    args = parser.parse_args()
    runs = Path(args.runs)
    for name in args.only.split(","):
        record = stage2(name, runs) if name in STAGE2_RUNS else stage1(name, runs)
        print(json.dumps({k: v for k, v in record.items() if k != "history"}), flush=True)
    records = {
        json.loads(p.read_text())["name"]: json.loads(p.read_text())
        for p in sorted(runs.glob("*/record.json"))
    }
    (HERE / "results.json").write_text(json.dumps(records, indent=2))
    text = (
        f"Measured {time.strftime('%Y-%m-%d')} on 2 CPU cores, seed 0.\n\n"
        "**Stage 1** (1,000 held-out digits; rFID on the digits classifier's features):\n\n"
        f"{stage1_table(records)}\n\n"
        "**Stage 2** (5,000 samples against the first 5,000 real digits):\n\n"
        f"{stage2_table(records)}"
    )
    replace_table(HERE / "README.md", text)
    print(text)


if __name__ == "__main__":
    main()
