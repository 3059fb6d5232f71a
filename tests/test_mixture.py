"""The 2-D mixtures and PacGAN's mode-coverage metric on hand-made samples."""

from __future__ import annotations

import csv
import json
import math

import pytest
import torch

from gans.data.mixture import MixtureDataModule, grid_modes, ring_modes
from gans.errors import ConfigError
from gans.metrics.coverage import mode_coverage
from gans.restore import restore
from gans.train import train
from tests.conftest import compose_config


def test_ring_and_grid_modes():
    ring = ring_modes(8, 1.0)
    assert ring.shape == (8, 2) and torch.allclose(ring.norm(dim=1), torch.ones(8))
    assert torch.allclose(ring[2], torch.tensor([0.0, 1.0]), atol=1e-6)
    grid = grid_modes()
    assert grid.shape == (25, 2) and set(grid[:, 0].tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}


@pytest.mark.parametrize(("kind", "std", "modes"), [("ring", 0.01, 8), ("grid", 0.05, 25)])
def test_mixture_samples_have_the_configured_means_and_std(kind, std, modes):
    dm = MixtureDataModule(kind=kind, std=std, count=50_000, seed=1)
    dm.setup()
    x, y = dm.dataset.images, dm.dataset.labels
    assert x.shape == (50_000, 2) and dm.num_classes == modes and dm.sample_shape == (2,)
    offsets = x - dm.modes[y]
    assert offsets.mean(0).abs().max() < 3 * std / math.sqrt(50_000) * 3
    assert offsets.std(0).sub(std).abs().max() < 0.02 * std
    counts = torch.bincount(y, minlength=modes).double() / 50_000
    assert counts.sub(1 / modes).abs().max() < 0.01


def test_coverage_of_samples_at_every_mode_is_full():
    modes = grid_modes()
    got = mode_coverage(modes.repeat(100, 1), modes, std=0.05)
    assert got == pytest.approx({"modes": 25.0, "high_quality": 1.0, "reverse_kl": 0.0}, abs=1e-9)


def test_coverage_of_samples_at_one_mode_is_one_mode_with_kl_log_k():
    modes = grid_modes()
    got = mode_coverage(modes[[7]].repeat(500, 1), modes, std=0.05)
    assert got["modes"] == 1 and got["high_quality"] == 1.0
    assert got["reverse_kl"] == pytest.approx(math.log(25))


def test_coverage_of_uniform_noise_has_few_high_quality_samples():
    modes = grid_modes()
    noise = torch.rand(2500, 2, generator=torch.Generator().manual_seed(0)) * 10 - 5
    got = mode_coverage(noise, modes, std=0.05)
    # a 3-std disc around each mode covers 25 * pi * 0.15^2 of the 100 square units: ~1.8 %
    assert got["high_quality"] < 0.04 and got["reverse_kl"] < 0.1


def test_bad_mixture_settings_name_the_key():
    with pytest.raises(ConfigError, match="data.kind=moons"):
        MixtureDataModule(kind="moons")
    with pytest.raises(ConfigError, match="data.std=0"):
        MixtureDataModule(std=0)


def test_a_short_run_on_the_ring_logs_coverage_and_a_scatter_plot(tmp_path):
    cfg = compose_config(
        [
            f"paths.run_dir={tmp_path}",
            "model=gan2d",
            "data=ring",
            "data.count=1000",
            "model.generator.hidden=[16,16]",
            "model.discriminator.hidden=[16]",
            "iterations=4",
            "metrics.every=2",
            "metrics.coverage.num_samples=500",
            "logger=csv",
            "trainer.enable_progress_bar=false",
            "sample_every=0",
        ]
    )
    summary = train(cfg)
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == [
        "scatter_000002.png",
        "scatter_000004.png",
    ]
    with open(next(tmp_path.glob("csv/**/metrics.csv"))) as f:
        rows = [r for r in csv.DictReader(f) if r.get("coverage/modes")]
    assert [int(r["step"]) for r in rows] == [2, 4]
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["metrics"] == summary["metrics"]
    # the logged figures are PacGAN's protocol applied to the final generator's samples
    _, model, iteration = restore(tmp_path / "checkpoints" / "last.ckpt")
    assert iteration == 4
    z = model.prior.sample(500, "cpu", generator=torch.Generator().manual_seed(1234))
    with torch.no_grad():
        points = model.generator(z, None)
    dm = MixtureDataModule(kind="ring")
    assert mode_coverage(points, dm.modes, 0.01) == pytest.approx(summary["metrics"])
    assert float(rows[-1]["coverage/high_quality"]) == pytest.approx(
        summary["metrics"]["high_quality"]
    )
