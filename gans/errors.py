"""The one error type a user sees for a bad configuration, and how commands report it."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration value that cannot work; the message names the key and the allowed values."""


class TrainingDiverged(RuntimeError):
    """A loss or gradient became NaN or Inf; the message names the iteration and the player."""


class CheckpointWriteFailed(RuntimeError):
    """A checkpoint could not be written (disk full, quota, permissions); the previous one is
    intact."""


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


def reports_config_errors(command: Callable[..., T]) -> Callable[..., T]:
    """A command's body whose :class:`ConfigError` prints ``error: <message>`` (one line, no
    traceback) and exits with status 2; :class:`TrainingDiverged` likewise, with status 3, and
    :class:`CheckpointWriteFailed` with status 4; :class:`Interrupted` prints ``interrupted:
    <message>`` and exits with 128 + the signal's number (130 for a Ctrl-C outside training)."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> T:
        try:
            return command(*args, **kwargs)
        except ConfigError as exc:
            print(f"error: {one_line(exc)}", file=sys.stderr)
            sys.exit(2)
        except TrainingDiverged as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(3)
        except CheckpointWriteFailed as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(4)
        except Interrupted as exc:
            print(f"interrupted: {exc}", file=sys.stderr)
            sys.exit(128 + exc.signum)
        except KeyboardInterrupt:
            print("interrupted: stopped by SIGINT (Ctrl-C) before training began", file=sys.stderr)
            sys.exit(130)

    return run
