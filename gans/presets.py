"""Which preset a run applied (``conf/preset/<model>_<data>.yaml``), said in one line."""

from __future__ import annotations

import re
from pathlib import Path

from gans.configs import CONF_DIR, header_text


def header(path: Path) -> str:
    """The first sentence of a config file's leading comment block (after ``@package``)."""
    words = header_text(path)
    end = re.search(r"\.(\s|$)", words)
    return words[: end.start() + 1] if end else words


def applied_line(choice: str | None, conf_dirs: list[Path] | None = None) -> str | None:
    """``preset <file> applied: <its first sentence> ...`` for the preset Hydra chose, or None
    when none applied (no preset for this model and data, or ``preset=none``)."""
    if not choice or choice == "none":
        return None
    for folder in [*(conf_dirs or []), Path(CONF_DIR)]:
        path = folder / "preset" / f"{choice}.yaml"
        if path.is_file():
            return (
                f"preset {choice} applied ({path}): {header(path)} "
                "preset=none trains the model's own (the paper's) settings."
            )
    return None
