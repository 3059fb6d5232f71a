"""Whether a run that ``gans.train`` wrote a summary for ran to its end."""

from __future__ import annotations

import json
from pathlib import Path


def finished(run_dir: Path) -> bool:
    """``run_dir/summary.json`` exists and does not say the run was stopped early (a Ctrl-C or
    SIGTERM writes a summary too, with ``finished: false``, so a rerun resumes that run)."""
    path = Path(run_dir) / "summary.json"
    return path.is_file() and json.loads(path.read_text()).get("finished", True) is not False
