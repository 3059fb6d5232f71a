"""Fault injection: runs killed at random moments and resumed, a loader worker killed, a full disk
during a checkpoint, NaN injected into a loss, a gradient and a buffer, corrupt and truncated
checkpoints. What is promised is in the README's reliability section; ``make test-faults`` runs
these (CI runs them as their own step)."""

from __future__ import annotations

import math
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import lightning as L
import pytest
import torch

from gans.errors import TrainingDiverged
from gans.train import train
from tests import layouts
from tests.conftest import ROOT, TINY, compose_config, run_train
from tests.test_games import PoisonBuffer
from tests.test_resume import RING, assert_same_state

pytestmark = pytest.mark.faults

ENV = {**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
KILLED = [*RING, "logger=none", "checkpoint_every=1", "data.count=400"]  # 4 batches per epoch
ITERATIONS = 60


def start(run: Path, *overrides: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gans.train", *KILLED, f"iterations={ITERATIONS}",
         f"hydra.run.dir={run}", *overrides],
        cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs,
    )  # fmt: skip


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict:
    run = tmp_path_factory.mktemp("uninterrupted")
    proc = start(run)
    assert proc.wait(timeout=600) == 0, proc.stderr.read().decode()[-2000:]
    return torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)


def finish(run: Path) -> dict:
    """Resume ``run`` from its last checkpoint (or start it again) until it completes."""
    last = run / "checkpoints" / "last.ckpt"
    resume = [f"ckpt_path={last}"] if last.exists() else []
    proc = start(run, *resume)
    assert proc.wait(timeout=600) == 0, proc.stderr.read().decode()[-2000:]
    return torch.load(last, weights_only=True)


@pytest.mark.parametrize("seed", range(4))
def test_sigkill_at_a_random_moment_then_resume_equals_the_uninterrupted_run(
    tmp_path, uninterrupted, seed
):
    """Killed before, during or after a checkpoint write (one is written every iteration) and
    resumed, twice in a row: the final weights, EMA and optimizer states equal the uninterrupted
    run's bit for bit."""
    rng = random.Random(seed)
    run = tmp_path / "run"
    for _ in range(2):
        last = run / "checkpoints" / "last.ckpt"
        resume = [f"ckpt_path={last}"] if last.exists() else []
        proc = start(run, *resume)
        deadline = time.time() + 300
        while not (run / "checkpoints").is_dir() and time.time() < deadline:
            time.sleep(0.02)  # training has started once the first checkpoint is written
        time.sleep(rng.uniform(0.0, 2.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert_same_state(uninterrupted, finish(run))


def worker_pids(parent: int) -> list[int]:
    children = Path(f"/proc/{parent}/task/{parent}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


def test_a_killed_loader_worker_stops_the_run_and_resume_equals_the_uninterrupted_run(tmp_path):
    # 4 batches an epoch: the worker dies in the second epoch and the resumed run crosses more
    layouts.png_folder(tmp_path / "images", {"a": 40, "b": 24}, size=16)
    streamed = [*TINY, "data=image_folder", f"data.root={tmp_path / 'images'}",
                "data.channels=1", "data.in_memory=false", "data.num_workers=2",
                "data.cache=false", "checkpoint_every=1", "logger=none",
                "iterations=12"]  # fmt: skip
    whole = run_train(*streamed, f"hydra.run.dir={tmp_path / 'whole'}")  # same threads as below
    assert whole.returncode == 0, whole.stderr[-2000:]
    run = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gans.train", *streamed, f"hydra.run.dir={run}"],
        cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.time() + 300
    while not (run / "checkpoints" / "iter_000005.ckpt").exists() and time.time() < deadline:
        time.sleep(0.02)
    workers = worker_pids(proc.pid)
    assert workers, "no DataLoader worker processes found"
    os.kill(workers[0], signal.SIGKILL)
    assert proc.wait(timeout=300) != 0  # the loader reports its dead worker; the run stops
    assert b"worker" in proc.stderr.read().lower()
    last = run / "checkpoints" / "last.ckpt"
    resumed = run_train(*streamed, f"ckpt_path={last}", f"hydra.run.dir={run}")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert_same_state(
        torch.load(tmp_path / "whole" / "checkpoints" / "last.ckpt", weights_only=True),
        torch.load(last, weights_only=True),
    )


def test_a_full_disk_during_a_checkpoint_fails_in_one_line_and_keeps_the_previous_one(tmp_path):
    """Files may not grow past half a checkpoint (RLIMIT_FSIZE, as a full disk or a quota would):
    the checkpoint write fails, the run exits with status 4 and one line, the previous checkpoint
    still loads and no temporary file is left."""
    run = tmp_path / "run"
    first = run_train(*KILLED, "iterations=2", f"hydra.run.dir={run}")
    assert first.returncode == 0, first.stderr[-2000:]
    last = run / "checkpoints" / "last.ckpt"
    limit = last.stat().st_size // 2

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run(
        [sys.executable, "-m", "gans.train", *KILLED, "iterations=4", f"ckpt_path={last}",
         f"hydra.run.dir={run}"],
        cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600, preexec_fn=small_files,
    )  # fmt: skip
    assert done.returncode == 4, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "could not write the checkpoint" in errors[0]
    assert "the file-size limit (ulimit -f) was reached" in errors[0]  # says why
    assert f"resume from it with ckpt_path={last}" in errors[0]  # this run's exact file
    assert "Traceback" not in done.stderr
    assert torch.load(last, weights_only=True)["global_step"] == 2
    assert not list((run / "checkpoints").glob(".*.tmp-*"))


class Inject(L.Callback):
    """NaN into D's output (so its loss) or into a gradient of G at iteration ``at`` + 1."""

    def __init__(self, where: str, at: int) -> None:
        self.where, self.at = where, at

    def on_train_start(self, trainer, pl_module) -> None:
        def poisoned_output(module, args, out):
            return out * math.nan if trainer.global_step == self.at else out

        def poisoned_grad(grad):
            return grad * math.nan if trainer.global_step == self.at else grad

        if self.where == "loss":
            pl_module.discriminator.register_forward_hook(poisoned_output)
        else:
            next(pl_module.generator.parameters()).register_hook(poisoned_grad)


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("loss", "the discriminator's loss (loss/d) became NaN or Inf at iteration 4"),
        ("gradient", "the generator's gradient norm (grad/g) became NaN or Inf at iteration 4"),
        ("buffer", "the discriminator's buffer discriminator."),
    ],
)
def test_nan_in_a_loss_a_gradient_or_a_buffer_is_caught_and_never_saved(tmp_path, where, message):
    cfg = compose_config([*TINY, "iterations=8", "logger=none", f"paths.run_dir={tmp_path}"])
    hook = PoisonBuffer(at=3) if where == "buffer" else Inject(where, at=3)
    with pytest.raises(TrainingDiverged) as caught:
        train(cfg, extra_callbacks=[hook])
    assert message in str(caught.value)
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] <= 3
    assert all(torch.isfinite(v.float()).all() for v in last["state_dict"].values())


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_a_truncated_or_corrupt_checkpoint_is_refused_in_one_line(tmp_path, damage):
    run = tmp_path / "run"
    assert run_train(*KILLED, "iterations=1", f"hydra.run.dir={run}").returncode == 0
    good = (run / "checkpoints" / "last.ckpt").read_bytes()
    bad = tmp_path / f"{damage}.ckpt"
    if damage == "truncated":
        bad.write_bytes(good[: len(good) // 2])
    else:  # the zip header overwritten
        bad.write_bytes(bytes(b ^ 0xFF for b in good[:64]) + good[64:])
    commands = [
        ["-m", "gans.train", *KILLED, "iterations=2", f"ckpt_path={bad}",
         f"hydra.run.dir={tmp_path / 'resumed'}"],
        ["-m", "gans.evaluate", f"ckpt={bad}"],
        ["-m", "gans.sample", f"ckpt={bad}", f"out={tmp_path / 'samples'}"],
    ]  # fmt: skip
    for command in commands:
        done = subprocess.run(
            [sys.executable, *command], cwd=ROOT, env=ENV, capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip
        assert done.returncode == 2, (command, done.stderr[-2000:])
        assert "is not a readable checkpoint" in done.stderr or "not a Lightning" in done.stderr
        assert "Traceback" not in done.stderr


def test_a_two_rank_run_stopped_mid_epoch_resumes_bit_for_bit(tmp_path):
    """Under DDP each process resumes at its own next unseen batch of its share of the epoch
    (64 images, 8 per rank per batch: 4 batches an epoch; stopped in the second epoch)."""
    layouts.png_folder(tmp_path / "images", {"a": 40, "b": 24}, size=16)
    base = [*TINY, "data=image_folder", f"data.root={tmp_path / 'images'}", "data.channels=1",
            "data.batch_size=8", "trainer=ddp_cpu", "checkpoint_every=0", "sample_every=0",
            "logger=csv"]  # fmt: skip

    def ddp(run: Path, *overrides: str) -> None:
        done = subprocess.run(
            [sys.executable, str(ROOT / "tests" / "ddp_job.py"), *base,
             f"paths.run_dir={run}", *overrides],
            cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]

    ddp(tmp_path / "whole", "iterations=10")
    parts = tmp_path / "parts"
    ddp(parts, "iterations=6")
    last = parts / "checkpoints" / "last.ckpt"
    ddp(parts, "iterations=10", f"ckpt_path={last}")
    assert_same_state(
        torch.load(tmp_path / "whole" / "checkpoints" / "last.ckpt", weights_only=True),
        torch.load(last, weights_only=True),
    )
    for rank in (0, 1):  # every rank ends where the uninterrupted run's rank ended
        whole = torch.load(tmp_path / "whole" / f"rank{rank}.pt", weights_only=True)
        resumed = torch.load(parts / f"rank{rank}.pt", weights_only=True)
        assert all(torch.equal(whole[k], resumed[k]) for k in whole)
