"""Checkpoint files that are either the old version or the complete new one, never half."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from gans.errors import CheckpointWriteFailed
from gans.outputs import REASONS


class AtomicCheckpointIO(TorchCheckpointIO):
    """``torch.save`` streams into ``.<name>.tmp-<pid>`` beside the target, which is flushed to
    disk (fsync) and then renamed over the target (``os.replace``, atomic on POSIX). A process
    killed mid-write (SIGKILL, pre-emption) leaves the previous checkpoint intact and only a
    temporary file behind, which the next save in that folder removes. Remote paths (``s3://``
    ...) go through Lightning's own writer."""

    def load_checkpoint(
        self, path: Any, *args: Any, weights_only: bool | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Lightning's own read of a resumed checkpoint, always ``weights_only=True`` (the file
        was already read through :func:`gans.trust.read_checkpoint`; this keeps a file swapped
        in between from unpickling code)."""
        return super().load_checkpoint(path, *args, weights_only=True, **kwargs)

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None
    ) -> None:
        if "://" in str(path) and not str(path).startswith("file://"):
            return super().save_checkpoint(checkpoint, path, storage_options)
        target = Path(str(path).removeprefix("file://"))
        temporary = target.parent / f".{target.name}.tmp-{os.getpid()}"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            for stale in target.parent.glob(f".{target.name}.tmp-*"):
                stale.unlink(missing_ok=True)
            with open(temporary, "wb") as f:
                torch.save(checkpoint, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, target)
        except (OSError, RuntimeError) as exc:  # torch.save reports a failed write as either
            _remove_quietly(temporary)
            raise CheckpointWriteFailed(_failure(target, exc)) from None
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # make the rename itself durable
        finally:
            os.close(directory)
        return None


def _remove_quietly(path: Path) -> None:
    """Remove a half-written file if the folder lets us (a read-only one does not: nothing to
    remove then)."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _failure(target: Path, exc: BaseException) -> str:
    """One line: which checkpoint, why, what is intact and the exact file to resume from."""
    reason = REASONS.get(getattr(exc, "errno", None) or 0)
    if reason is None:  # torch.save wraps the OSError in a RuntimeError
        text = str(exc)
        reason = next((r for e, r in REASONS.items() if os.strerror(e) in text), None)
    why = reason or str(exc).splitlines()[0]
    last = target.parent / "last.ckpt"  # the run's latest complete checkpoint, if any
    if target.exists():
        kept = f"the previous one is intact; resume from it with ckpt_path={target}"
    elif last.exists():
        kept = f"the run's last checkpoint is intact; resume from it with ckpt_path={last}"
    else:
        kept = "none was written, so there is nothing to resume from"
    return (
        f"could not write the checkpoint {target}: {why}; {kept}. Free space or point "
        "paths.run_dir at a writable folder"
    )


def remove_stale_temporaries(directory: str | os.PathLike) -> list[Path]:
    """Delete the ``.<name>.tmp-<pid>`` files a killed writer left in ``directory`` (those whose
    process no longer runs); returns what was removed."""
    removed = []
    for temporary in Path(directory).glob(".*.tmp-*"):
        pid = temporary.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not _running(int(pid)):
            temporary.unlink(missing_ok=True)
            removed.append(temporary)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
