"""W&B without prompts: online only when credentials exist, else offline with a sync hint."""

from __future__ import annotations

import netrc
import os
from pathlib import Path
from urllib.parse import urlparse

from lightning.pytorch.loggers import Logger, WandbLogger
from lightning.pytorch.utilities import rank_zero_only


def wandb_credentials_available() -> bool:
    """True when W&B can log in without asking: an API key in the environment, an identity token
    file, or an entry for the W&B host in the netrc file (where ``wandb login`` writes the key)."""
    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_IDENTITY_TOKEN_FILE"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname or ""
    path = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    try:
        return netrc.netrc(str(path)).authenticators(host) is not None
    except (OSError, netrc.NetrcParseError):
        return False


def choose_wandb_mode() -> str:
    """Set ``WANDB_MODE=offline`` when the user chose no mode and has no credentials.

    wandb would otherwise prompt for a key when a terminal is attached, blocking the run forever.
    ``WANDB_MODE`` set by the user always wins. Returns the mode in force.
    """
    mode = os.environ.get("WANDB_MODE")
    if not mode:
        mode = "online" if wandb_credentials_available() else "offline"
        os.environ["WANDB_MODE"] = mode
    return mode


def describe(loggers: list[Logger]) -> list[str]:
    """Lines saying where each logger wrote, with the ``wandb sync`` command for offline runs.
    Empty on ranks other than 0, where a W&B logger's experiment is a dummy with no attributes."""
    if rank_zero_only.rank != 0:
        return []
    lines = []
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            run = logger.experiment
            run_dir = Path(run.dir).parent
            if run.settings.mode == "offline" or os.environ.get("WANDB_MODE") in (
                "offline",
                "dryrun",
            ):
                # a resumed run writes one offline folder per session, all with the run's id
                folders = sorted(run_dir.parent.glob(f"offline-run-*-{run.id}")) or [run_dir]
                lines.append(f"W&B run (offline): {run_dir}")
                lines.append(f"  upload it with:  wandb sync {' '.join(map(str, folders))}")
            else:
                lines.append(f"W&B run: {run.url}")
        elif logger.log_dir:
            lines.append(f"{type(logger).__name__}: {logger.log_dir}")
    return lines


#: how each quality metric's run summary is taken: its best value, so W&B's run tables sort by it
SUMMARIES = {"fid": "min", "kid": "min", "is": "max", "precision": "max", "recall": "max",
             "density": "max", "coverage": "max", "intra_fid": "min",
             "cond_acc": "max", "l1": "min", "psnr": "max", "ssim": "max",
             "rfid": "min", "rkid": "min"}  # fmt: skip
for _way in ("AtoB", "BtoA"):  # translation games' scores, one per direction
    SUMMARIES.update({f"fid_{_way}": "min", f"kid_{_way}": "min", f"cycle_l1_{_way}": "min",
                      f"label_acc_{_way}": "max"})  # fmt: skip


def declare_metrics(loggers: list[Logger]) -> None:
    """Tell each W&B run (rank 0 only) that the iteration (``trainer/global_step``) is every
    metric's x-axis and that a quality metric's summary is its best value (FID: the minimum)."""
    if rank_zero_only.rank != 0:
        return
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            run = logger.experiment
            for name, best in SUMMARIES.items():
                run.define_metric(f"{name}/*", step_metric="trainer/global_step", summary=best)
