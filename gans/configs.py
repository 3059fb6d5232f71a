"""Where the package's Hydra configs live: every command composes from here (low enough that no
command imports training to find it)."""

from __future__ import annotations

from pathlib import Path

#: the ``conf/`` directory every command's ``@hydra.main`` reads
CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")
