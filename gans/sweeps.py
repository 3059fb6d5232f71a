"""Hydra sweeps: what a job returns to the sweeper, W&B grouping, and launchers that clash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from gans.errors import ConfigError


def multirun() -> bool:
    """True inside a job of ``python -m gans.train -m ...`` (or a sweeper such as Optuna)."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


# Strategies whose launcher re-runs the command line in child processes (Lightning #11300).
RELAUNCHING = ("ddp", "ddp_find_unused_parameters_true", "ddp_find_unused_parameters_false")


def check_sweepable(cfg: DictConfig) -> None:
    """Refuse a multirun whose trainer would re-launch the command (and so the whole sweep) in
    every child process."""
    strategy = str(cfg.trainer.get("strategy", "auto"))
    devices = cfg.trainer.get("devices", 1)
    if strategy in RELAUNCHING and devices not in (1, [0], "1"):
        raise ConfigError(
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


AUTO_OBJECTIVES = ("fid", "reverse_kl", "kl")


def objective(summary: dict[str, Any], cfg: DictConfig) -> float:
    """The value a sweeper minimizes: the final ``metrics.optimize`` when metrics ran (``auto``:
    FID for images, reverse KL of the mode histogram for 2-D mixtures, the KL to uniform for
    stacked MNIST), else the final generator loss."""
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
