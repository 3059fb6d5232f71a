"""Ctrl-C and SIGTERM stop a run at the end of an iteration with a checkpoint that resumes, and
print the command that resumes it."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gans.callbacks.interrupt import GracefulInterrupt
from tests.conftest import ROOT, TINY_MLP, run_train

ENDLESS = [
    "model=gan",
    *[o for o in TINY_MLP if not o.startswith(("checkpoint_every", "log_every"))],
    "iterations=100000",
    "checkpoint_every=0",  # only the interrupt (or the end) writes last.ckpt
    "logger=none",
]


def start(run_dir: Path, *extra: str) -> subprocess.Popen:
    """``python -m gans.train`` in its own process group, as a terminal runs it."""
    return subprocess.Popen(
        [sys.executable, "-m", "gans.train", *ENDLESS, f"hydra.run.dir={run_dir}", *extra],
        cwd=ROOT,
        env={**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)


@pytest.mark.parametrize(
    ("signum", "name"), [(signal.SIGINT, "SIGINT (Ctrl-C)"), (signal.SIGTERM, "SIGTERM")]
)
def test_a_signal_stops_at_an_iteration_with_a_checkpoint_that_resumes(tmp_path, signum, name):
    run = tmp_path / "run"
    process = start(run)
    wait_for(run / "samples" / "iter_000003.png", process)
    os.killpg(process.pid, signum)  # the whole group, as Ctrl-C in a terminal does
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signum, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("interrupted:")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    found = re.search(r"stopped by (.+) at iteration (\d+); .* Resume with: (.+)$", lines[0])
    assert found and found[1] == name
    stopped = int(found[2])
    last = run / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(last, weights_only=True)
    assert checkpoint["global_step"] == stopped >= 3
    summary = json.loads((run / "summary.json").read_text())  # a stopped run is not finished
    assert summary["iterations"] == stopped and summary["finished"] is False
    assert all(torch.isfinite(v.float()).all() for v in checkpoint["state_dict"].values())
    command = shlex.split(found[3])
    assert command[:3] == ["python", "-m", "gans.train"] and f"ckpt_path={last}" in command
    resumed = run_train(*command[3:], f"iterations={stopped + 2}")
    assert resumed.returncode == 0, resumed.stderr
    assert torch.load(last, weights_only=True)["global_step"] == stopped + 2
    assert json.loads((run / "summary.json").read_text())["finished"] is True


def test_a_second_ctrl_c_aborts_at_once():
    interrupt = GracefulInterrupt()
    interrupt.handle(signal.SIGINT, None)
    assert interrupt.requested == signal.SIGINT
    with pytest.raises(KeyboardInterrupt):
        interrupt.handle(signal.SIGINT, None)
