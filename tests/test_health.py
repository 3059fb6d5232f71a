"""Training-health warnings, tuned on real runs: the default run raises none; a generator with a
learning rate 100x too low lets D win (the notes' failure mode and vanishing gradients); a
generator that ignores its noise is flagged as collapsed."""

from __future__ import annotations

import torch

from gans.callbacks.health import TrainingHealth
from gans.restore import datamodule, restore
from gans.train import train
from tests.conftest import TINY, compose_config

QUIET = ["metrics=none", "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]


def test_the_default_run_raises_no_health_warning(tmp_path):
    # `make train` (DCGAN on digits, 2,000 iterations) without metrics or W&B: its D loss dips
    # to ~0.03 for ~250 iterations around iteration 1,600 and recovers, which must not count
    summary = train(compose_config([*QUIET, "logger=none", f"paths.run_dir={tmp_path}"]))
    assert summary["iterations"] == 2000
    assert summary["health"] == []


def test_a_starved_generator_lets_the_discriminator_win(tmp_path):
    cfg = compose_config(
        [*QUIET, "optimizer.generator.lr=5e-6", "iterations=300", "logger=wandb",
         f"paths.run_dir={tmp_path}"]
    )  # fmt: skip
    summary = train(cfg)
    signs = {(w["iteration"], w["sign"]) for w in summary["health"]}
    # both signs from the first check on (iteration 50), warned after 4 more checks
    assert signs == {(250, "discriminator_wins"), (250, "vanishing_gradients")}
    (record,) = tmp_path.glob("wandb/offline-run-*/*.wandb")
    assert b"gans: discriminator wins" in record.read_bytes()  # the W&B alert


def test_stop_ends_the_run_at_the_first_warning(tmp_path):
    cfg = compose_config(
        [*QUIET, "optimizer.generator.lr=5e-6", "iterations=300", "logger=none",
         "health.stop=true", f"paths.run_dir={tmp_path}"]
    )  # fmt: skip
    assert train(cfg)["iterations"] == 250


def test_a_generator_that_ignores_its_noise_is_flagged_as_collapsed(tmp_path):
    train(compose_config([*TINY, "iterations=60", "logger=none", f"paths.run_dir={tmp_path}"]))
    cfg, model, _ = restore(tmp_path / "checkpoints" / "last.ckpt")
    dm = datamodule(cfg)
    real = dm.on_after_batch_transfer(next(iter(dm.train_dataloader())), 0).real
    health = TrainingHealth()
    health.real_diversity.append(float(torch.cdist(real.flatten(1), real.flatten(1)).mean()))
    assert "mode_collapse" not in health.check(model)  # a trained generator varies with z
    with torch.no_grad():
        model.network("generator").net[0].weight.zero_()  # z no longer reaches the image
    found = health.check(model)
    assert found["mode_collapse"]["ratio"] < 1e-3
