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


def reports_config_errors(command: Callable[..., T]) -> Callable[..., T]:
    """A command's body whose :class:`ConfigError` prints ``error: <message>`` (one line, no
    traceback) and exits with status 2; :class:`TrainingDiverged` likewise, with status 3, and
    :class:`CheckpointWriteFailed` with status 4."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> T:
        try:
            return command(*args, **kwargs)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
        except TrainingDiverged as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(3)
        except CheckpointWriteFailed as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(4)

    return run
