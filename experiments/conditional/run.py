"""Class-conditional GANs on one protocol: cGAN, ACGAN (and its class-loss variants), the
projection-D DCGAN, SAGAN and a small BigGAN on the 10,000 real MNIST test digits, each row
marked against issue 38's targets.

    python experiments/conditional/run.py                    # train what is missing, score, write
    python experiments/conditional/run.py --models cdcgan --seeds 0

Each run is ``python -m gans.train model=<m> data=mnist data.root=../shared/data/mnist-test``
(the raw IDX files; the model's ``conf/preset/<m>_mnist.yaml`` applies) for the row's fixed
number of iterations (a checkpoint every 500; resumed after an interruption), or, for the rows
without one (measured 2026-11-26), stopped after ``--budget`` seconds by Lightning's
``max_time``; then ``gans.evaluate`` at N = 5,000 samples against the first 5,000 real digits,
with 500 samples per class for the conditional accuracy and the intra-class FID (the domain
classifier's features). Runs live in ``--runs`` and are not retrained once scored;
``results.csv`` (earlier rows kept), each model's per-class grid (seed 0), ``settings.json``
and the table and stale block in ``README.md`` are rewritten from every result found.
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
from latent_models.run import (  # noqa: E402  (the experiments' shared runner)
    merged,
    record_settings,
    replace_table,
    run,
    spread,
    trained_to,
)

DIGITS = ROOT.parent / "shared" / "data" / "mnist-test" / "raw"  # the t10k IDX .gz files
DATA = ["data=mnist", f"data.root={DIGITS}", "data.split=test"]
#: name -> (overrides, what it is); every run also gets the time budget
MODELS: dict[str, tuple[list[str], str]] = {
    "cgan": (["model=cgan"], "cGAN: Mirza & Osindero's MLPs, one-hot label beside z and x"),
    # the paper's dropout 0.5 in G too (Sec. 4.1: "applied to both the generator and discriminator")
    "cgan_dropout": (
        ["model=cgan", "model.generator.dropout=0.5"],
        "cGAN with the paper's dropout 0.5 in G",
    ),
    # GAN-CLS's wrong-label term (Reed et al. 2016): without it the concatenating D ignores labels
    "cgan_cls": (
        ["model=cgan", "iterations=4000", "model.matching_aware=true"],
        "cGAN + GAN-CLS's matching-aware D (real digits with a wrong label count as fake)",
    ),
    # the cGAN ablations of the README's "Why the cGAN ignores its labels" (seed 0 there)
    **{
        f"cgan_{name}_2k": (["model=cgan", "iterations=2000", *change], what)
        for name, change, what in (
            ("paper", [], "cGAN, 2,000 iterations"),
            ("gdrop", ["model.generator.dropout=0.5"], "+ the paper's dropout 0.5 in G"),
            ("indrop0", ["model.discriminator.input_dropout=0"], "no dropout on D's inputs"),
            (
                "nodrop",
                ["model.discriminator.dropout=0", "model.discriminator.input_dropout=0"],
                "no dropout in D",
            ),
            ("sn", ["model.discriminator.spectral_norm=true"], "spectrally normalised D"),
            ("cls", ["model.matching_aware=true"], "GAN-CLS's matching-aware D"),
            (
                "cls_ms",
                ["model.matching_aware=true", "model.mode_seeking=0.5"],
                "matching-aware D + MSGAN's mode seeking (lambda 0.5)",
            ),
            ("gbn", ["model.generator.batch_norm=true"], "BatchNorm in G"),
            (
                "cls_gbn",
                ["model.matching_aware=true", "model.generator.batch_norm=true"],
                "matching-aware D + BatchNorm in G",
            ),
            (
                "cls_ortho",
                ["model.matching_aware=true", "model.generator.init=ortho"],
                "matching-aware D + orthogonal init of G",
            ),
            (
                "cls_ms1",
                ["model.matching_aware=true", "model.mode_seeking=1.0"],
                "matching-aware D + mode seeking (lambda 1, MSGAN's default)",
            ),
            (
                "cls_gbn_ms1",
                [
                    "model.matching_aware=true",
                    "model.generator.batch_norm=true",
                    "model.mode_seeking=1.0",
                ],
                "matching-aware D + BatchNorm in G + mode seeking (lambda 1)",
            ),
            (
                "cls_gbn_ms02",
                [
                    "model.matching_aware=true",
                    "model.generator.batch_norm=true",
                    "model.mode_seeking=0.2",
                ],
                "matching-aware D + BatchNorm in G + mode seeking (lambda 0.2)",
            ),
            # Salimans et al. 2016's minibatch discrimination (their code: 100 kernels of 5)
            ("mbd", ["model.discriminator.minibatch_kernels=100"], "minibatch discrimination in D"),
            (
                "cls_mbd",
                ["model.matching_aware=true", "model.discriminator.minibatch_kernels=100"],
                "matching-aware D + minibatch discrimination",
            ),
            (
                "cls_gbn_mbd",
                [
                    "model.matching_aware=true",
                    "model.generator.batch_norm=true",
                    "model.discriminator.minibatch_kernels=100",
                ],
                "matching-aware D + BatchNorm in G + minibatch discrimination",
            ),
        )
    },
    "acgan": (["model=acgan", "iterations=4000"], "ACGAN: DCGAN networks, D with a class head"),
    # the same ACGAN stopped early: does it collapse within classes as training goes on?
    "acgan_1500": (
        ["model=acgan", "iterations=1500"],
        "ACGAN stopped at 1,500 iterations (inside the budget)",
    ),
    # the class losses of gans/auxiliary.py (model.auxiliary) on the same networks
    "acgan_mod": (
        ["model=acgan", "iterations=4000", "model.auxiliary=mod"],
        "ACGAN-Mod: D's classifier on real digits only (StudioGAN)",
    ),
    "acgan_tac": (
        [
            "model=acgan",
            "iterations=4000",
            "model.auxiliary=tac",
            "model.discriminator.aux_heads=2",
        ],
        "TAC-GAN: a twin classifier of generated digits (Gong et al. 2019)",
    ),
    "acgan_adc": (
        [
            "model=acgan",
            "iterations=4000",
            "model.auxiliary=adc",
            "model.discriminator.aux_heads=2",
        ],
        "ADC-GAN: one classifier over real and generated classes (Hou et al. 2022)",
    ),
    "cdcgan": (
        ["model=cdcgan", "iterations=4000"],  # 7.6 it/s here: 5,000 would be 11 minutes
        "DCGAN networks, conditional BN in G, a spectrally normalised projection D",
    ),
    # the projection D with DCGAN's BatchNorm instead of spectral norm (cdcgan before issue 38)
    "cdcgan_bn": (
        [
            "model=cdcgan",
            "model.discriminator.spectral_norm=false",
            "model.discriminator.norm=batch",
        ],  # fmt: skip
        "cdcgan with DCGAN's BatchNorm D, no spectral norm (before issue 38)",
    ),
    "sagan": (  # 2.6 it/s alone here: 3,000 iterations in about 19 minutes (budget 20)
        ["model=sagan", "iterations=3000"],
        "SAGAN: ResNet, self-attention at 16x16, SN, hinge, TTUR",
    ),
    # SAGAN's per-class BatchNorm tables at identity (gain 1, bias 0) instead of StudioGAN's ortho
    "sagan_cbn0": (
        ["model=sagan", "iterations=3000", "model.generator.cbn_init=identity"],
        "SAGAN with its per-class BatchNorm starting at identity",
    ),
    # the ResNet D's class embedding as it was before issue 38: N(0, 1), not spectrally normalised
    "sagan_psn0": (
        ["model=sagan", "iterations=3000", "model.discriminator.projection_sn=false"],
        "SAGAN with an unnormalised N(0, 1) projection embedding (before issue 38)",
    ),
    "biggan": (
        ["model=biggan", "iterations=2500"],
        "BigGAN (small): shared embedding, hierarchical z, SN, ortho init, EMA",
    ),
    # the shared class embedding as it was before issue 38: PyTorch's N(0, 1), not ortho
    "biggan_shared0": (
        ["model=biggan", "iterations=2500", "model.generator.shared_init=normal"],
        "BigGAN with its shared embedding at N(0, 1) (before issue 38)",
    ),
}
SCORES = ("fid", "precision", "recall", "intra_fid", "cond_acc")
#: issue 38's targets, in 3 of 3 seeds: conditional accuracy >=, recall >=, intra-FID <=, FID <=
TARGETS: dict[str, tuple[float, float, float, float]] = {
    **dict.fromkeys(
        ("cdcgan", "cdcgan_bn", "acgan", "acgan_1500", "acgan_mod", "acgan_tac", "acgan_adc"),
        (0.95, 0.6, 20, 8),
    ),
    **dict.fromkeys(
        ("sagan", "sagan_psn0", "sagan_cbn0", "biggan", "biggan_shared0"), (0.90, 0.6, 30, 15)
    ),
    **dict.fromkeys(("cgan", "cgan_dropout", "cgan_cls"), (0.90, 0.5, 50, 30)),
    **{name: (0.90, 0.5, 50, 30) for name in MODELS if name.endswith("_2k")},
}


def misses(record: dict) -> list[str]:
    """What keeps one run off its row's target (empty: on target)."""
    acc, recall, intra, fid = TARGETS[record["model"]]
    out = []
    if record["cond_acc"] < acc:
        out.append(f"accuracy {record['cond_acc']:.3f} < {acc}")
    if record["recall"] < recall:
        out.append(f"recall {record['recall']:.3f} < {recall}")
    if record["intra_fid"] > intra:
        out.append(f"intra-FID {record['intra_fid']:.1f} > {intra}")
    if record["fid"] > fid:
        out.append(f"FID {record['fid']:.2f} > {fid}")
    return out


def train_overrides(name: str, budget: int, iterations: int | None = None) -> list[str]:
    """The overrides of one row's runs (all but the seed and the places): the model's, the data
    and its length: the model's own ``iterations=N`` or ``iterations`` (a fixed length), else
    ``budget`` seconds of Lightning's ``max_time`` (the wall-clock rows of 2026-11-26)."""
    overrides, _ = MODELS[name]
    if iterations:
        overrides = [o for o in overrides if not o.startswith("iterations=")]
    length = [f"iterations={iterations}"] if iterations else []
    if not iterations and not any(o.startswith("iterations=") for o in overrides):
        clock = time.strftime("%H:%M:%S", time.gmtime(budget))
        length = ["iterations=1000000", f"+trainer.max_time=00:{clock}"]
    # fixed-length runs keep a checkpoint every 500 iterations for trajectory.py
    every = 0 if "+trainer.max_time" in " ".join(length) else 500
    return [*overrides, *length, *DATA, "metrics=none", "logger=csv", "sample_every=0",
            f"checkpoint_every={every}", "trainer.enable_progress_bar=false"]  # fmt: skip


def train_and_score(
    name: str, seed: int, budget: int, runs: Path, cache: Path, iterations: int | None = None
) -> dict:
    folder = runs / f"{name}-s{seed}"
    record_file = folder / "record.json"
    if record_file.exists():
        return json.loads(record_file.read_text())
    last = folder / "checkpoints" / "last.ckpt"
    overrides = train_overrides(name, budget, iterations)
    length = int(next(o for o in overrides if o.startswith("iterations=")).split("=")[1])
    timing = folder / "train_seconds.txt"  # one line per training command (resumes add lines)
    fixed = not any(o.startswith("+trainer.max_time") for o in overrides)
    if not (fixed and trained_to(last) >= length):
        # a fixed-length run resumes where an interruption left it; a wall-clock one starts over
        resume = [f"ckpt_path={last}"] if fixed and last.exists() else []
        started = time.perf_counter()
        run([sys.executable, "-m", "gans.train", *overrides, f"seed={seed}",
             f"data.cache_dir={cache}", f"hydra.run.dir={folder}", *resume])  # fmt: skip
        with open(timing, "a") as f:
            f.write(f"{time.perf_counter() - started:.1f}\n")
    seconds = sum(float(s) for s in timing.read_text().split())
    out = folder / "eval.json"
    run([sys.executable, "-m", "gans.evaluate", f"ckpt={last}", "num_samples=5000",
         "metrics.num_reference=5000", "metrics.per_class=500", f"metrics.cache_dir={cache}",
         f"out={out}", f"+data.cache_dir={cache}"])  # fmt: skip
    scored = json.loads(out.read_text())
    record = {
        "model": name,
        "seed": seed,
        "iteration": scored["iteration"],
        "wall_seconds": round(seconds, 1),
        **{k: scored["scores"].get(k) for k in SCORES},
        "protocol": scored["tag"],
    }
    record_file.write_text(json.dumps(record, indent=2))
    grid = sorted((folder / "samples").glob("classes_*.png"))
    if seed == 0 and grid:
        shutil.copy(grid[-1], HERE / f"{name}_classes.png")
    return record


def floor(cache: Path) -> dict:
    """The real-vs-real floor at N = 5,000 with the runs' classifier (experiments/fid_floor)."""
    out = HERE / "floor.json"
    if not out.exists():
        run([sys.executable, str(ROOT / "experiments" / "fid_floor" / "run.py"), f"--out={out}",
             *DATA, f"metrics.cache_dir={cache}", f"data.cache_dir={cache}"])  # fmt: skip
    return json.loads(out.read_text())


def intra_floor(cache: Path) -> dict:
    """The class-aware scores of real digits: the 5,000 digits after the reference's 5,000 (same
    fixed order), per class, against the reference; per class as many as the rarest class has."""
    out = HERE / "intra_floor.json"
    if out.exists():
        return json.loads(out.read_text())
    import torch
    from hydra import compose, initialize_config_dir

    from gans import restore
    from gans.metrics.measurement import Measurement
    from gans.metrics.reference import real_images
    from gans.train import CONF_DIR

    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="train", overrides=[
            "model=cdcgan", *DATA, "metrics.num_reference=5000", f"metrics.cache_dir={cache}",
            f"data.cache_dir={cache}", "paths.run_dir=/tmp/conditional-floor"])  # fmt: skip
    dm = restore.datamodule(cfg)
    images, labels = (torch.cat(t) for t in zip(*real_images(dm, 10_000), strict=True))
    pools = [images[5000:][labels[5000:] == c] for c in range(10)]
    cfg.metrics.per_class = min(len(p) for p in pools)
    measurement = Measurement(cfg, dm)
    aware = measurement.class_aware(measurement.images())
    taken = [0] * 10

    def held_out(n: int, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        c = int(labels[0])
        taken[c] += n
        return pools[c][taken[c] - n : taken[c]]

    record = {"per_class": cfg.metrics.per_class, **aware.evaluate(held_out, "cpu")}
    out.write_text(json.dumps(record, indent=2))
    return record


def table(records: list[dict], real: dict) -> str:
    """One row per model (mean ± sd over its seeds), marked against its target, then every seed
    of the rows that miss it."""
    rows = [
        "| model | seeds | iterations | train s | FID | intra-FID | conditional acc. | precision "
        "| recall | classifier | on target |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    off = []
    for name, (_, what) in MODELS.items():
        mine = [r for r in records if r["model"] == name]
        if not mine:
            continue
        hit = sum(not misses(r) for r in mine)
        mark = f"{hit} of {len(mine)}" if hit == len(mine) else f"**{hit} of {len(mine)}**"
        off += [f"- `{name}` seed {r['seed']}: {', '.join(misses(r))}" for r in mine if misses(r)]
        classifiers = sorted(
            {r["protocol"].split("_")[0].removeprefix("classifier-") for r in mine}
        )
        cells = [
            f"{name}: {what}", str(len(mine)),
            spread([r["iteration"] for r in mine], 0), spread([r["wall_seconds"] for r in mine], 0),
            spread([r["fid"] for r in mine], 2), spread([r["intra_fid"] for r in mine], 2),
            spread([r["cond_acc"] for r in mine], 3), spread([r["precision"] for r in mine], 3),
            spread([r["recall"] for r in mine], 3), ", ".join(classifiers), mark,
        ]  # fmt: skip
        rows.append("| " + " | ".join(cells) + " |")
    scores, intra = real["scores"], real["intra"]
    rows.append(
        f"| real vs real (5,000 held-out digits against the reference; intra-FID and accuracy on "
        f"{intra['per_class']} per class) | - | - | - | {scores['fid']:.2f} "
        f"| {intra['intra_fid']:.2f} | {intra['cond_acc']:.3f} | {scores['precision']:.3f} "
        f"| {scores['recall']:.3f} | {real.get('weights', '')} | |"
    )
    if off:
        rows += ["", "Seeds off target (issue 38's row targets):", *off]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument(
        "--budget", type=int, default=180, help="training seconds of the wall-clock rows"
    )
    parser.add_argument("--runs", default=str(ROOT / "outputs" / "conditional"))
    parser.add_argument("--cache", default=str(ROOT / "outputs" / "conditional" / "cache"))
    parser.add_argument(
        "--iterations",
        type=int,
        default=None,
        help="fixed iterations per run instead of the wall-clock budget",
    )
    parser.add_argument(
        "--no-readme",
        action="store_true",
        help="print the table without rewriting README.md and results.csv",
    )
    args = parser.parse_args()
    runs, cache = Path(args.runs), Path(args.cache)
    for name in args.models.split(","):
        for seed in map(int, args.seeds.split(",")):
            record = train_and_score(name, seed, args.budget, runs, cache, args.iterations)
            print(json.dumps(record), flush=True)
    records = merged(
        HERE / "results.csv", runs, "*-s*/record.json", ("model", "seed"), list(MODELS)
    )
    real = {**floor(cache), "intra": intra_floor(cache)}
    if args.no_readme:
        print(table(records, real))
        return
    with open(HERE / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    record_settings(HERE, runs, "*-s*/.hydra")
    replace_table(HERE / "README.md", table(records, real))
    print(table(records, real))


if __name__ == "__main__":
    main()
