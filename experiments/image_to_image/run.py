"""Pix2Pix and CycleGAN on the two offline digit tasks, beside a copy-the-input baseline.

    python experiments/image_to_image/run.py     # make the data, train what is missing, score
    python experiments/image_to_image/run.py --only pix2pix

The data come from ``make_data.py`` (edges -> digits pairs; scikit-learn digits <-> MNIST). Each
run is ``python -m gans.train`` with the overrides in :data:`RUNS` (fixed iterations: the results
do not depend on the machine's speed), then ``python -m gans.evaluate`` on the held-out split
(the MNIST domain classifier's features and labels, ``metrics.translation.domain=mnist``). The
baseline is scored by the same evaluator with the identity as the translator. Finished runs are
skipped; ``results.json``, the grids and the tables between the markers in ``README.md`` are
rewritten from every result found.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))
import provenance  # noqa: E402
from latent_models.run import replace_table, run  # noqa: E402  (the experiments' shared runner)

DATA = HERE / "data"
COMMON = ["data.image_size=32", "data.channels_a=1", "data.channels_b=1", "data.hflip=false"]
TRAIN = ["metrics=none", "logger=csv", "sample_every=500", "trainer.enable_progress_bar=false"]
PIX2PIX = [
    *("model=pix2pix", "data=paired_folder", f"data.root={DATA / 'edges2digits'}"),
    *("data.load_size=36", "data.batch_size=32", "iterations=4000"),
    *("model.generator.base_channels=32", "model.discriminator.base_channels=32"),
]
CYCLEGAN = [
    *("model=cyclegan", "data=unpaired_folder", f"data.root={DATA / 'digits2mnist'}"),
    *("data.batch_size=16", "iterations=2000", "model.generator_ab.n_blocks=6"),
    *("model.generator_ab.base_channels=16", "model.discriminator_a.base_channels=16"),
]
#: name -> (overrides, what it is)
RUNS: dict[str, tuple[list[str], str]] = {
    "pix2pix": (PIX2PIX, "Pix2Pix: U-Net (5 levels, width 32), 70x70 PatchGAN, lambda_L1 100"),
    "cyclegan": (CYCLEGAN, "CycleGAN: ResNet G (6 blocks, width 16), LSGAN, identity 0.5"),
    "cyclegan_no_identity": (
        [*CYCLEGAN, "model.lambda_identity=0"],
        "CycleGAN without the identity loss",
    ),
}
SCORE = ["metrics.translation.domain=mnist"]


def train_and_score(name: str, runs: Path) -> dict:
    folder = runs / name
    record_file = folder / "record.json"
    if record_file.exists():
        return json.loads(record_file.read_text())
    overrides, _ = RUNS[name]
    started = time.perf_counter()
    run([sys.executable, "-m", "gans.train", *overrides, *COMMON, *TRAIN, "seed=0",
         f"hydra.run.dir={folder}"])  # fmt: skip
    seconds = time.perf_counter() - started
    provenance.record_run(HERE, name, folder)
    out = folder / "eval.json"
    run([sys.executable, "-m", "gans.evaluate", f"ckpt={folder / 'checkpoints' / 'last.ckpt'}",
         *SCORE, f"out={out}"])  # fmt: skip
    scored = json.loads(out.read_text())
    record = {"name": name, "iteration": scored["iteration"], "wall_seconds": round(seconds, 1),
              "scores": scored["scores"], "protocol": scored["tag"]}  # fmt: skip
    record_file.write_text(json.dumps(record, indent=2))
    grids = sorted((folder / "samples").glob("translation_*.png"))
    if grids:
        shutil.copy(grids[-1], HERE / f"{name}.png")
    return record


def copy_baseline(task: str) -> dict:
    """The scores of handing the input over unchanged (identity translator), same evaluator."""
    from hydra import compose, initialize_config_dir

    from gans import restore
    from gans.metrics.held_out import held_out
    from gans.metrics.measurement import Measurement
    from gans.train import CONF_DIR

    overrides = PIX2PIX if task == "paired" else CYCLEGAN
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="train", overrides=[*overrides, *COMMON, *SCORE,
                      "paths.run_dir=/tmp/image-to-image-baseline"])  # fmt: skip
    data = restore.datamodule(cfg)
    evaluator = Measurement(cfg, data).translation()
    held = held_out(data)

    def same(x, direction="AtoB"):  # noqa: ANN001, ANN202
        return x

    if task == "paired":
        stamped = evaluator.paired(same, *held["paired"], "cpu", False)
    else:
        stamped = evaluator.unpaired(same, held, "cpu", False)
    return {key.split("/")[0]: value for key, value in stamped.items()}


def paired_table(records: dict, baseline: dict) -> str:
    rows = ["| translator | iterations | L1 | PSNR (dB) | SSIM | FID |",
            "|---|---|---|---|---|---|"]  # fmt: skip

    def row(what: str, its: str, s: dict) -> str:
        return (f"| {what} | {its} | {s['l1']:.4f} | {s['psnr']:.2f} | {s['ssim']:.3f} "
                f"| {s['fid']:.2f} |")  # fmt: skip

    rows.append(row("copy the input (the edge map itself)", "-", baseline))
    if "pix2pix" in records:
        r = records["pix2pix"]
        rows.append(row(RUNS["pix2pix"][1], str(r["iteration"]), r["scores"]))
    return "\n".join(rows)


def unpaired_table(records: dict, baseline: dict) -> str:
    rows = ["| translator | iterations | FID A->B | labels kept A->B | cycle L1 A | "
            "FID B->A | labels kept B->A | cycle L1 B |",
            "|---|---|---|---|---|---|---|---|"]  # fmt: skip

    def row(what: str, its: str, s: dict) -> str:
        cells = [what, its]
        for direction in ("AtoB", "BtoA"):
            cells += [f"{s[f'fid_{direction}']:.2f}", f"{s.get(f'label_acc_{direction}', 0):.3f}",
                      f"{s[f'cycle_l1_{direction}']:.4f}"]  # fmt: skip
        return "| " + " | ".join(cells) + " |"

    rows.append(row("copy the input (G = F = identity)", "-", baseline))
    for name in ("cyclegan", "cyclegan_no_identity"):
        if name in records:
            r = records[name]
            rows.append(row(RUNS[name][1], str(r["iteration"]), r["scores"]))
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(RUNS))
    parser.add_argument("--runs", default=str(ROOT / "outputs" / "image_to_image"))
    args = parser.parse_args()
    subprocess.run([sys.executable, str(HERE / "make_data.py"), f"--out={DATA}"], check=True)
    runs = Path(args.runs)
    for name in args.only.split(","):
        print(json.dumps(train_and_score(name, runs)), flush=True)
    records = {
        json.loads(p.read_text())["name"]: json.loads(p.read_text())
        for p in sorted(runs.glob("*/record.json"))
    }
    baselines = {"paired": copy_baseline("paired"), "unpaired": copy_baseline("unpaired")}
    (HERE / "results.json").write_text(
        json.dumps({"runs": records, "copy_baseline": baselines}, indent=2)
    )
    text = (
        f"Measured {time.strftime('%Y-%m-%d')} on 2 CPU cores, seed 0 (training speed: "
        "`benchmarks/README.md`).\n\n"
        "**Pix2Pix, edges -> digits** (1,000 held-out pairs):\n\n"
        f"{paired_table(records, baselines['paired'])}\n\n"
        "**CycleGAN, scikit-learn digits (A) <-> MNIST (B)** (300 held-out A, 1,000 held-out "
        "B):\n\n"
        f"{unpaired_table(records, baselines['unpaired'])}"
    )
    replace_table(HERE / "README.md", text)
    print(text)


if __name__ == "__main__":
    main()
