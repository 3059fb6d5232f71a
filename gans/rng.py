"""Every random number generator training draws from: saved, restored, and kept out of the way
of anything that must not move the training random stream (metrics, grids, health checks)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch


def rng_states() -> dict[str, Any]:
    """Every random number generator training draws from (Python, NumPy, torch CPU and CUDA),
    as plain containers and tensors that load with ``weights_only=True``."""
    version, keys, gauss = random.getstate()
    numpy_state = np.random.get_state()
    states: dict[str, Any] = {
        "python": [version, list(keys), gauss],
        "numpy": [
            numpy_state[0],
            torch.from_numpy(numpy_state[1].astype(np.int64)),
            *numpy_state[2:],
        ],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    """Restore what :func:`rng_states` saved."""
    version, keys, gauss = states["python"]
    random.setstate((version, tuple(keys), gauss))
    name, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def seed_process(seed: int, rank: int) -> None:
    """Give DDP process ``rank`` random streams of its own derived from the run's ``seed``
    (rank 0 keeps the run's): with one seed everywhere every process would draw the same noise,
    and the fake half of the global batch would be ``world`` copies of one."""
    if rank == 0:
        return
    derived = (int(seed) + 1_000_003 * int(rank)) % 2**32
    random.seed(derived)
    np.random.seed(derived)
    torch.manual_seed(derived)


@contextmanager
def preserved() -> Iterator[None]:
    """Run the body without moving any training random stream: every generator's state is saved
    before and restored after (what torchmetrics' KID/IS subsets, a classifier's training or a
    reference set-up draw leaves training unchanged)."""
    states = rng_states()
    try:
        yield
    finally:
        set_rng_states(states)
