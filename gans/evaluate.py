"""`python -m gans.evaluate ckpt=<file>`: FID/KID/IS/PRDC of a saved generator, with its protocol.

Prints a table and writes JSON (scores, protocol stamp, iteration, timing; for class-conditional
games the conditional accuracy and intra-class FID under their own stamps; for games with latent
codes, their disentanglement: :func:`gans.metrics.disentanglement.measure`).
"""

from __future__ import annotations

import json
import time
from functools import partial
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from gans import restore, rng
from gans.cli import command, reports_config_errors
from gans.configs import CONF_DIR
from gans.errors import ConfigError
from gans.metrics.disentanglement import measure
from gans.metrics.held_out import held_out, raise_no_test, score_reconstructions, translator
from gans.metrics.measurement import Measurement
from gans.validate import check_required


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Score ``cfg.ckpt``; returns the JSON record (also written to ``cfg.out``)."""
    check_required(cfg)
    overrides = {"data": OmegaConf.to_container(cfg.data)} if cfg.data else None
    run, model, iteration = restore.restore(cfg.ckpt, overrides)
    saved = run.get("metrics") or {}
    run.metrics = cfg.metrics
    device = restore.device(cfg.device)
    model.to(device)
    data = restore.datamodule(run)
    if model.translates and not run.metrics.translation.get("domain") and saved.get("translation"):
        run.metrics.translation = saved.translation  # the run's own scoring domain
    measurement = Measurement(run, data, num_samples=int(cfg.num_samples))
    kind = measurement.kind(model)
    if kind == "translation":
        return evaluate_translation(cfg, measurement, model, iteration, device)
    if kind == "reconstruction":
        return evaluate_reconstruction(cfg, measurement, model, iteration, device)
    evaluator = measurement.images()
    use_ema = bool(cfg.ema) and model.uses_ema
    started = time.perf_counter()
    evaluator.prepare(device)
    prepared = time.perf_counter()
    scores = evaluator.evaluate(partial(model.sample, ema=use_ema), device)
    done = time.perf_counter()
    protocol = evaluator.protocol(use_ema)
    record = {
        "checkpoint": str(Path(cfg.ckpt).resolve()),
        "iteration": iteration,
        "scores": scores,
        "protocol": {**protocol.as_dict(), **evaluator.extra},
        "tag": protocol.tag(),
        "seconds": {"reference": prepared - started, "generate_and_score": done - prepared},
        "device": str(device),
    }
    aware = measurement.class_aware(evaluator)
    if aware is not None:
        with rng.preserved():
            scores = aware.evaluate(partial(model.sample, ema=use_ema), device)
        stamps = aware.protocols(use_ema)
        record["class_aware"] = {stamps[k].key(k): v for k, v in scores.items()}
        record["scores"].update(scores)
    classifier = measurement.codes(model)
    if classifier is not None:
        with rng.preserved():
            record["disentanglement"] = measure(
                model, classifier, int(cfg.num_samples), int(run.metrics.get("batch_size", 500))
            )
    out = (
        Path(cfg.out)
        if cfg.out
        else (
            Path(cfg.ckpt).resolve().parent.parent
            / "eval"
            / f"{Path(cfg.ckpt).stem}-{protocol.tag()}.json"
        )
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2))
    record["out"] = str(out)
    return record


def evaluate_translation(
    cfg: DictConfig, measurement: Measurement, model: Any, iteration: int, device: Any
) -> dict[str, Any]:
    """A translation model's scores on its data's held-out split
    (:mod:`gans.metrics.translation`), keyed by protocol stamp."""
    evaluator = measurement.translation()
    held = held_out(measurement.data)
    if not held:
        raise_no_test(measurement.data)
    use_ema = bool(cfg.ema) and model.uses_ema
    translate = translator(model, use_ema)
    started = time.perf_counter()
    with rng.preserved():
        if "paired" in held:
            stamped = evaluator.paired(translate, *held["paired"], device, use_ema)
        else:
            stamped = evaluator.unpaired(translate, held, device, use_ema)
    return _stamped_record(cfg, stamped, evaluator.extra, iteration, started, device)


def evaluate_reconstruction(
    cfg: DictConfig, measurement: Measurement, model: Any, iteration: int, device: Any
) -> dict[str, Any]:
    """An autoencoder's scores on its data's held-out images (``data.holdout``): L1, PSNR,
    SSIM, rFID, rKID and, with a codebook, its usage and perplexity."""
    evaluator = measurement.reconstruction()
    data = measurement.data
    held = data.held_out() if hasattr(data, "held_out") else None
    if held is None:
        raise ConfigError(
            f"ckpt={cfg.ckpt} is an autoencoder, scored on held-out images: pass data.holdout="
            "<count> (the run's own is in its config)"
        )
    use_ema = bool(cfg.ema) and model.uses_ema
    started = time.perf_counter()
    with rng.preserved():
        stamped = score_reconstructions(evaluator, model, held[0], use_ema)
    return _stamped_record(cfg, stamped, evaluator.extra, iteration, started, device)


def _stamped_record(
    cfg: DictConfig,
    stamped: dict[str, float],
    extra: dict[str, Any],
    iteration: int,
    started: float,
    device: Any,
) -> dict[str, Any]:
    """The JSON record of protocol-stamped scores (``<name>/<tag>``), written by :func:`_write`."""
    tag = next(iter(stamped)).split("/", 1)[1]
    record = {
        "checkpoint": str(Path(cfg.ckpt).resolve()),
        "iteration": iteration,
        "scores": {key.split("/")[0]: value for key, value in stamped.items()},
        "stamped": stamped,
        "protocol": {"tag": tag, **extra},
        "tag": tag,
        "seconds": {"generate_and_score": time.perf_counter() - started},
        "device": str(device),
    }
    return _write(cfg, record, tag)


def _write(cfg: DictConfig, record: dict[str, Any], tag: str) -> dict[str, Any]:
    """``record`` as JSON at ``cfg.out`` (default ``<run dir>/eval/<ckpt name>-<tag>.json``)."""
    out = (
        Path(cfg.out)
        if cfg.out
        else Path(cfg.ckpt).resolve().parent.parent / "eval" / f"{Path(cfg.ckpt).stem}-{tag}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2))
    record["out"] = str(out)
    return record


def table(record: dict[str, Any]) -> str:
    lines = [f"{'metric':<10} {'value':>12}"]
    lines += [f"{name:<10} {value:>12.5g}" for name, value in record["scores"].items()]
    for name, value in record.get("disentanglement", {}).items():
        lines.append(f"{name:<10} {value:>12.5g}  (disentanglement)")
    lines.append(f"protocol: {record['tag']}")
    lines.append(f"json: {record['out']}")
    generated = record["protocol"].get("generated", "held-out")
    lines.append(
        f"iteration {record['iteration']}; {generated} samples scored in "
        f"{record['seconds']['generate_and_score']:.1f} s on {record['device']}"
    )
    return "\n".join(lines)


@command
@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="evaluate")
@reports_config_errors
def main(cfg: DictConfig) -> None:
    record = evaluate(cfg)
    print(table(record), flush=True)


if __name__ == "__main__":
    main()
