"""Training-health warnings, tuned on real runs: the default run raises none; a generator with a
learning rate 100x too low lets D win (the notes' failure mode and vanishing gradients); a
generator that ignores its noise is flagged as collapsed."""

from __future__ import annotations

from types import SimpleNamespace

import torch

from gans.callbacks.health import MESSAGES, TrainingHealth
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


def test_a_conditional_generator_that_ignores_its_noise_is_flagged_within_its_classes(tmp_path):
    """A class-conditional G whose noise no longer reaches the image still draws ten different
    digits (overall diversity stays), one per class: only the per-class check sees it."""
    train(compose_config([*TINY, "model.num_classes=10", "iterations=60", "logger=none",
                          f"paths.run_dir={tmp_path}"]))  # fmt: skip
    _, model, _ = restore(tmp_path / "checkpoints" / "last.ckpt")
    health = TrainingHealth(num_samples=60)
    for x, y in zip(*labelled_digits(16, 600), strict=True):
        health.real_diversity.append(float(torch.cdist(x.flatten(1), x.flatten(1)).mean()))
        for c in y.unique().tolist():
            same = x[y == c]
            if same.shape[0] > 1:
                spread = float(torch.pdist(same.flatten(1)).mean())
                health.real_class_diversity.setdefault(int(c), []).append(spread)
    assert "class_collapse" not in health.check(model)  # a trained generator varies with z
    generator = model.network("generator")
    with torch.no_grad():
        generator.net[0].weight[: generator.latent_dim].zero_()  # z's rows: only the label stays
    found = health.check(model)
    assert found["class_collapse"]["ratio"] < 1e-3
    assert "mode_collapse" not in found  # ten classes still look diverse overall


def labelled_digits(size: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` scikit-learn digits at ``size`` pixels in [-1, 1] with their labels, as batches."""
    from gans.data.digits import DigitsDataModule

    dm = DigitsDataModule(image_size=size, batch_size=n)
    dm.setup()
    x = dm.dataset.images[:n].float() / 127.5 - 1
    return x.split(200), dm.dataset.labels[:n].split(200)


def test_labels_ignored_at_two_evaluations_in_a_row_are_a_sign_one_is_not():
    """The conditional accuracy the evaluation computed: low twice running is the sign (chance
    is 1 / classes); a single low evaluation (early in training) is not."""
    scored = SimpleNamespace(history=[(500, {"fid": 30.0, "cond_acc": 0.11})])
    health = TrainingHealth(evaluation=scored)
    assert health.label_accuracy_now() is None
    scored.history.append((1000, {"fid": 25.0, "cond_acc": 0.14}))
    assert health.label_accuracy_now() == 0.14
    found = health.check(SimpleNamespace(num_classes=10))["ignored_labels"]
    assert found == {"accuracy": 0.14, "floor": 0.5, "chance": 0.1}
    said = MESSAGES["ignored_labels"].format(**found)
    assert "the class asked for in 14% of the samples" in said and "chance 10%" in said
    scored.history.append((1500, {"fid": 20.0, "cond_acc": 0.97}))
    assert health.label_accuracy_now() == 0.97  # the labels are obeyed now
