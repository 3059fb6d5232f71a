"""What every command does to its command line before Hydra reads it, and how it reports the
errors a user can act on (one line, a documented exit status)."""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from gans.errors import (
    ConfigError,
    Interrupted,
    TrainingDiverged,
    WriteFailed,
    one_line,
)
from gans.outputs import discard_unused_output_dir, refused_write

T = TypeVar("T")

#: ``key=~/...``: a shell expands ``~`` only at a word's start, and Hydra's override grammar
#: rejects it (``LexerNoViableAltException``)
HOME_VALUE = re.compile(r"^([+~]{0,2}[\w.@/-]+=)(~[^/]*)(/.*)?$")


def expand_home(argv: list[str]) -> list[str]:
    """``argv`` with a leading ``~`` or ``~user`` in each override's value expanded, as the shell
    would have done for a bare path."""
    out = []
    for arg in argv:
        found = HOME_VALUE.match(arg)
        if found:
            expanded = os.path.expanduser(found[2] + (found[3] or ""))
            if not expanded.startswith("~"):
                arg = found[1] + expanded
        out.append(arg)
    return out


def command(main: Callable[..., T]) -> Callable[..., T]:
    """A command's entry point whose ``~`` in override values is expanded before Hydra parses
    them (``data.root=~/data`` works as ``ls ~/data`` does)."""

    @functools.wraps(main)
    def run(*args: Any, **kwargs: Any) -> T:
        sys.argv[1:] = expand_home(sys.argv[1:])
        return main(*args, **kwargs)

    return run


def reports_config_errors(command: Callable[..., T]) -> Callable[..., T]:
    """A command's body whose :class:`ConfigError` prints ``error: <message>`` (one line, no
    traceback) and exits with status 2, after removing the run directory Hydra made for it when
    nothing else is in it; :class:`TrainingDiverged` likewise, with status 3;
    :class:`WriteFailed` (a checkpoint, the run directory) and any write the file system refused
    (disk full, quota, file-size limit, read-only) with status 4; :class:`Interrupted` prints
    ``interrupted: <message>`` and exits with 128 + the signal's number (130 for a Ctrl-C
    outside training)."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> T:
        try:
            return command(*args, **kwargs)
        except ConfigError as exc:
            print(f"error: {one_line(exc)}", file=sys.stderr)
            discard_unused_output_dir()
            sys.exit(2)
        except TrainingDiverged as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(3)
        except WriteFailed as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(4)
        except OSError as exc:
            refused = refused_write(exc)
            if refused is None:
                raise
            print(f"error: {refused}", file=sys.stderr)
            sys.exit(4)
        except Interrupted as exc:
            print(f"interrupted: {exc}", file=sys.stderr)
            sys.exit(128 + exc.signum)
        except KeyboardInterrupt:
            print("interrupted: stopped by SIGINT (Ctrl-C) before training began", file=sys.stderr)
            sys.exit(130)

    return run
