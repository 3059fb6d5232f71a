"""Where a command writes: checked before anything is written, described in one line when the file
system refuses (exit 4), and left clean when a command refuses its input."""

from __future__ import annotations

import errno
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any, NoReturn

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import InterpolationKeyError

from gans.errors import ConfigError, WriteFailed
from gans.validate import check_dataset_choice

#: errors of a file system that will not take a write, and what each means to a user
REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EFBIG: "the file-size limit (ulimit -f) was reached",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied (a read-only folder?)",
    errno.EPERM: "not permitted (a read-only or immutable folder?)",
}
#: the files Hydra writes into a run directory before the command runs
HYDRA_FILES = {".hydra/config.yaml", ".hydra/hydra.yaml", ".hydra/overrides.yaml", "train.log"}
#: files older than this command are never removed (a run directory reused on purpose)
STARTED = time.time() - 1.0


def refused_write(exc: BaseException) -> str | None:
    """One line for an OSError the file system raised on a write, else None."""
    if not isinstance(exc, OSError) or exc.errno not in REASONS:
        return None
    where = f" {exc.filename}" if exc.filename else ""
    return f"could not write{where}: {REASONS[exc.errno]} ({exc.strerror})"


def check_writable(directory: str | os.PathLike, key: str) -> None:
    """Create ``directory`` and write (then remove) a probe file in it, or raise
    :class:`WriteFailed` naming ``key`` and why."""
    path = Path(directory)
    probe = path / f".gans-write-probe-{uuid.uuid4().hex[:8]}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        reason = REASONS.get(exc.errno or 0, exc.strerror or str(exc))
        raise WriteFailed(
            f"{key}={directory} is not writable: {reason}; point {key} at a writable folder"
        ) from None


def discard_unused_output_dir() -> None:
    """Remove the run directory Hydra created for a command that then refused its input, when it
    holds only Hydra's own files written by this command (and its empty parents up to the
    working directory)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return
    hydra = HydraConfig.get()
    if hydra.output_subdir is None:  # commands that write beside the checkpoint, not a run dir
        return
    out = Path(hydra.runtime.output_dir)
    found: list[Path] = []
    for root, _, files in os.walk(out):
        for name in files:
            file = Path(root) / name
            known = file.relative_to(out).as_posix() in HYDRA_FILES
            if not known or len(found) > 8 or file.stat().st_mtime < STARTED:
                return
            found.append(file)
    try:
        for file in found:
            file.unlink()
        for folder in (out / ".hydra", out):
            if folder.is_dir():
                folder.rmdir()
        cwd = Path.cwd().resolve()
        parent = out.resolve().parent
        while parent != cwd and cwd in parent.parents and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    except OSError:
        return


class WritableRunDir(Callback):
    """Before Hydra creates the run (or sweep) directory, instead of Hydra's traceback: one line
    and exit 2 when ``data=`` is not a dataset or the directory's name cannot be resolved, exit 4
    when it cannot be written."""

    @staticmethod
    def _stop(message: Any, status: int) -> NoReturn:
        print(f"error: {message}", file=sys.stderr, flush=True)
        sys.exit(status)

    def _check(self, config: DictConfig, key: str) -> None:
        try:
            check_dataset_choice(config)
            directory = OmegaConf.select(config, key)
        except ConfigError as exc:
            self._stop(exc, 2)
        except InterpolationKeyError as exc:  # e.g. ${data.name} of a config that has none
            self._stop(f"{key} needs {exc.msg.splitlines()[0]}", 2)
        try:
            check_writable(str(directory), key)
        except WriteFailed as exc:
            self._stop(exc, 4)

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config, "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config, "hydra.sweep.dir")
