"""What every command does to its command line before Hydra reads it."""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar

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
