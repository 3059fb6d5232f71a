"""'Are GANs created equal?' on MNIST (after Lucic et al. 2018): the same random search for every
loss, then the best configuration of each with 5 seeds.

    python experiments/created_equal/run.py                # search, best seeds, collect (resumes)
    python experiments/created_equal/run.py --trials 10 --seeds 5 --iterations 400

Per loss, phase 1 is one Hydra multirun of ``hparams_search=random`` (Optuna's random sampler
over the learning rate, Adam's betas and D steps per G step) under
``runs/<loss>/search/part<k>``; phase 2 is one multirun of the best configuration with
``seed=1,...,5`` under ``runs/<loss>/best/seed<s>``. Every job is a W&B run in the loss's group
(project ``gans-created-equal``; offline without credentials). Finished jobs (``summary.json``,
or ``failed.json`` for a diverged one) are skipped: a resumed search draws its remaining
configurations from ``sampler seed + finished``, so it never repeats one. Then ``collect.py``
writes the table, ``results.json`` and ``fid_boxplot.png``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import provenance  # noqa: E402
from collect import best_job, finished_jobs  # noqa: E402
from finished import finished  # noqa: E402

# The presets the study compares, each with Adam (Lucic et al. 2018 train every model with Adam;
# WGAN's own RMSProp has no betas to search) and without WGAN's 100-step critic warm-up (not in
# Lucic et al.; it would be 2,500 extra critic steps of a 400-iteration run).
LOSSES: dict[str, list[str]] = {
    "nonsaturating": ["model=dcgan", "loss=nonsaturating"],
    "minimax": ["model=dcgan", "loss=minimax"],
    "wgan": ["model=wgan", "optimizer=adam", "model.critic_boost.steps=0"],
    "wgan_gp": ["model=wgan_gp"],
    "lsgan": ["model=lsgan"],
    "sngan_hinge": ["model=sngan"],
}
SEARCHED = ("optimizer.lr", "optimizer.beta1", "optimizer.beta2", "model.n_critic")


def common(iterations: int, loss: str) -> list[str]:
    """What every job shares: the real MNIST digits at 16x16, one architecture (DCGAN, 16 base
    channels) for every loss as in Lucic et al., batch 64, no EMA, a fixed number of G iterations,
    FID (the domain classifier's features, 2,000 samples) at the end."""
    return [
        "data=mnist",
        "data.image_size=16",
        "data.batch_size=64",
        "model.generator.base_channels=16",
        "model.discriminator.base_channels=16",
        "ema.enabled=false",
        f"iterations={iterations}",
        f"metrics.every={iterations}",
        f"sample_every={iterations}",
        "checkpoint_every=0",
        "trainer.enable_progress_bar=false",
        "logger=wandb",
        "logger.wandb.project=gans-created-equal",
        f"logger.wandb.group={loss}",
    ]


def multirun(name: str, overrides: list[str], log: Path) -> int:
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "gans.train", "-m", *overrides]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # --jobs multiruns at once, one core each
    started = time.perf_counter()
    with open(log, "a") as out:
        code = subprocess.call(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    print(f"{name}: exit {code} in {time.perf_counter() - started:.0f} s ({log})", flush=True)
    return code


def search(loss: str, args: argparse.Namespace) -> int:
    folder = args.runs / loss / "search"
    done = len(finished_jobs(folder))
    if done >= args.trials:
        return 0
    overrides = [
        *LOSSES[loss],
        *common(args.iterations, loss),
        "hparams_search=random",
        f"hydra.sweeper.n_trials={args.trials - done}",
        f"hydra.sweeper.sampler.seed={args.sampler_seed + done}",
        f"hydra.sweep.dir={folder / f'part{done}'}",
        "hydra.sweep.subdir=${hydra.job.num}",
        "seed=0",
    ]
    return multirun(f"{loss} search ({args.trials - done} configurations)", overrides,
                    folder / "multirun.log")  # fmt: skip


def best_seeds(loss: str, args: argparse.Namespace) -> int:
    best = best_job(args.runs / loss / "search", SEARCHED)
    if best is None:
        print(f"{loss}: no finished configuration to repeat", flush=True)
        return 1
    folder = args.runs / loss / "best"
    wanted = range(1, args.seeds + 1)
    missing = [s for s in wanted if not finished(folder / f"seed{s}")]
    if not missing:
        return 0
    overrides = [
        *LOSSES[loss],
        *common(args.iterations, loss),
        *best["params"],
        f"seed={','.join(map(str, missing))}",
        f"hydra.sweep.dir={folder}",
        "hydra.sweep.subdir=seed${seed}",
    ]
    code = multirun(f"{loss} best x {len(missing)} seeds", overrides, folder / "multirun.log")
    if code == 0:  # the table's row: the loss at its best configuration
        provenance.record_run(HERE, loss, folder / f"seed{missing[0]}")
    return code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10, help="configurations per loss")
    parser.add_argument("--seeds", type=int, default=5, help="seeds of each loss's best")
    parser.add_argument("--iterations", type=int, default=400, help="G iterations per run")
    parser.add_argument("--sampler-seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="multiruns at once (one core each)")
    parser.add_argument("--only", nargs="*", default=None, help="losses to run")
    parser.add_argument("--runs", type=Path, default=HERE / "runs")
    args = parser.parse_args()
    losses = [loss for loss in LOSSES if not args.only or loss in args.only]
    with ThreadPoolExecutor(args.jobs) as pool:
        codes = list(pool.map(lambda loss: search(loss, args), losses))
        codes += list(pool.map(lambda loss: best_seeds(loss, args), losses))
    collect = [sys.executable, str(HERE / "collect.py"), "--runs", str(args.runs)]
    return subprocess.call(collect, cwd=ROOT) or int(any(codes))


if __name__ == "__main__":
    sys.exit(main())
