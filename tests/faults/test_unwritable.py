"""A run directory or checkpoint folder the file system will not write (read-only, immutable):
one line on stderr and exit status 4 (README, "Exit status"), never a traceback."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TINY, one_line, run_train

pytestmark = pytest.mark.faults

QUIET = [*TINY, "logger=none", "iterations=2"]


def writable(folder: Path) -> bool:
    probe = folder / ".probe"
    try:
        probe.touch()
    except OSError:
        return False
    probe.unlink()
    return True


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """``folder`` made unwritable: by its mode, or (as root, whom modes do not stop) by the
    immutable attribute; skipped where neither works."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o555)
    immutable = False
    if writable(folder):
        immutable = (
            subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
        )
    try:
        if writable(folder):
            pytest.skip("no way to make a folder read-only here (root without chattr)")
        yield folder
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=False)
        folder.chmod(0o755)


def test_a_read_only_hydra_run_dir_is_one_line(tmp_path):
    with read_only(tmp_path / "ro"):
        result = run_train(*QUIET, f"hydra.run.dir={tmp_path}/ro/run")
    assert f"hydra.run.dir={tmp_path}/ro/run is not writable" in one_line(result, 4)


def test_a_read_only_paths_run_dir_is_one_line(tmp_path):
    with read_only(tmp_path / "ro"):
        result = run_train(
            *QUIET, f"hydra.run.dir={tmp_path}/run", f"paths.run_dir={tmp_path}/ro/run"
        )
    assert f"paths.run_dir={tmp_path}/ro/run is not writable" in one_line(result, 4)


def test_a_read_only_checkpoint_folder_is_one_line_and_exit_4(tmp_path):
    run = tmp_path / "run"
    with read_only(run / "checkpoints"):
        result = run_train(*QUIET, "sample_every=0", f"hydra.run.dir={run}")
    said = one_line(result, 4, "could not write the checkpoint", "read-only")
    assert "none was written" in said
    assert "ckpt_path=last" not in result.stderr  # nothing to resume from: no resume advice
