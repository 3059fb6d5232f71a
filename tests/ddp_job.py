"""One rank of a DDP test run: ``python tests/ddp_job.py <overrides...>`` trains with the given
overrides and saves this rank's final weights, buffers and torch random state to
``<run_dir>/rank<r>.pt``.
(Lightning starts the other rank by re-running this command.)"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import lightning as L
import torch

from gans.train import train
from tests.conftest import compose_config


class SaveRankState(L.Callback):
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        state = {k: v.detach().cpu().clone() for k, v in pl_module.state_dict().items()}
        state["torch_rng_state"] = torch.get_rng_state()
        torch.save(state, self.run_dir / f"rank{trainer.global_rank}.pt")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    cfg = compose_config(sys.argv[1:])
    train(cfg, extra_callbacks=[SaveRankState(Path(cfg.paths.run_dir))])
