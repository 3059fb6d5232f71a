"""Write an experiment's table into its README between two HTML-comment markers."""

from __future__ import annotations

from pathlib import Path

START, END = "<!-- table:start -->", "<!-- table:end -->"


def replace_between(readme: Path, text: str, start: str = START, end: str = END) -> None:
    """Replace what stands between ``start`` and ``end`` in ``readme`` by ``text`` (the markers
    stay, everything outside them is kept); a README without both markers is an error."""
    body = readme.read_text()
    if start not in body or end not in body:
        raise ValueError(f"{readme} has no {start} ... {end} markers to write the table between")
    head, rest = body.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{start}\n{text}\n{end}{tail}")
