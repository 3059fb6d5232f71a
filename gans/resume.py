"""Continuing a run: which checkpoint ``ckpt_path`` names, where the run lives, its W&B run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from gans.errors import ConfigError
from gans.trust import read_checkpoint, targets_in

DEFAULT_RUN_DIR = "${hydra:runtime.output_dir}"


def find_checkpoint(ckpt_path: str, run_dir: str | None) -> Path:
    """The file ``ckpt_path`` names: a path, or ``last``: ``<run_dir>/checkpoints/last.ckpt``
    when the run directory already has one (``hydra.run.dir`` pointed at the old run), else the
    newest ``*/checkpoints/last.ckpt`` beside ``run_dir`` (the runs of this name under
    ``outputs/<name>/``)."""
    if ckpt_path != "last":
        return Path(ckpt_path).expanduser()
    if run_dir is None:
        raise ConfigError("ckpt_path=last needs a run directory to search; pass a file instead")
    here = Path(run_dir) / "checkpoints" / "last.ckpt"
    if here.is_file():
        return here
    siblings = sorted(
        Path(run_dir).parent.glob("*/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime
    )
    if not siblings:
        raise ConfigError(
            f"ckpt_path=last: no */checkpoints/last.ckpt under {Path(run_dir).parent}; "
            "pass ckpt_path=<file>"
        )
    return siblings[-1]


def requeued_checkpoint(cfg: DictConfig) -> str | None:
    """In a SLURM job that was requeued (``SLURM_RESTART_COUNT`` > 0) and given no
    ``ckpt_path``, the ``last.ckpt`` its previous run left in the same run directory."""
    if cfg.get("ckpt_path") or int(os.environ.get("SLURM_RESTART_COUNT") or 0) <= 0:
        return None
    try:
        last = Path(str(cfg.paths.run_dir)) / "checkpoints" / "last.ckpt"
    except Exception:  # noqa: BLE001  (no Hydra run to interpolate from)
        return None
    return str(last) if last.is_file() else None


def prepare(cfg: DictConfig) -> dict[str, Any]:
    """Resolve ``cfg.ckpt_path`` to a file and, unless ``paths.run_dir`` was set explicitly,
    point the run at the checkpoint's run directory (samples, checkpoints and logs continue
    there). Returns what the checkpoint says about the run (``wandb_run_id``, iteration)."""
    if not cfg.get("ckpt_path"):
        return {}
    default_dir = cfg.paths._get_node("run_dir")._value() == DEFAULT_RUN_DIR
    try:
        current: str | None = str(cfg.paths.run_dir)
    except Exception:  # noqa: BLE001  (no Hydra run to interpolate from, e.g. compose API)
        current = None
    path = find_checkpoint(str(cfg.ckpt_path), current)
    # memory-mapped (Lightning loads it again); the run's own composed targets are the user's
    checkpoint = read_checkpoint(
        path, "ckpt_path", trusted=targets_in(cfg), mmap=True, needs_config=False
    )
    path = path.resolve()
    state = checkpoint.get("gans", {})
    old_dir = path.parent.parent if path.parent.name == "checkpoints" else None
    if default_dir and old_dir is not None:
        cfg.paths.run_dir = str(old_dir)
    # an explicit paths.run_dir elsewhere forks the run: a new W&B run that records its parent
    forked = current is not None and not default_dir and Path(current).resolve() != old_dir
    cfg.ckpt_path = str(path)
    return {
        "path": str(path),
        "iteration": int(checkpoint.get("global_step", 0)),
        "wandb_run_id": None if forked else state.get("wandb_run_id"),
        "forked_from": {"checkpoint": str(path), "wandb_run_id": state.get("wandb_run_id")}
        if forked
        else None,
        "config": state.get("config", {}),
        "shapes": {k: tuple(v.shape) for k, v in checkpoint["state_dict"].items()},
    }


def check_fits(
    model: torch.nn.Module, resumed: dict[str, Any], cfg: DictConfig, key: str = "ckpt_path"
) -> None:
    """Raise a ConfigError naming both models when the checkpoint's weights do not fit the model
    this run builds (another model, width or image size, or tensors whose shapes were edited),
    before any weight is loaded. ``resumed`` holds ``path``, ``shapes`` and the saved
    ``config``."""
    saved: dict[str, tuple[int, ...]] = resumed.get("shapes") or {}
    own = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    differ = [k for k in own if k in saved and own[k] != saved[k]]
    missing = [k for k in own if k not in saved]
    extra = [k for k in saved if k not in own]
    if not (differ or missing or extra):
        return
    old = resumed.get("config") or {}
    name = (old.get("model") or {}).get("name", "?")
    if differ:
        what = f"{differ[0]} is {saved[differ[0]]} in the checkpoint and {own[differ[0]]} here"
    elif missing:
        what = f"it has no {missing[0]}"
    else:
        what = f"it has {extra[0]}, which this model lacks"
    settings = [k for k in changed_keys(old, cfg) if k.startswith(("model.", "data."))]
    hint = f" (settings that differ: {', '.join(settings[:6])})" if settings else ""
    count = len(differ) + len(missing) + len(extra)
    more = f" (and {count - 1} more)" if count > 1 else ""
    if key != "ckpt_path":  # restoring: the model was built from the checkpoint's own config
        raise ConfigError(
            f"{key}={resumed['path']}: its tensors do not fit the model={name} its own config "
            f"builds: {what}{more} (edited or damaged?); use an unmodified checkpoint"
        )
    raise ConfigError(
        f"{key}={resumed['path']} holds model={name} but this run builds "
        f"model={cfg.model.get('name')}: {what}{more}{hint}; resume with the checkpoint's "
        "settings, or drop ckpt_path to start a new run"
    )


def changed_keys(saved: dict[str, Any], cfg: DictConfig) -> list[str]:
    """Settings that differ between the checkpoint's run and this one (paths and schedule
    lengths aside), e.g. to warn that a resumed run is not the same experiment."""
    now = OmegaConf.to_container(cfg, resolve=True)
    skip = ("paths", "ckpt_path", "iterations", "trainer.max_steps", "hydra")
    old_dir = str((saved.get("paths") or {}).get("run_dir") or "")
    new_dir = str(now["paths"]["run_dir"]) if "paths" in now else ""
    out: list[str] = []

    def walk(a: Any, b: Any, prefix: str) -> None:
        if any(prefix == s or prefix.startswith(f"{s}.") for s in skip):
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                walk(a.get(key), b.get(key), f"{prefix}.{key}" if prefix else str(key))
        elif isinstance(a, str) and old_dir and a.replace(old_dir, new_dir) == b:
            return  # a path inside the run directory (a checkpoint or log folder)
        elif a != b:
            out.append(prefix)

    walk(saved, now, "")
    return out
