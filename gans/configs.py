"""Where the package's Hydra configs live: every command composes from here (low enough that no
command imports training to find it)."""

from __future__ import annotations

import re
from pathlib import Path

#: the ``conf/`` directory every command's ``@hydra.main`` reads
CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")


def header_text(path: Path) -> str:
    """A config file's leading comment block as one line (its ``@package`` line left out)."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        text = line.lstrip("#").strip()
        if not text.startswith("@package"):
            lines.append(text)
    return " ".join(lines)


def data_named_by(model: str) -> list[str]:
    """The data a model's config header names as the one it needs (``Needs data=<name>.``)."""
    path = Path(CONF_DIR) / "model" / f"{model}.yaml"
    return re.findall(r"Needs data=(\w+)", header_text(path)) if path.is_file() else []
