"""Shared helpers: compose the real configs and run the real training loop on tiny settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from gans.train import CONF_DIR

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")

# Small enough for 2 CPU cores: 16x16 images, 8-channel DCGAN, batch 16.
TINY = [
    "data=digits",  # the 1,797 scikit-learn digits: in memory in a second (data=... later wins)
    "data.image_size=16",
    "data.batch_size=16",
    "model.generator.base_channels=8",
    "model.discriminator.base_channels=8",
    "log_every=1",
    "sample_every=1",
    "checkpoint_every=1",
    "trainer.enable_model_summary=false",
    "trainer.enable_progress_bar=false",
    "metrics=none",
]
TINY_MLP = [o for o in TINY if "base_channels" not in o] + [
    "model.generator.hidden=[32]",
    "model.discriminator.hidden=[32]",
]


# The 10,000 real MNIST test digits as class folders of PNGs, beside the repo on dev and CI.
MNIST_TEST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist-test" / "images"


@pytest.fixture(scope="session")
def mnist_test_cache(tmp_path_factory) -> Path:
    """One decode cache for every test that reads MNIST_TEST (decoding 10,000 PNGs takes ~8 s)."""
    return tmp_path_factory.mktemp("mnist-test-cache")


def compose_config(overrides: list[str] | None = None) -> DictConfig:
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose(config_name="train", overrides=overrides or [])


@pytest.fixture
def tiny_config(tmp_path: Path):
    """``tiny_config(*overrides)`` -> a composed config running tiny in ``tmp_path``."""

    def make(*overrides: str, run_dir: Path | None = None) -> DictConfig:
        model = next((o.split("=", 1)[1] for o in overrides if o.startswith("model=")), "dcgan")
        base = TINY_MLP if model == "gan" else TINY
        out = run_dir or tmp_path / "run"
        return compose_config([*base, f"paths.run_dir={out}", *overrides])

    return make


ROOT = Path(__file__).resolve().parents[1]


def run_train(*overrides: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """``python -m gans.train <overrides>`` in a fresh process (W&B offline, one thread)."""
    return subprocess.run(
        [sys.executable, "-m", "gans.train", *overrides],
        cwd=ROOT,
        env={**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_line(result: subprocess.CompletedProcess, status: int, *said: str) -> str:
    """The single ``error:`` line of a command that exited with ``status`` and no traceback,
    checked to contain each of ``said``."""
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == status, result.stderr[-3000:]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    for text in said:
        assert text in errors[0], errors[0]
    return errors[0]


SLOW_LIST = Path(__file__).with_name("slow.txt")


def pytest_collection_modifyitems(config, items) -> None:
    """Mark the tests listed in ``tests/slow.txt`` (``tests/slow_tests.py`` writes it from a timed
    run) ``slow``: ``make test-fast`` runs the others."""
    if not SLOW_LIST.is_file():
        return
    slow = {line.strip() for line in SLOW_LIST.read_text().splitlines() if line and line[0] != "#"}
    for item in items:
        if item.nodeid in slow:
            item.add_marker(pytest.mark.slow)
