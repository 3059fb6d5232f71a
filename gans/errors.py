"""The one error type a user sees for a bad configuration, and how commands report it."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value that cannot work; the message names the key and the allowed values."""


class TrainingDiverged(RuntimeError):
    """A loss or gradient became NaN or Inf; the message names the iteration and the player."""


class WriteFailed(RuntimeError):
    """A file or folder the command needs could not be written (disk full, quota, file-size limit,
    read-only folder or file system); exit status 4."""


class CheckpointWriteFailed(WriteFailed):
    """A checkpoint could not be written; the previous one is intact."""


class Interrupted(RuntimeError):
    """Training stopped on a signal after writing its checkpoint; the message says how to resume.
    The command exits with 128 + the signal's number, as a shell reports a signal."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.signum = int(signum)


def one_line(exc: BaseException) -> str:
    """The message of ``exc``; for an error a DataLoader worker raised, which torch re-raises with
    the worker's traceback in its message, the original message alone."""
    message = str(exc)
    if "DataLoader worker" in message and "Original Traceback" in message:
        last = message.rstrip().splitlines()[-1]
        return last.split(f"{type(exc).__name__}: ", 1)[-1] + " (in a DataLoader worker)"
    return message
