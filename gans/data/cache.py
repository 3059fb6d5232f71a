"""Derived caches on disk (decoded datasets as one uint8 tensor, reference features, metrics
classifiers), keyed by everything that shaped them and carrying a checksum of their contents:
a file damaged on disk is a warning and a rebuild, never silently used."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

logger = logging.getLogger(__name__)


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/gans`` (or ``~/.cache/gans``): used when the data folder is read-only."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gans"


def cache_file(cache_dir: str | Path | None, root: str | Path, key: dict[str, Any]) -> Path:
    """Where the cache for ``key`` lives: ``<cache_dir or root>/.gans-cache/<name>-<digest>.pt``.

    The digest covers the whole key (dataset, split, size, preprocessing, source fingerprint), so
    changing any of them names a different file.
    """
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    base = Path(cache_dir) if cache_dir else Path(root) / ".gans-cache"
    return base / f"{key['dataset']}-{key.get('split', 'all')}-{key['image_size']}px-{digest}.pt"


def checksum(payload: Any) -> str:
    """SHA-256 over a payload's structure, plain values and every tensor's dtype, shape and bytes
    (a memory-mapped tensor is read once, not copied)."""
    digest = hashlib.sha256()

    def feed(node: Any) -> None:
        if isinstance(node, torch.Tensor):
            flat = node.detach().cpu().contiguous().reshape(-1)
            digest.update(f"T{flat.dtype}{tuple(node.shape)}".encode())
            digest.update(memoryview(flat.view(torch.uint8).numpy()))
        elif isinstance(node, dict):
            digest.update(b"{")
            for k in sorted(node, key=str):
                digest.update(repr(k).encode())
                feed(node[k])
            digest.update(b"}")
        elif isinstance(node, (list, tuple)):
            digest.update(b"[")
            for value in node:
                feed(value)
            digest.update(b"]")
        else:
            digest.update(repr(node).encode())

    feed(payload)
    return digest.hexdigest()


def load(path: Path, key: dict[str, Any]) -> dict[str, Any] | None:
    """The cached tensors for ``key`` from ``path`` or its fallback in :func:`user_cache_dir`;
    a file whose contents no longer match its checksum (or that has none) is a warning and
    None, so the caller rebuilds it."""
    for candidate in (path, user_cache_dir() / path.name):
        if not candidate.is_file():
            continue
        try:
            payload = torch.load(candidate, weights_only=True, mmap=True)
        except (OSError, RuntimeError, EOFError) as exc:
            logger.warning("ignoring unreadable cache %s (%s)", candidate, exc)
            continue
        if not isinstance(payload, dict) or payload.get("key") != json.loads(json.dumps(key)):
            continue
        contents = {k: v for k, v in payload.items() if k != "checksum"}
        if payload.get("checksum") != checksum(contents):
            logger.warning(
                "cache %s is damaged (its contents do not match its checksum); rebuilding it",
                candidate,
            )
            continue
        return payload
    return None


def save(path: Path, payload: dict[str, Any]) -> Path | None:
    """Write ``payload`` and its :func:`checksum` atomically (temp file + rename: concurrent
    ranks never see half a file).

    Falls back to :func:`user_cache_dir` when ``path``'s folder is not writable; returns the
    path written, or None when neither place is.
    """
    for target in (path, user_cache_dir() / path.name):
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
            os.close(fd)
            try:
                torch.save({**payload, "checksum": checksum(payload)}, tmp)
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)
            return target
        except OSError as exc:
            logger.info("cannot write cache %s (%s)", target, exc)
    return None
