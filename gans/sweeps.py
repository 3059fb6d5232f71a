"""Hydra sweeps: what a job returns to the sweeper, W&B grouping, and launchers that clash."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from gans.errors import ConfigError
from gans.loggers import choose_wandb_mode


def multirun() -> bool:
    """True inside a job of ``python -m gans.train -m ...`` (or a sweeper such as Optuna)."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


# Strategies whose launcher re-runs the command line in child processes (Lightning #11300).
RELAUNCHING = ("ddp", "ddp_find_unused_parameters_true", "ddp_find_unused_parameters_false")


class SweepError(ConfigError):
    """A setting no job of the sweep can run with: it ends the sweep (not one job)."""


def check_sweepable(cfg: DictConfig) -> None:
    """Refuse a multirun whose trainer would re-launch the command (and so the whole sweep) in
    every child process."""
    strategy = str(cfg.trainer.get("strategy", "auto"))
    devices = cfg.trainer.get("devices", 1)
    if strategy in RELAUNCHING and devices not in (1, [0], "1"):
        raise SweepError(
            f"trainer.strategy={strategy} cannot run inside a Hydra multirun: Lightning starts "
            "the other processes by re-running this command, -m and all, so each would run the "
            "whole sweep again (Lightning #11300). Use "
            "trainer.strategy=ddp_spawn_find_unused_parameters_true for sweeps, or launch each "
            "job as its own command"
        )


def group_runs(cfg: DictConfig) -> None:
    """In a multirun, each job is its own W&B run named by its overrides, grouped by sweep."""
    hydra_cfg = HydraConfig.get()
    sweep = Path(hydra_cfg.sweep.dir)
    for node in (cfg.logger or {}).values():
        if isinstance(node, DictConfig) and str(node.get("_target_", "")).endswith("WandbLogger"):
            if node.get("group") is None:
                node.group = f"{sweep.parent.name}-{sweep.name}"
            overrides = hydra_cfg.job.override_dirname
            node.name = (
                f"{cfg.name}[{overrides}]" if overrides else f"{cfg.name}#{hydra_cfg.job.num}"
            )


AUTO_OBJECTIVES = ("fid", "fid_AtoB", "rfid", "reverse_kl", "kl")
FAILED = "failed.json"
log = logging.getLogger(__name__)


def objective(summary: dict[str, Any], cfg: DictConfig) -> float:
    """The value a sweeper minimizes: the final ``metrics.optimize`` when metrics ran (``auto``:
    FID for images and Pix2Pix, the A-to-B translations' FID for CycleGAN, the reconstructions'
    rFID for autoencoders (VQGAN stage 1), reverse KL of the
    mode histogram for 2-D mixtures, the KL to uniform for stacked MNIST), else the final
    generator loss."""
    scores = summary.get("metrics")
    if not scores:
        return float(summary.get("loss/g", float("nan")))
    key = (cfg.get("metrics") or {}).get("optimize", "auto")
    if key == "auto":
        key = next((k for k in AUTO_OBJECTIVES if k in scores), "fid")
    if key not in scores:
        raise ConfigError(
            f"metrics.optimize={key} is not one of this run's metrics ({', '.join(scores)})"
        )
    return float(scores[key])


def record_failure(cfg: DictConfig, exc: BaseException) -> None:
    """A sweep job that failed (a bad value, a diverged run) fails alone: its reason goes to
    ``<job dir>/failed.json`` for the end-of-sweep summary and, when the job logs to W&B, into a
    W&B run of its own (in the sweep's group) marked failed."""
    hydra_cfg = HydraConfig.get()
    job_dir = Path(hydra_cfg.runtime.output_dir)
    overrides = list(hydra_cfg.overrides.task)
    job_dir.mkdir(parents=True, exist_ok=True)
    record = {"job": hydra_cfg.job.num, "overrides": overrides, "error": str(exc),
              "kind": type(exc).__name__}  # fmt: skip
    (job_dir / FAILED).write_text(json.dumps(record, indent=1))
    log.error("job %s (%s) failed: %s", hydra_cfg.job.num, " ".join(overrides), exc)
    logger = next(
        (n for n in (cfg.get("logger") or {}).values()
         if isinstance(n, DictConfig) and str(n.get("_target_", "")).endswith("WandbLogger")),
        None,
    )  # fmt: skip
    if logger is None or record["kind"] == "TrainingDiverged":  # a diverged run has its own
        return
    import wandb

    sweep = Path(hydra_cfg.sweep.dir)
    run = wandb.init(
        project=logger.get("project"),
        group=f"{sweep.parent.name}-{sweep.name}",
        name=f"{hydra_cfg.job.name}[{hydra_cfg.job.override_dirname}]",
        dir=str(job_dir),
        config={"overrides": overrides, "error": str(exc)},
        mode=choose_wandb_mode(),
    )
    run.summary["error"] = str(exc)
    run.finish(exit_code=2)


#: a failed job's exit status, as the same error ends a single run (``gans.cli``)
STATUS = {"ConfigError": 2, "SweepError": 2, "TrainingDiverged": 3}


class FailureSummary(Callback):
    """At the end of a multirun, list the jobs that failed and why (from their ``failed.json``)
    and exit with the first failed job's status (2: its settings were refused, 3: it diverged),
    so that a script or CI running the sweep can tell; the other jobs ran to the end."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep = Path(config.hydra.sweep.dir)
        failed = [json.loads(p.read_text()) for p in sorted(sweep.glob(f"*/{FAILED}"))]
        if not failed:
            return
        failed.sort(key=lambda r: int(r["job"]))
        lines = [f"{len(failed)} job(s) of the sweep in {sweep} failed:"]
        lines += [f"  job {r['job']} ({' '.join(r['overrides'])}): {r['error']}" for r in failed]
        print("\n".join(lines), file=sys.stderr, flush=True)
        sys.exit(STATUS.get(failed[0].get("kind", ""), 1))
