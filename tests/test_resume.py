"""Resuming: bit-for-bit continuation, `ckpt_path=last`, the same W&B run, and checkpoints that
survive a SIGKILL in the middle of being written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from gans.data.sampling import EpochShuffle, ResumableLoader
from gans.train import train
from tests import layouts
from tests.conftest import ROOT, TINY, compose_config, run_train

RING = [
    "model=gan2d",
    "data=ring",
    "data.count=800",  # 8 batches of 100 per epoch
    "model.generator.hidden=[16,16]",
    "model.discriminator.hidden=[16]",
    "ema.enabled=true",
    "metrics.every=0",
    "sample_every=0",
    "checkpoint_every=4",
    "logger=csv",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]
DIGITS = [*TINY, "data.batch_size=64", "checkpoint_every=14", "logger=csv"]  # 28 batches/epoch


def assert_same_state(a: dict, b: dict) -> None:
    assert a["global_step"] == b["global_step"]
    for key, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][key]), key
    for opt_a, opt_b in zip(a["optimizer_states"], b["optimizer_states"], strict=True):
        for slot_a, slot_b in zip(opt_a["state"].values(), opt_b["state"].values(), strict=True):
            for name, value in slot_a.items():
                assert torch.equal(value, slot_b[name]), name


@pytest.mark.parametrize(("base", "epoch"), [(RING, 8), (DIGITS, 28)], ids=["ring-ema", "dcgan"])
def test_interrupted_and_resumed_equals_uninterrupted_bit_for_bit(tmp_path, base, epoch):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    train(compose_config([*base, f"paths.run_dir={whole}", f"iterations={2 * epoch}"]))
    train(compose_config([*base, f"paths.run_dir={parts}", f"iterations={epoch}"]))
    last = parts / "checkpoints" / "last.ckpt"
    summary = train(
        compose_config([*base, f"paths.run_dir={parts}", f"iterations={2 * epoch}",
                        f"ckpt_path={last}"])
    )  # fmt: skip
    assert summary["iterations"] == 2 * epoch
    a = torch.load(whole / "checkpoints" / "last.ckpt", weights_only=True)
    b = torch.load(last, weights_only=True)
    assert_same_state(a, b)


def streamed_folder(root) -> list[str]:
    """A PNG image folder streamed by a DataLoader (no in-memory cache): 64 images, 4 batches."""
    layouts.png_folder(root, {"a": 40, "b": 24}, size=16)
    return [*TINY, "data=image_folder", f"data.root={root}", "data.channels=1",
            "data.in_memory=false", "data.num_workers=0", "data.cache=false",
            "checkpoint_every=0", "logger=csv"]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "stop", "end"),
    [("ring", 5, 12), ("digits", 14, 42), ("folder", 6, 11), ("workers", 4, 11)],
    ids=["ring-ema", "dcgan-in-memory", "dcgan-streamed", "dcgan-streamed-workers-epoch-end"],
)
def test_a_run_stopped_mid_epoch_resumes_bit_for_bit(tmp_path, data, stop, end):
    """The loader's position in the epoch is checkpointed: the resumed run sees the batches the
    uninterrupted one saw next, not the start of the epoch again; with worker processes too,
    whose first batches are drawn before Lightning starts the epoch."""
    base = {"ring": RING, "digits": DIGITS}.get(data) or streamed_folder(tmp_path / "images")
    if data == "workers":
        base = [o.replace("num_workers=0", "num_workers=2") for o in base]
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    train(compose_config([*base, f"paths.run_dir={whole}", f"iterations={end}"]))
    train(compose_config([*base, f"paths.run_dir={parts}", f"iterations={stop}"]))
    last = parts / "checkpoints" / "last.ckpt"
    saved = torch.load(last, weights_only=True)
    assert saved["loops"]["fit_loop"]["state_dict"]["combined_loader"][0]["consumed"] > 0
    train(
        compose_config([*base, f"paths.run_dir={parts}", f"iterations={end}", f"ckpt_path={last}"])
    )
    assert_same_state(
        torch.load(whole / "checkpoints" / "last.ckpt", weights_only=True),
        torch.load(last, weights_only=True),
    )


def test_each_ddp_process_takes_its_own_equal_share_of_the_epoch():
    single = list(EpochShuffle(10, seed=3))
    shares = [list(EpochShuffle(10, seed=3, share=(rank, 3))) for rank in range(3)]
    assert [len(s) for s in shares] == [3, 3, 3]
    assert sorted(sum(shares, [])) == sorted(single[:9])  # disjoint; the 10th sits out
    assert shares[1] == single[1:9:3]


def test_a_loader_state_at_the_end_of_an_epoch_resumes_at_the_next_epochs_start():
    data = torch.arange(12)
    position = EpochShuffle(12, seed=5, batch_size=4)
    loader = ResumableLoader(data, position=position, sampler=position, batch_size=4,
                             drop_last=True)  # fmt: skip
    epochs = []
    for epoch in range(2):
        position.set_epoch(epoch)
        epochs.append([b.tolist() for b in loader])
    position = EpochShuffle(12, seed=5, batch_size=4)
    fresh = ResumableLoader(data, position=position, sampler=position, batch_size=4,
                            drop_last=True)  # fmt: skip
    fresh.load_state_dict({"epoch": 0, "consumed": 3})  # no set_epoch before the first iter
    assert [b.tolist() for b in fresh] == epochs[1]
    position = EpochShuffle(12, seed=5, batch_size=4)
    fresh = ResumableLoader(data, position=position, sampler=position, batch_size=4)
    fresh.load_state_dict({"epoch": 1, "consumed": 1})
    assert [b.tolist() for b in fresh] == epochs[1][1:]


def test_a_resume_with_another_checkpoint_interval_still_writes_last_ckpt(tmp_path):
    """A changed ``checkpoint_every`` gives the checkpoint callback a new state key: Lightning then
    took the existing last.ckpt for a stranger's and wrote last-v1.ckpt beside it."""
    base = [*RING, "logger=none", f"paths.run_dir={tmp_path}"]
    train(compose_config([*base, "iterations=4", "checkpoint_every=4"]))
    last = tmp_path / "checkpoints" / "last.ckpt"
    train(compose_config([*base, "iterations=8", "checkpoint_every=8", f"ckpt_path={last}"]))
    assert sorted(p.name for p in last.parent.glob("last*")) == ["last.ckpt"]
    assert torch.load(last, weights_only=True)["global_step"] == 8


def test_ckpt_path_last_continues_the_latest_run_in_its_directory_and_wandb_run(tmp_path):
    base = [*RING, "logger=wandb", "checkpoint_every=2"]
    first = run_train(*base, "iterations=2", f"hydra.run.dir={tmp_path}/runs/one")
    assert first.returncode == 0, first.stderr[-2000:]
    second = run_train(
        *base, "iterations=4", "ckpt_path=last", f"hydra.run.dir={tmp_path}/runs/two"
    )
    assert second.returncode == 0, second.stderr[-2000:]
    run = tmp_path / "runs" / "one"
    names = sorted(p.name for p in (run / "checkpoints").glob("iter_*.ckpt"))
    assert names == ["iter_000002.ckpt", "iter_000004.ckpt"]
    assert not (tmp_path / "runs" / "two").exists()  # Hydra's folder for the resume: removed
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == 4
    # both invocations wrote to the same W&B run (offline run folders end in the run id)
    runs = sorted((run / "wandb").glob("offline-run-*"))
    assert len(runs) == 2 and runs[0].name.split("-")[-1] == runs[1].name.split("-")[-1]
    assert ckpt["gans"]["wandb_run_id"] == runs[0].name.split("-")[-1]
    # the closing line uploads both sessions' folders, not only the newest
    (sync,) = [line for line in second.stdout.splitlines() if "wandb sync" in line]
    assert all(str(folder) in sync for folder in runs)


def test_ckpt_path_last_without_a_previous_run_says_so(tmp_path):
    result = run_train(*RING, "ckpt_path=last", f"hydra.run.dir={tmp_path}/runs/one")
    assert result.returncode == 2
    assert "ckpt_path=last: no */checkpoints/last.ckpt under" in result.stderr


KILLED_WHILE_SAVING = """
import sys, time
from pathlib import Path
import lightning as L
from gans.data.sampling import EpochShuffle, ResumableLoader
from gans.train import train
from tests.conftest import compose_config

signal_file = Path(sys.argv[1])


class Stall:
    # pickled inside the checkpoint: says "writing now" and never finishes
    def __reduce__(self):
        signal_file.write_text("writing")
        time.sleep(600)
        return (int, (0,))


class StallAtIteration2(L.Callback):
    def on_save_checkpoint(self, trainer, pl_module, checkpoint):
        if trainer.global_step == 2:
            checkpoint["stall"] = Stall()


cfg = compose_config(sys.argv[2:])
train(cfg, extra_callbacks=[StallAtIteration2()])
"""


def test_sigkill_while_writing_a_checkpoint_keeps_the_previous_one(tmp_path):
    script = tmp_path / "killed.py"
    script.write_text(textwrap.dedent(KILLED_WHILE_SAVING))
    writing = tmp_path / "writing"
    run = tmp_path / "run"
    overrides = [*RING, "logger=none", "checkpoint_every=1", "iterations=3", f"paths.run_dir={run}"]
    env = {**os.environ, "WANDB_MODE": "offline", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(writing), *overrides], cwd=ROOT, env=env
    )
    deadline = time.time() + 120
    while not writing.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    assert writing.exists(), "the run never reached its second checkpoint"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    checkpoints = run / "checkpoints"
    # the interrupted write left only a temporary file; the previous checkpoints load
    assert sorted(p.name for p in checkpoints.glob("*.ckpt")) == ["iter_000001.ckpt", "last.ckpt"]
    assert len(list(checkpoints.glob(".iter_000002.ckpt.tmp-*"))) == 1
    last = torch.load(checkpoints / "last.ckpt", weights_only=True)
    assert last["global_step"] == 1
    summary = train(
        compose_config([*overrides[:-2], "iterations=3", f"paths.run_dir={run}",
                        f"ckpt_path={checkpoints / 'last.ckpt'}"])
    )  # fmt: skip
    assert summary["iterations"] == 3
    assert torch.load(checkpoints / "last.ckpt", weights_only=True)["global_step"] == 3
    assert not list(checkpoints.glob(".*.tmp-*"))
