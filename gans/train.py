"""`python -m gans.train [group=option ...] [key=value ...]`: compose, build, fit.

Returns the value a Hydra sweeper optimises: the final FID when metrics run, else the final
generator loss.
"""

from __future__ import annotations

import json
import logging
import re
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ProgressBar
from lightning.pytorch.loggers import Logger, WandbLogger
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import InterpolationKeyError

from gans import cluster, presets, quiet, restore, resume, rng, sweeps
from gans.build import build_model, config_error
from gans.callbacks import monitors
from gans.callbacks.evaluation import Evaluation
from gans.callbacks.interrupt import NAMES, GracefulInterrupt
from gans.callbacks.progress import RunLogLines
from gans.checkpoint_io import AtomicCheckpointIO, remove_stale_temporaries
from gans.cli import command, reports_config_errors
from gans.configs import CONF_DIR, data_named_by
from gans.data.memory import InMemoryDataModule
from gans.errors import ConfigError, Interrupted, TrainingDiverged
from gans.games.abilities import NeedsPerceptual
from gans.loggers import choose_wandb_mode, declare_metrics, describe
from gans.metrics.measurement import Measurement
from gans.outputs import check_writable, discard_unused_output_dir
from gans.perceptual import build_perceptual
from gans.runlog import RUN_LOG, close_run_log, open_run_log
from gans.trust import user_config_dirs
from gans.validate import (
    check_data,
    check_devices,
    check_model_fits,
    check_required,
    validate,
)

log = logging.getLogger(__name__)


def _instantiate_all(group: DictConfig | None) -> list[Any]:
    return [
        instantiate(c)
        for c in (group or {}).values()
        if isinstance(c, DictConfig) and "_target_" in c
    ]


def _unresolvable(cfg: DictConfig, prefix: str = "") -> str:
    """The first key whose interpolation cannot be resolved."""
    for key in cfg:
        path = f"{prefix}{key}"
        node = cfg._get_node(key)
        if isinstance(node, DictConfig):
            found = _unresolvable(node, f"{path}.")
            if found:
                return found
            continue
        try:
            cfg[key]
        except InterpolationKeyError:
            return path
    return ""


def _loggers(cfg: DictConfig, wandb_run_id: str | None) -> list[Logger]:
    """The configured loggers; a resumed run's W&B logger continues the checkpoint's W&B run."""
    loggers = []
    for node in (cfg.logger or {}).values():
        if not isinstance(node, DictConfig) or "_target_" not in node:
            continue
        if wandb_run_id and node._target_.endswith("WandbLogger"):
            logger = instantiate(node, id=wandb_run_id, resume="allow")
        else:
            logger = instantiate(node)
        loggers.append(quiet.without_anonymous_setting(logger))
    return loggers


def _announce_resume(resumed: dict[str, Any], cfg: DictConfig) -> None:
    log.info(
        "resuming %s at iteration %d in %s",
        resumed["path"],
        resumed["iteration"],
        cfg.paths.run_dir,
    )
    changed = resume.changed_keys(resumed.get("config") or {}, cfg)
    if changed:
        log.warning(
            "the resumed run's settings differ from the checkpoint's in: %s", ", ".join(changed)
        )


def _announce_preset() -> None:
    """One line naming the preset Hydra applied for this model and data, and how to go without."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return
    choice = HydraConfig.get().runtime.choices.get("preset")
    line = presets.applied_line(choice, [Path(d) for d in user_config_dirs()])
    if line:
        log.info(line)


@dataclass
class Run:
    """What one training run is made of, once its config is resolved and checked."""

    cfg: DictConfig
    resumed: dict[str, Any]
    datamodule: Any
    model: Any
    callbacks: list[L.Callback]
    evaluation: list[Any]
    health: list[Any]
    interrupt: GracefulInterrupt
    loggers: list[Logger]


def train(cfg: DictConfig, extra_callbacks: list[L.Callback] | None = None) -> dict[str, Any]:
    """Fit the configured GAN; returns a summary (paths, iterations, timings, final losses).

    ``extra_callbacks`` lets studies observe a run (e.g. record parameter trajectories).
    """
    quiet.silence()
    cfg, resumed = resolved_config(cfg)
    check_run(cfg)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    run = assemble(cfg, resumed, extra_callbacks or [])
    trainer: L.Trainer = instantiate(
        cfg.trainer,
        callbacks=run.callbacks,
        logger=run.loggers or False,
        plugins=[AtomicCheckpointIO()],
    )
    record_settings(run)
    where = announce_outputs(run)
    run_log = open_run_log(cfg.paths.run_dir) if trainer.is_global_zero else None
    if resumed:
        RUN_LOG.info("resumed from %s at iteration %d", resumed["path"], resumed["iteration"])
    seconds = fit(trainer, run, run_log)
    summary = summarise(trainer, run, seconds, where)
    if trainer.is_global_zero:
        _report(summary)
        _write_summary(summary)
    interrupt = run.interrupt
    advice = _resume_advice(cfg, interrupt) if interrupt.stopped_at is not None else None
    if advice:
        RUN_LOG.info("interrupted: %s", advice)
    if run_log is not None:
        close_run_log(run_log)
    if advice:
        interrupt.hand_over()  # submitit requeues (and exits) here on SIGUSR2
        raise Interrupted(advice, interrupt.requested or 15)
    if resumed:  # the run went on in its own directory: Hydra's new one holds only its files
        discard_unused_output_dir()
    cluster.close_process_group()
    return summary


def resolved_config(cfg: DictConfig) -> tuple[DictConfig, dict[str, Any]]:
    """A resolved copy of ``cfg`` (a requeued job's checkpoint filled in) and what the run
    resumes from (empty for a fresh run); a ConfigError names a key that cannot resolve."""
    cfg = cfg.copy()
    check_required(cfg)
    requeued = resume.requeued_checkpoint(cfg)
    if requeued:
        log.info("requeued job: resuming from %s", requeued)
        cfg.ckpt_path = requeued
    resumed = resume.prepare(cfg)
    try:
        OmegaConf.resolve(cfg)
    except InterpolationKeyError as exc:
        missing = re.search(r"key '([^']+)'", str(exc))
        key = missing[1] if missing else "?"
        model, data = cfg.model.get("name"), cfg.data.get("name")
        needed = data_named_by(str(model))
        if key.startswith("data.") and needed:  # the model needs another kind of data: say which
            raise ConfigError(
                f"model={model} needs {key}, which data={data} does not define: choose "
                f"{' or '.join(f'data={d}' for d in needed)} (with data.root=<folder>)"
            ) from None
        raise ConfigError(
            f"{_unresolvable(cfg)} needs ${{{key}}}, which the chosen configs do not define "
            f"(model={model} and data={data} do not fit together?)"
        ) from None
    return cfg, resumed


def check_run(cfg: DictConfig) -> None:
    """The settings' rules, the run directory, the cluster's shape, the devices, a sweep's
    grouping and W&B's mode, before anything is built."""
    validate(cfg)
    check_writable(cfg.paths.run_dir, "paths.run_dir")
    cluster.apply_slurm_shape(cfg, cluster.launcher_config())
    check_devices(cfg)
    if sweeps.multirun():
        sweeps.check_sweepable(cfg)
        sweeps.group_runs(cfg)
    if cfg.logger and any("Wandb" in str(c.get("_target_", "")) for c in cfg.logger.values()):
        choose_wandb_mode()
    _announce_preset()


def assemble(cfg: DictConfig, resumed: dict[str, Any], extra: list[L.Callback]) -> Run:
    """The data, the game, the callbacks (monitors, interrupt handling, ``extra`` last) and the
    loggers; a ConfigError raised inside a Hydra instantiation comes out as itself."""
    try:
        datamodule = restore.datamodule(cfg)
        check_data(cfg, datamodule)
        model = build_model(cfg)
        if model.captured is not None and isinstance(datamodule, InMemoryDataModule):
            datamodule.on_device = True  # a captured iteration's batch: one gather on the GPU
        if resumed:  # a checkpoint that does not fit is refused before its settings are listed
            resume.check_fits(model, resumed, cfg)
            _announce_resume(resumed, cfg)
            quiet.resuming()
        check_model_fits(model, datamodule.sample_shape)
        callbacks = _instantiate_all(cfg.callbacks)
        if not cfg.trainer.get("enable_progress_bar", True):
            callbacks = [c for c in callbacks if not isinstance(c, ProgressBar)]
        with rng.preserved():  # e.g. training the metrics' classifier: not from the run's stream
            measurement = Measurement(cfg, datamodule)
            evaluation = monitors.evaluation(measurement, model)
            if isinstance(model, NeedsPerceptual):
                kind = model.perceptual_kind
                model.attach_perceptual(build_perceptual(kind, measurement))
        health = monitors.health(cfg, evaluation)
        interrupt = GracefulInterrupt()
        callbacks += [*evaluation, *health, interrupt, RunLogLines(), *extra]
        loggers: list[Logger] = _loggers(cfg, resumed.get("wandb_run_id"))
    except InstantiationException as exc:
        error = config_error(exc)
        if error is not None:
            raise error from None
        raise
    return Run(cfg, resumed, datamodule, model, callbacks, evaluation, health, interrupt, loggers)


def record_settings(run: Run) -> None:
    """The resolved settings, with the perceptual loss, the fork and the metrics' protocol, in
    every logger's record of the run."""
    cfg, model, evaluation = run.cfg, run.model, run.evaluation
    hyperparams = OmegaConf.to_container(cfg, resolve=True)
    if isinstance(model, NeedsPerceptual):  # which perceptual loss trained it, in the record
        hyperparams["perceptual"] = model.perceptual_name
    if run.resumed.get("forked_from"):
        hyperparams["forked_from"] = run.resumed["forked_from"]
    if evaluation and isinstance(evaluation[0], Evaluation):
        evaluator = evaluation[0].evaluator
        hyperparams["metrics_protocol"] = evaluator.protocol(cfg.ema.enabled).as_dict()
        hyperparams["metrics_protocol"].update(evaluator.extra)
    for logger in run.loggers:
        logger.log_hyperparams(hyperparams)


def announce_outputs(run: Run) -> list[str]:
    """Remove what a killed checkpoint write left, declare the logged metrics, say where each
    logger writes; returns those lines (the upload hints among them come at the end)."""
    for stale in remove_stale_temporaries(run.cfg.paths.checkpoints):
        log.info("removed %s, left by a checkpoint write that was killed", stale)
    declare_metrics(run.loggers)
    where = describe(run.loggers)
    for line in where:
        if not line.startswith(" "):
            log.info(line)
    return where


def fit(trainer: L.Trainer, run: Run, run_log: Any) -> float:
    """``trainer.fit`` (resuming from ``ckpt_path``); seconds it took. A run that stops with an
    exception says so in train.log; every W&B run is finished either way."""
    started = time.perf_counter()
    try:
        trainer.fit(run.model, datamodule=run.datamodule, ckpt_path=run.cfg.ckpt_path)
    except BaseException as exc:
        RUN_LOG.info(
            "stopped at iteration %d: %s: %s", trainer.global_step, type(exc).__name__, exc
        )
        if run_log is not None:
            close_run_log(run_log)
        raise
    finally:
        for logger in run.loggers:  # each job of a sweep is its own run, also when one fails
            if isinstance(logger, WandbLogger) and logger._experiment is not None:
                logger.experiment.finish()
    return time.perf_counter() - started


def summarise(trainer: L.Trainer, run: Run, seconds: float, where: list[str]) -> dict[str, Any]:
    """What :func:`train` returns and ``summary.json`` holds."""
    cfg, model, evaluation = run.cfg, run.model, run.evaluation
    iterations = trainer.global_step
    summary: dict[str, Any] = {
        "run_dir": cfg.paths.run_dir,
        "iterations": iterations,
        "iterations_this_run": iterations - model.start_iteration,
        # False when a signal stopped the run early: scripts that skip finished runs read this
        "finished": run.interrupt.stopped_at is None and iterations >= int(cfg.iterations),
        "seconds": seconds,
        "iterations_per_s": (iterations - model.start_iteration) / max(seconds, 1e-9),
        "checkpoints": cfg.paths.checkpoints,
        "samples": cfg.paths.samples,
        **{k: float(v) for k, v in model.stats.items() if k.startswith("loss/")},
        "loggers": where,
    }
    if run.health:
        summary["health"] = run.health[0].warnings
    if evaluation and evaluation[0].history:
        summary["metrics"] = evaluation[0].history[-1][1]
        if isinstance(evaluation[0], Evaluation):
            summary["protocol"] = evaluation[0].evaluator.protocol(cfg.ema.enabled).tag()
    return summary


def _resume_advice(cfg: DictConfig, interrupt: GracefulInterrupt) -> str:
    """Where an interrupted run stopped and the command that continues it."""
    last = Path(cfg.paths.checkpoints) / "last.ckpt"
    try:
        from hydra.core.hydra_config import HydraConfig

        given = [o for o in HydraConfig.get().overrides.task if not o.startswith("ckpt_path=")]
    except ValueError:  # train() called without Hydra's command line
        given = []
    command = " ".join(
        ["python -m gans.train", *map(shlex.quote, given), shlex.quote(f"ckpt_path={last}")]
    )
    name = NAMES.get(interrupt.requested or 0, "a signal")
    return (
        f"stopped by {name} at iteration {interrupt.stopped_at}; its checkpoint is {last}. "
        f"Resume with: {command}"
    )


def _write_summary(summary: dict[str, Any]) -> None:
    """``<run_dir>/summary.json``: what ``train`` returns, for scripts that collect sweeps."""
    path = Path(summary["run_dir"]) / "summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({k: v for k, v in summary.items() if k != "loggers"}, indent=1))


def _report(summary: dict[str, Any]) -> None:
    """The closing summary, on stdout and in the run's train.log."""
    done, total = summary["iterations_this_run"], summary["iterations"]
    resumed = f" (iterations {total - done}-{total}: resumed)" if done != total else ""
    grids = sorted(Path(summary["samples"]).glob("iter_*.png"))
    samples = f"sample grids:  {summary['samples']}" + (
        f"  (latest: {grids[-1].name})" if grids else ""
    )
    lines = [
        f"trained {summary['iterations_this_run']} generator iterations{resumed} in "
        f"{summary['seconds']:.1f} s "
        f"({summary['iterations_per_s']:.2f} it/s)",
        f"run directory: {summary['run_dir']}",
        *([samples] if grids else []),
        f"checkpoints:   {summary['checkpoints']}  (last.ckpt; resume with ckpt_path=<file>)",
        *summary["loggers"],
    ]
    if "metrics" in summary:
        scores = ", ".join(f"{k} {v:.4g}" for k, v in summary["metrics"].items())
        protocol = f"\n  protocol: {summary['protocol']}" if "protocol" in summary else ""
        lines.insert(1, f"metrics at the end: {scores}{protocol}")
    print("\n".join(lines), flush=True)
    for line in lines:
        RUN_LOG.info(line)


@command
@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="train")
@reports_config_errors
def main(cfg: DictConfig) -> float:
    try:
        summary = train(cfg)
    except (ConfigError, TrainingDiverged) as exc:
        if not sweeps.multirun() or isinstance(exc, sweeps.SweepError):
            raise
        sweeps.record_failure(cfg, exc)  # one bad job does not end the sweep; it scores NaN
        return float("nan")
    return sweeps.objective(summary, cfg)


if __name__ == "__main__":
    main()
