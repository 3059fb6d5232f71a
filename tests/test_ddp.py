"""Two CPU processes (gloo) for DCGAN and WGAN-GP: both ranks end with identical weights, and the
FID logged equals the FID of all ranks' samples recomputed in one process."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gans import restore
from gans.metrics.measurement import Measurement
from tests import layouts
from tests.conftest import TINY

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("model", ["dcgan", "wgan_gp"])
def test_two_rank_run_has_identical_ranks_and_the_all_rank_metric(tmp_path, model):
    run = tmp_path / "run"
    overrides = [
        *[o for o in TINY if not o.startswith("metrics")],
        f"model={model}",
        "trainer=ddp_cpu",
        "iterations=3",
        "ema.enabled=true",
        "logger=csv",
        "metrics.every=3",
        "metrics.num_samples=64",
        "metrics.num_reference=128",
        "metrics.kid_subset_size=32",
        "metrics.batch_size=32",
        "metrics.classifier.steps=20",
        f"metrics.cache_dir={tmp_path / 'cache'}",
        f"paths.run_dir={run}",
    ]
    env = {**os.environ, "WANDB_MODE": "offline", "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "ddp_job.py"), *overrides],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [torch.load(run / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    streams = [r.pop("torch_rng_state") for r in ranks]
    assert not torch.equal(*streams)  # each rank draws its own noise: no duplicated fakes
    assert ranks[0].keys() == ranks[1].keys()
    for key, value in ranks[0].items():  # G, D, EMA weights and every BatchNorm statistic
        assert torch.equal(value, ranks[1][key]), key
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 3
    assert len(checkpoint["gans"]["rng_ranks"]) == 2  # each rank's streams, for an exact resume
    for key, value in checkpoint["state_dict"].items():
        assert torch.equal(value, ranks[0][key]), key

    (metrics_csv,) = run.glob("csv/**/metrics.csv")
    with open(metrics_csv) as f:
        rows = [r for r in csv.DictReader(f) if any(k.startswith("fid/") and r[k] for k in r)]
    assert len(rows) == 1 and int(rows[0]["step"]) == 3
    logged = {k.split("/")[0]: float(v) for k, v in rows[0].items() if "/" in k and v}

    # recompute in one process: rank 0's share and rank 1's share of the same fixed noise
    cfg, gan, _ = restore.restore(run / "checkpoints" / "last.ckpt")
    evaluator = Measurement(cfg, restore.datamodule(cfg)).images()
    evaluator.prepare("cpu")
    evaluator.suite.reset()
    for rank in (0, 1):
        evaluator.add_samples(gan.sample, (rank, 2))
    recomputed = evaluator.suite.compute()
    assert recomputed["fid"] == pytest.approx(logged["fid"], rel=1e-4)
    assert recomputed["precision"] == pytest.approx(logged["precision"], abs=1e-6)
    assert recomputed["recall"] == pytest.approx(logged["recall"], abs=1e-6)


@pytest.mark.parametrize("logger", ["wandb", "tensorboard", "none"])
def test_two_rank_run_works_with_each_logger(tmp_path, logger):
    """``trainer=ddp_cpu`` with the default logger (W&B, offline here) and the others: on rank 1
    a W&B experiment is a dummy, and nothing may read its attributes there."""
    run = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "gans.train", *TINY, "trainer=ddp_cpu", "iterations=2",
         f"logger={logger}", f"hydra.run.dir={run}"],
        cwd=ROOT,
        env={**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 2
    if logger == "wandb":
        assert len(list((run / "wandb").glob("offline-run-*"))) == 1  # one run, from rank 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_nodes_under_torchrun_end_with_identical_weights(tmp_path):
    """Multi-node DDP as a cluster starts it: one ``torchrun`` per "node" (one process each, a
    localhost rendezvous, gloo); Lightning reads the ranks torchrun sets."""
    run, port = tmp_path / "run", free_port()
    overrides = [
        *TINY, "iterations=3", "ema.enabled=true", "logger=none", "trainer=ddp_cpu",
        "trainer.devices=1", "trainer.num_nodes=2", f"paths.run_dir={run}",
    ]  # fmt: skip
    env = {**os.environ, "WANDB_MODE": "offline", "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    nodes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--nnodes=2",
                "--nproc_per_node=1",
                f"--node_rank={rank}",
                "--master_addr=127.0.0.1",
                f"--master_port={port}",
                str(ROOT / "tests" / "ddp_job.py"),
                *overrides,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # torchrun signals its process group when it shuts down
        )  # fmt: skip
        for rank in (0, 1)
    ]
    for node in nodes:
        out, _ = node.communicate(timeout=600)
        assert node.returncode == 0, out[-3000:]
    ranks = [torch.load(run / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert not torch.equal(ranks[0].pop("torch_rng_state"), ranks[1].pop("torch_rng_state"))
    for key, value in ranks[0].items():
        assert torch.equal(value, ranks[1][key]), key
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 3 and len(checkpoint["gans"]["rng_ranks"]) == 2


def test_processes_on_one_machine_decode_the_dataset_once(tmp_path):
    """torchrun starts both processes at once: local rank 1 waits for rank 0's cache."""
    layouts.png_folder(tmp_path / "images", {"a": 48, "b": 48})
    overrides = [
        *TINY, "iterations=2", "logger=none", "trainer=ddp_cpu", f"paths.run_dir={tmp_path / 'r'}",
        "data=image_folder", f"data.root={tmp_path / 'images'}", "data.channels=1",
        f"data.cache_dir={tmp_path / 'cache'}",
    ]  # fmt: skip
    env = {**os.environ, "WANDB_MODE": "offline", "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(ROOT / "tests" / "ddp_job.py"), *overrides],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
        start_new_session=True,  # torchrun signals its process group when it shuts down
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    log = done.stdout + done.stderr
    assert log.count("decoded 96 images") == 1, log[-3000:]
    assert len(list((tmp_path / "cache").glob("*.pt"))) == 1
