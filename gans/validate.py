"""Checks on a composed configuration, run before anything is built or trained."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from gans.configs import CONF_DIR
from gans.errors import ConfigError
from gans.games.gan import check_rules
from gans.prior import PRIORS


def _positive_int(cfg: DictConfig, key: str, allow_zero: bool = False) -> None:
    value = OmegaConf.select(cfg, key)
    low = 0 if allow_zero else 1
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        hint = "an integer >= 0 (0 disables it)" if allow_zero else "an integer >= 1"
        raise ConfigError(f"{key}={value} must be {hint}")


def validate(cfg: DictConfig) -> None:
    """Raise :class:`ConfigError` naming the first key whose value cannot work."""
    seed = cfg.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ConfigError(f"seed={seed} must be an integer")
    _positive_int(cfg, "iterations")
    _positive_int(cfg, "log_every")
    _positive_int(cfg, "sample_every", allow_zero=True)
    _positive_int(cfg, "checkpoint_every", allow_zero=True)
    if OmegaConf.select(cfg, "model.latent.dim") is not None:
        _positive_int(cfg, "model.latent.dim")
    rules = {k: OmegaConf.select(cfg, f"model.{k}") for k in ("n_critic", "n_gen", "updates")}
    rules["pack"] = OmegaConf.select(cfg, "model.pack")
    check_rules(**{k: v for k, v in rules.items() if v is not None})  # the GAN family's
    _positive_int(cfg, "data.batch_size")
    if OmegaConf.select(cfg, "check_finite_every") is not None:
        _positive_int(cfg, "check_finite_every", allow_zero=True)
    if OmegaConf.select(cfg, "health.enabled"):
        _positive_int(cfg, "health.every")
        _positive_int(cfg, "health.patience")
        _positive_int(cfg, "health.num_samples")
    if OmegaConf.select(cfg, "model.pack") is not None:
        pack, batch = cfg.model.pack, cfg.data.batch_size
        if batch % pack:
            raise ConfigError(
                f"model.pack={pack} needs data.batch_size divisible by it, got {batch}"
            )
    prior = OmegaConf.select(cfg, "model.latent.prior")
    if OmegaConf.select(cfg, "model.latent") is not None and prior not in PRIORS:
        raise ConfigError(f"model.latent.prior={prior} is unknown; allowed: {', '.join(PRIORS)}")
    players = [k for k, v in (cfg.get("optimizer") or {}).items() if isinstance(v, DictConfig)]
    # the shared knob first: the players' lr are copies of it, and the user wrote this one
    keys = ["optimizer.lr"] if OmegaConf.select(cfg, "optimizer.lr") is not None else []
    keys += [f"optimizer.{p}.lr" for p in players if "_target_" in cfg.optimizer[p]]
    for key in keys:
        lr = OmegaConf.select(cfg, key)
        if not isinstance(lr, (int, float)) or isinstance(lr, bool) or lr <= 0:
            raise ConfigError(f"{key}={lr} must be a number > 0")


def check_devices(cfg: DictConfig) -> None:
    """Raise :class:`ConfigError`, before any process is started, when the trainer asks for GPUs
    this machine does not have, or for several processes without the DDP strategy a GAN needs
    (its D step leaves G's parameters unused, which plain DDP rejects)."""
    trainer = cfg.get("trainer") or {}
    accelerator = str(trainer.get("accelerator", "auto")).lower()
    devices = trainer.get("devices", 1)
    strategy = str(trainer.get("strategy", "auto"))
    gpus = torch.cuda.device_count()
    on_gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and gpus > 0)
    count = devices if isinstance(devices, int) and not isinstance(devices, bool) else None
    if accelerator in ("gpu", "cuda") and gpus == 0:
        hint = (
            "trainer=ddp_cpu runs the same DDP code path in CPU processes"
            if "ddp" in strategy
            else "use trainer=cpu"
        )
        raise ConfigError(f"trainer.accelerator={accelerator} but this machine has no GPU: {hint}")
    if on_gpu and count is not None and count > gpus:
        raise ConfigError(f"trainer.devices={count} but this machine has {gpus} GPU(s)")
    if accelerator == "auto" and gpus == 0 and count is not None and count > 1:
        raise ConfigError(
            f"trainer.devices={count} but this machine has no GPU: for {count} CPU processes "
            f"use trainer=ddp_cpu trainer.devices={count}"
        )
    many = (
        devices == -1
        or (count is not None and count > 1)
        or (OmegaConf.is_list(devices) and len(devices) > 1)
        or (devices == "auto" and on_gpu and gpus > 1)
    )
    if many and "find_unused_parameters_true" not in strategy:
        raise ConfigError(
            f"trainer.devices={devices} with trainer.strategy={strategy}: several processes "
            "need trainer=ddp (GPUs) or trainer=ddp_cpu, whose strategy lets each player's step "
            "leave the other's parameters unused"
        )


def _missing(cfg: DictConfig, prefix: str = "") -> list[str]:
    found = []
    for key in cfg:
        node = cfg._get_node(key)
        if isinstance(node, DictConfig):
            found += _missing(node, f"{prefix}{key}.")
        elif OmegaConf.is_missing(cfg, key):
            found.append(f"{prefix}{key}")
    return found


def check_dataset_choice(cfg: DictConfig) -> None:
    """Raise when ``data=`` chose the base the image datasets share (``data=_images``, which
    ``--help`` lists) instead of a dataset."""
    module = OmegaConf.select(cfg, "data.datamodule")
    if isinstance(module, DictConfig) and "_target_" not in module:
        names = sorted(p.stem for p in (Path(CONF_DIR) / "data").glob("[!_]*.yaml"))
        raise ConfigError(
            "data=_images is the base the image datasets share, not a dataset; choose one of: "
            + ", ".join(names)
        )


def check_required(cfg: DictConfig) -> None:
    """Raise naming the first ``???`` value the user still has to give (nothing is resolved),
    or a data choice that is not a dataset (:func:`check_dataset_choice`)."""
    check_dataset_choice(cfg)
    missing = _missing(cfg)
    if missing:
        key = missing[0]
        what = required_comment(key)
        value = f"<{what}>" if what else "<value>"
        raise ConfigError(f"{key} must be set, e.g. {key}={value} on the command line")


def required_comment(key: str) -> str | None:
    """The comment beside ``<leaf>: ???`` in the package's configs (what the value is), when
    the configs say it one way only."""
    leaf = re.escape(key.rsplit(".", 1)[-1])
    pattern = re.compile(rf"^\s*{leaf}:\s*\?\?\?\s*#\s*(.+?)\s*$", re.M)
    found = {
        m[1] for path in Path(CONF_DIR).rglob("*.yaml") for m in pattern.finditer(path.read_text())
    }
    return found.pop() if len(found) == 1 else None


def check_data(cfg: DictConfig, datamodule: Any) -> None:
    """After the data is set up: its sample shape and labels fit what the model is built for."""
    name = cfg.data.get("name")
    shape = tuple(datamodule.sample_shape)
    want = tuple(cfg.data.shape)
    if shape != want:
        raise ConfigError(
            f"data={name} gives samples of shape {shape} but the model is built for "
            f"data.shape={want}"
        )
    classes = int(cfg.model.get("num_classes", 0) or 0)
    have = int(datamodule.num_classes)
    if cfg.model.get("conditional") and classes == 0:
        raise ConfigError(
            f"model={cfg.model.get('name')} is class-conditional but model.num_classes=0: "
            f"data={name} has no labels (a labelled dataset, e.g. data=mnist or data=image_folder "
            "with data.num_classes=<number of class folders>)"
        )
    if classes > 0 and have == 0:
        raise ConfigError(
            f"model.num_classes={classes} asks for a class-conditional GAN but data={name} is "
            "unlabeled (model.num_classes=0 trains unconditionally)"
        )
    if classes > 0 and classes != have:
        raise ConfigError(f"model.num_classes={classes} but data={name} has {have} classes")
    labels = getattr(getattr(datamodule, "dataset", None), "labels", None)
    if classes > 0 and labels is not None and len(labels):
        low, high = int(labels.min()), int(labels.max())
        if low < 0 or high >= classes:
            raise ConfigError(
                f"data={name} has a label {low if low < 0 else high} outside [0, {classes}) "
                f"(model.num_classes={classes})"
            )


def check_model_fits(model: Any, shape: tuple[int, ...]) -> None:
    """The game's samples have the data's sample ``shape`` and its judges take them (a forward
    on 2 samples: :meth:`gans.games.base.Game.check_fits`)."""
    model.check_fits(tuple(shape))
