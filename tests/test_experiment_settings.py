"""The experiments' settings against the papers they reproduce, read from the files the one-command
experiments run (a setting that drifts from the paper fails here, not in a 10-seed table)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import compose_config

ROOT = Path(__file__).resolve().parent.parent
MODE_COLLAPSE = ROOT / "experiments" / "mode_collapse"


def variant_overrides(entry) -> list[str]:
    return list(entry.get("overrides", [])) if isinstance(entry, dict) else list(entry or [])


def composed(overrides: list[str]):
    return compose_config(["paths.run_dir=/tmp/unused", *overrides])


@pytest.mark.parametrize(
    "name", list(yaml.safe_load((MODE_COLLAPSE / "variants.yaml").read_text())["variants"])
)
def test_every_mode_collapse_variant_gives_d_pacgans_100_inputs_per_step(name):
    """PacGAN's code (Lin et al. 2018) feeds D minibatches of 100 inputs, each of m points, so a
    PacGAN-m step draws 100 m real and 100 m generated points. Packing the GAN's 100 points into
    100 / m inputs instead (what `model.pack=4` alone does) is a different, noisier D step."""
    spec = yaml.safe_load((MODE_COLLAPSE / "variants.yaml").read_text())
    entry = spec["variants"][name]
    data = entry.get("data", spec["data"]) if isinstance(entry, dict) else spec["data"]
    for dataset in data:
        cfg = composed(
            [*spec["budget"], *spec["final"], *variant_overrides(entry), f"data={dataset}"]
        )
        assert cfg.data.batch_size == 100 * cfg.model.pack, (name, dataset)
        assert cfg.data.datamodule.batch_size == cfg.data.batch_size


def test_the_mode_collapse_table_samples_the_generators_average_after_a_decayed_rate():
    """The budget the ablations chose (README, "Ablations"): lr decayed to zero over the second
    half for both players, and the EMA generator sampled."""
    spec = yaml.safe_load((MODE_COLLAPSE / "variants.yaml").read_text())
    cfg = composed([*spec["budget"], *spec["final"], "data=grid"])
    for player in ("generator", "discriminator"):
        schedule = cfg.optimizer.schedule[player]
        assert (schedule.kind, schedule.start, schedule.length) == ("linear", "50%", "50%")
    assert cfg.ema.enabled and cfg.iterations == 20000


def test_stacked_mnist_packing_keeps_dcgans_64_d_inputs_per_step(monkeypatch):
    monkeypatch.syspath_prepend(str(MODE_COLLAPSE))
    sys.modules.pop("stacked", None)
    import stacked

    for name, overrides in stacked.VARIANTS.items():
        cfg = composed([*overrides, "data=stacked_mnist"])
        assert cfg.data.batch_size == 64 * cfg.model.pack, name
