"""The checkpoint trust boundary: the one reader of checkpoint files.

A checkpoint is data. It may record which of the package's options a run chose, and hold tensors;
it never chooses which callables run. Every path that opens a checkpoint (``gans.train`` resume and
fork, ``gans.evaluate``, ``gans.sample``, ``gans.translate``, ``model.first_stage``) calls
:func:`read_checkpoint`, which

* loads with ``weights_only=True`` (a pickled object other than tensors and plain values is refused
  before it is built);
* checks every node of the stored config at every depth (:func:`check_config`): a ``_target_``
  must be one of the exact names the package's configs define (or a config directory the user
  named, or the run's own composed config), never a prefix (``torchvision.datasets.utils.os.system``
  is not ``torchvision.datasets.MNIST``); Hydra's positional ``_args_`` is never stored by gans;
  ``_partial_``/``_recursive_``/``_convert_`` hold only their plain values; no string holds an
  interpolation (a saved config is resolved, so ``${...}`` in it was put there by someone else);
* refuses non-finite weights, buffers and optimizer states (nothing non-finite is ever saved).

Each refusal is one :class:`~gans.errors.ConfigError` line naming the key and the file.
"""

from __future__ import annotations

import functools
import os
import pickle
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
import yaml

from gans.configs import CONF_DIR
from gans.errors import ConfigError

#: the groups of a run's config that restoring instantiates
RESTORED = ("model", "loss", "optimizer", "regularizer", "augment", "data")
#: groups whose targets are never built from a checkpoint (only from the command line)
NOT_RESTORED = ("trainer", "logger", "callbacks", "hydra", "hparams_search")
#: Hydra's instantiation flags and the plain values each may hold
FLAGS: dict[str, tuple[Any, ...]] = {
    "_partial_": (True, False),
    "_recursive_": (True, False),
    "_convert_": ("none", "partial", "object", "all"),
}
PLAIN = (str, int, float, bool, type(None))


def _targets(node: Any, path: tuple[str, ...] = ()) -> Iterable[tuple[tuple[str, ...], str]]:
    """(path, value) of every ``_target_`` in a plain nested dict/list."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "_target_" and isinstance(value, str):
                yield path, value
            else:
                yield from _targets(value, (*path, str(key)))
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _targets(value, path)


@functools.cache
def defined_targets(directory: str) -> tuple[frozenset[str], frozenset[str]]:
    """(every ``_target_`` the YAML files under ``directory`` define, those of them a restored
    run may build: outside the trainer, logger, callbacks, hydra and search groups)."""
    everywhere, restorable = set(), set()
    root = Path(directory)
    for file in sorted(root.rglob("*.yaml")):
        parts = file.relative_to(root).parts
        group = parts[0] if len(parts) > 1 else ""
        try:
            data = yaml.safe_load(file.read_text())
        except (OSError, yaml.YAMLError):
            continue
        for path, target in _targets(data):
            everywhere.add(target)
            if group not in NOT_RESTORED and not (path and path[0] in NOT_RESTORED):
                restorable.add(target)
    return frozenset(everywhere), frozenset(restorable)


def user_config_dirs() -> list[str]:
    """Config directories named on this command's line (``--config-dir``, ``hydra.searchpath``):
    their targets are the user's choice, so a checkpoint may name them too."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return []
    own = os.path.realpath(CONF_DIR)
    dirs = []
    for source in HydraConfig.get().runtime.config_sources:
        if source.schema == "file" and os.path.realpath(source.path) != own:
            dirs.append(source.path)
    return dirs


def targets_in(cfg: Any) -> set[str]:
    """Every ``_target_`` of a config the user composed (trusted: it came from their command)."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(cfg, (DictConfig, ListConfig)):
        cfg = OmegaConf.to_container(cfg, resolve=False)
    return {target for _, target in _targets(cfg)}


def allowed(trusted: Iterable[str] = ()) -> tuple[frozenset[str], frozenset[str]]:
    """(targets a stored config may hold anywhere, targets it may hold where restoring builds),
    from the package's configs, the user's config directories and ``trusted``."""
    everywhere, restorable = defined_targets(CONF_DIR)
    extra = set(trusted)
    for directory in user_config_dirs():
        user_all, _ = defined_targets(directory)
        extra |= user_all
    return everywhere | extra, restorable | extra


def check_config(config: Any, source: str, trusted: Iterable[str] = ()) -> None:
    """Raise a one-line ConfigError naming ``source`` and the first key of a stored config that
    could choose code (see the module's docstring); return quietly when every node is data."""
    everywhere, restorable = allowed(trusted)

    def refuse(path: str, why: str) -> None:
        raise ConfigError(
            f"{source}: {path} is refused: {why}. A checkpoint may record which options a run "
            "chose, never which code runs (was the file tampered with?)"
        )

    def walk(node: Any, path: str, top: str) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                where = f"{path}.{key}" if path else str(key)
                if not isinstance(key, str):
                    refuse(where, f"a key of type {type(key).__name__}")
                if key == "_target_":
                    names = everywhere if (top or key) in NOT_RESTORED else restorable
                    if not isinstance(value, str) or value not in names:
                        refuse(f"{where}={value!r}", "it is not a target the package's configs "
                               "define")  # fmt: skip
                elif key == "_args_":
                    refuse(where, "gans never stores positional arguments (_args_)")
                elif key in FLAGS and (not isinstance(value, PLAIN) or value not in FLAGS[key]):
                    refuse(f"{where}={value!r}", f"{key} may only be {FLAGS[key]}")
                walk(value, where, top or key)
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                walk(value, f"{path}.{i}", top)
        elif isinstance(node, str):
            if "${" in node:
                refuse(f"{path}={node!r}", "a stored config is resolved, so it never holds an "
                       "interpolation")  # fmt: skip
        elif not isinstance(node, PLAIN):
            refuse(path, f"a value of type {type(node).__name__}, not a plain setting")

    walk(config, "", "")


def nonfinite(tensors: Any, prefix: str = "") -> str | None:
    """The name of the first floating-point tensor in a nested dict/list that holds NaN or Inf."""
    named: list[tuple[str, torch.Tensor]] = []

    def collect(node: Any, name: str) -> None:
        if isinstance(node, torch.Tensor):
            if node.is_floating_point() or node.is_complex():
                named.append((name, node))
        elif isinstance(node, Mapping):
            for key, value in node.items():
                collect(value, f"{name}.{key}" if name else str(key))
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                collect(value, f"{name}.{i}" if name else str(i))

    collect(tensors, prefix)
    if not named:
        return None
    finite = torch.stack([torch.isfinite(t).all() for _, t in named]).tolist()
    return next((name for (name, _), ok in zip(named, finite, strict=True) if not ok), None)


def _load_error(exc: BaseException) -> str:
    """One line for why ``torch.load`` failed, without torch's advice to load unsafely."""
    text = str(exc)
    corrupt = "it is not a readable checkpoint (truncated or corrupt?)"
    if isinstance(exc, pickle.UnpicklingError) and "Weights only load failed" in text:
        code = re.search(r"GLOBAL ([\w.]+)", text)
        if code:
            return (
                f"it holds a pickled object ({code[1]}), not only tensors and plain values; "
                "refused unread, since unpickling it could run code"
            )
        why = re.search(r"(Unsupported operand \d+|Unsupported class [\w.]+)", text)
        return f"{corrupt}: {why[1] if why else 'the unpickler refused its contents'}"
    if "mmap can only be used" in text:  # torch's advice to re-save: the zip header is gone
        return f"{corrupt}: it has no zip archive header"
    first = text.splitlines()[0] if text else ""
    return f"{corrupt}: {type(exc).__name__}: {first}"


def read_checkpoint(
    path: str | os.PathLike,
    key: str,
    *,
    trusted: Iterable[str] = (),
    mmap: bool = False,
    needs_config: bool = True,
) -> dict[str, Any]:
    """The checkpoint ``key=path`` names, read through the trust boundary (module docstring), or
    a one-line ConfigError: missing, a directory, unreadable, a pickle payload, not written by
    gans.train, a stored config that could choose code, non-finite tensors."""
    file = Path(os.path.expanduser(str(path)))
    if file.is_dir():
        raise ConfigError(f"{key}={path} is a directory; pass a checkpoint file (*.ckpt) in it")
    if not file.is_file():
        raise ConfigError(f"{key}={path} does not exist")
    try:
        checkpoint = torch.load(file, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as exc:  # noqa: BLE001  (pickle, zip and mmap each raise their own type)
        raise ConfigError(f"{key}={path}: {_load_error(exc)}") from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise ConfigError(f"{key}={path} is not a Lightning checkpoint (no state_dict in it)")
    config = (checkpoint.get("gans") or {}).get("config") if isinstance(
        checkpoint.get("gans"), dict
    ) else None  # fmt: skip
    if needs_config and not config:
        raise ConfigError(f"{key}={path} was not written by gans.train (no 'gans' config in it)")
    if config:
        check_config(config, f"{key}={path}", trusted)
    bad = nonfinite(
        {"state_dict": checkpoint["state_dict"], "optimizers": checkpoint.get("optimizer_states")}
    )
    if bad is not None:
        raise ConfigError(
            f"{key}={path} holds non-finite values ({bad} has NaN or Inf): a diverged model, "
            "refused; use an earlier checkpoint of the run"
        )
    return checkpoint
