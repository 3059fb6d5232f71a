"""What every command does to its command line before Hydra reads it, and how it reports the
errors a user can act on (one line, a documented exit status)."""

from __future__ import annotations

import functools
import io
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


class HeldStderr(io.TextIOBase):
    """``sys.stderr`` held back until the command's body starts (:meth:`release`), so that what
    Hydra prints when it cannot compose the command line can be told in one line instead; after
    the release every write goes straight through (logging handlers made meanwhile keep it)."""

    def __init__(self, real: Any) -> None:
        self.real, self.held, self.released = real, [], False

    def write(self, text: str) -> int:
        if self.released:
            return self.real.write(text)
        self.held.append(text)
        return len(text)

    def flush(self) -> None:
        if self.released:
            self.real.flush()

    def fileno(self) -> int:
        return self.real.fileno()

    def isatty(self) -> bool:
        return self.real.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.real.encoding

    def __getattr__(self, name: str) -> Any:  # buffer, errors, ...: the real stream's
        return getattr(self.real, name)

    def release(self) -> None:
        """Write what was held and hand ``sys.stderr`` back to the real stream."""
        if not self.released:
            self.released = True
            self.real.write("".join(self.held))
            self.held = []
        if sys.stderr is self:
            sys.stderr = self.real


def condensed(text: str) -> str | None:
    """One line for Hydra's message about a command line it could not compose (an unknown key, an
    unknown option of a group, an override it cannot parse), or None for anything else."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    found = re.match(r"Could not override '([^']+)'", lines[0])
    if found:
        key = found[1]
        return (
            f"{key} is not a setting of this command (a typo? `--cfg job` lists them; "
            f"+{key}=... adds a new key)"
        )
    found = re.search(r"Could not find '([^']+)/([^'/]+)'", lines[0])
    if found:
        options = [line.strip() for line in lines if line.startswith("\t") and "=" not in line]
        allowed = f"; allowed: {', '.join(options)}" if options else ""
        return f"{found[1]}={found[2]} is not an option{allowed}"
    if "override_grammar" in text or lines[0].startswith(("no viable alternative", "mismatched")):
        return f"cannot parse the command line: {lines[0]} (quote values with spaces or brackets)"
    return None


def command(main: Callable[..., T]) -> Callable[..., T]:
    """A command's entry point whose ``~`` in override values is expanded before Hydra parses
    them (``data.root=~/data`` works as ``ls ~/data`` does), and whose command line, when Hydra
    cannot compose it (an unknown key or option, a syntax error), is one line and exit 2."""

    @functools.wraps(main)
    def run(*args: Any, **kwargs: Any) -> T:
        sys.argv[1:] = expand_home(sys.argv[1:])
        held = HeldStderr(sys.stderr)
        sys.stderr = held
        try:
            return main(*args, **kwargs)
        except SystemExit as exc:
            line = None if held.released or exc.code != 1 else condensed("".join(held.held))
            if line is None:
                raise
            held.held = []
            print(f"error: {line}", file=held.real, flush=True)
            raise SystemExit(2) from None
        finally:
            held.release()

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
        if isinstance(sys.stderr, HeldStderr):
            sys.stderr.release()  # composed: from here on stderr is the command's own
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
