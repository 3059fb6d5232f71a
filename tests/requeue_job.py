"""A training job as submitit runs one on SLURM: ``python tests/requeue_job.py <overrides...>``
installs a SIGUSR2 handler before training (submitit's checkpoint-and-requeue: here it writes
``<run_dir>/requeued`` and exits with -1, as submitit does after ``scontrol requeue``)."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from gans.train import train
from tests.conftest import compose_config

if __name__ == "__main__":
    cfg = compose_config(sys.argv[1:])
    marker = Path(cfg.paths.run_dir) / "requeued"

    def requeue(signum: int, frame: object) -> None:
        marker.write_text(str(signum))
        sys.exit(-1)

    signal.signal(signal.SIGUSR2, requeue)
    train(cfg)
