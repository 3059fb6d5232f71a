"""Where the package's Hydra configs live: every command composes from here (low enough that no
command imports training to find it)."""

from __future__ import annotations

from pathlib import Path

#: the ``conf/`` directory every command's ``@hydra.main`` reads
CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")


def data_named_by(model: str) -> list[str]:
    """The data a model's config header names as the one it needs (``Needs data=<name>.``)."""
    import re

    path = Path(CONF_DIR) / "model" / f"{model}.yaml"
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    header = " ".join(line.lstrip("#").strip() for line in lines if line.startswith("#"))
    return re.findall(r"Needs data=(\w+)", header)
