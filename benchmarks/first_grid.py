"""How soon each model speaks: seconds from the command to the start of training (the
``networks:`` line), from there to the first progress line (written when the first iteration
ends), and from the command to the first sample grid, for every model on the default data
(``python -m gans.train model=<m>``, nothing else), piped as a cluster job's output is.

    python benchmarks/first_grid.py                       # every model
    python benchmarks/first_grid.py --models dcgan,wgan   # some

Each run is stopped (SIGTERM, as a cluster would) once its first grid is written, or after
``--limit`` seconds. W&B runs offline. Prints a Markdown table, marked against the targets of
issue 35 (a progress line within 10 s of training's start, a first grid within 120 s), and
writes each run's console to ``--out``.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = sorted(p.stem for p in (ROOT / "conf" / "model").glob("*.yaml"))
ITERATION = re.compile(r"^iteration \d+/")
#: issue 35's targets
FIRST_LINE, FIRST_GRID = 10.0, 120.0


def probe(model: str, limit: float, out: Path) -> dict:
    """Run ``gans.train model=<model>`` until its first grid (or ``limit`` s); the timings."""
    run_dir = Path(tempfile.mkdtemp(prefix=f"first-grid-{model}-"))
    env = {**os.environ, "WANDB_MODE": "offline"}
    env.pop("WANDB_SILENT", None)  # the console as a user sees it
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gans.train", f"model={model}", f"hydra.run.dir={run_dir}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: list[tuple[float, str]] = []

    def read() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append((time.perf_counter() - started, line.rstrip("\n")))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    grid = None
    while proc.poll() is None and time.perf_counter() - started < limit:
        if any((run_dir / "samples").glob("*.png")):
            grid = time.perf_counter() - started
            break
        time.sleep(0.25)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
    reader.join(10)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{model}.txt").write_text("".join(f"{t:7.1f} {line}\n" for t, line in lines))
    start = next((t for t, line in lines if "networks: " in line), None)
    first = next((t for t, line in lines if ITERATION.match(line)), None)
    error = next((line for _, line in lines if line.startswith("error:")), None)
    return {"model": model, "training_starts": start,
            "first_line": first - start if first is not None and start is not None else None,
            "grid": grid, "exit": proc.returncode, "error": error}  # fmt: skip


def cell(value: float | None, target: float | None = None) -> str:
    if value is None:
        return "-"
    mark = "" if target is None else (" ✓" if value <= target else " ✗")
    return f"{value:.0f}{mark}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--limit", type=float, default=180.0)
    parser.add_argument("--out", default=str(ROOT / "outputs" / "first_grid"))
    args = parser.parse_args()
    rows = [
        "| model | training starts (s) | first progress line after that (s) | first grid (s) "
        "| note |",
        "|---|---|---|---|---|",
    ]
    for model in args.models.split(","):
        r = probe(model, args.limit, Path(args.out))
        note = r["error"] or ("" if r["grid"] else f"no grid in {args.limit:.0f} s")
        rows.append(
            f"| {model} | {cell(r['training_starts'])} "
            f"| {cell(r['first_line'], FIRST_LINE)} | {cell(r['grid'], FIRST_GRID)} "
            f"| {note} |"
        )
        print(rows[-1], flush=True)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
