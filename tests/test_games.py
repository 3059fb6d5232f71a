"""The game plumbing (gans.games.base) on a game that is not the GAN family, lazy terms, LR
schedules, typed batches, and restoring a checkpoint whose config was tampered with."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import lightning as L
import pytest
import torch
from omegaconf import OmegaConf, open_dict

from gans.batches import Labelled, Unlabelled, typed
from gans.build import build_model
from gans.data.digits import DigitsDataModule
from gans.data.dirac import DiracDataModule
from gans.errors import ConfigError, TrainingDiverged
from gans.restore import restore
from gans.schedules import LRFactor, lr_factor
from gans.terms import lazy_correction
from gans.train import train
from tests import layouts
from tests.conftest import TINY, compose_config
from tests.test_metrics import METRIC_RUN
from tests.test_resume import assert_same_state

QUIET = [
    "trainer.enable_model_summary=false",
    "trainer.enable_progress_bar=false",
    "log_every=1",
    "logger=csv",
    "metrics=none",
]
RING = ["data=ring", "data.count=64", "data.batch_size=16", "sample_every=0"]  # 4 batches/epoch


def toy(run_dir: Path, *overrides: str, scale: float = 1.0):
    """The moment-matching toy game (tests/toy_game.py) with a stateful term, in ``run_dir``."""
    cfg = compose_config([*QUIET, f"paths.run_dir={run_dir}", *overrides])
    with open_dict(cfg):
        cfg.model = OmegaConf.create(
            {
                "_target_": "tests.toy_game.MomentMatching",
                "name": "toy",
                "data_shape": "${data.shape}",
                "latent_dim": 8,
                "scale": scale,
            }
        )
        cfg.regularizer = {"running_mean": {"_target_": "tests.toy_game.RunningMean"}}
    return cfg


def logged(run_dir: Path, key: str) -> list[tuple[int, float]]:
    with open(next(run_dir.glob("csv/**/metrics.csv"))) as f:
        return [(int(r["step"]), float(r[key])) for r in csv.DictReader(f) if r.get(key)]


# ---------------------------------------------------------------------------- the plumbing
def test_a_one_player_game_resumes_bit_for_bit_with_its_terms_state(tmp_path):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    train(toy(whole, *RING, "iterations=8", "checkpoint_every=4", "ema.enabled=true"))
    train(toy(parts, *RING, "iterations=4", "checkpoint_every=4", "ema.enabled=true"))
    last = parts / "checkpoints" / "last.ckpt"
    train(
        toy(parts, *RING, "iterations=8", "checkpoint_every=4", "ema.enabled=true",
            f"ckpt_path={last}")
    )  # fmt: skip
    a = torch.load(whole / "checkpoints" / "last.ckpt", weights_only=True)
    b = torch.load(last, weights_only=True)
    assert_same_state(a, b)
    assert int(a["state_dict"]["terms.0.seen"]) == 8  # the term's buffer is checkpointed state
    assert a["gans"]["phases"] == {"Gmain": 8}
    assert "generator_ema.module.0.weight" in a["state_dict"]


def test_a_terms_state_survives_save_and_load(tmp_path):
    cfg = toy(tmp_path, *RING, "iterations=3")
    train(cfg)
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    fresh = build_model(cfg)
    assert float(fresh.terms[0].mean) == 0.0
    fresh.load_state_dict(ckpt["state_dict"])
    assert float(fresh.terms[0].mean) == float(ckpt["state_dict"]["terms.0.mean"]) != 0.0
    assert int(fresh.terms[0].seen) == 3


def test_the_finite_check_names_the_player_of_a_one_player_game(tmp_path):
    with pytest.raises(TrainingDiverged) as caught:
        train(toy(tmp_path, *RING, "iterations=5", scale=math.inf))
    message = str(caught.value)
    assert "the generator's" in message and "became NaN or Inf at iteration 1" in message
    assert "optimizer.clip_grad_norm.generator" in message
    assert not (tmp_path / "checkpoints" / "last.ckpt").exists()


class PoisonBuffer(L.Callback):
    """Sets D's first BatchNorm running variance to +Inf after iteration ``at`` (losses stay
    finite: in training mode BatchNorm normalises with the batch's statistics)."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_train_batch_end(self, trainer, pl_module, *args) -> None:
        if trainer.global_step == self.at:
            norm = next(m for m in pl_module.discriminator.modules() if hasattr(m, "running_var"))
            norm.running_var.fill_(math.inf)


def test_a_nonfinite_buffer_stops_training_before_it_reaches_a_checkpoint(tmp_path):
    cfg = compose_config([*TINY, "iterations=6", "logger=none", f"paths.run_dir={tmp_path}"])
    with pytest.raises(TrainingDiverged) as caught:
        train(cfg, extra_callbacks=[PoisonBuffer(at=2)])
    message = str(caught.value)
    assert "the discriminator's buffer discriminator." in message
    # checkpoint callbacks run last: the check before writing iteration 2's catches it
    assert "running_var is NaN or Inf at iteration 2" in message
    assert f"Last good checkpoint: {tmp_path}/checkpoints/last.ckpt" in message
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 1
    assert all(torch.isfinite(v.float()).all() for v in last["state_dict"].values())


def test_every_callback_works_against_a_game_that_is_not_the_gan_family(tmp_path):
    cfg = toy(
        tmp_path / "digits",
        *TINY,
        "sample_every=2",
        "checkpoint_every=2",
        "trainer.enable_progress_bar=true",
        *METRIC_RUN,
        f"metrics.cache_dir={tmp_path / 'cache'}",
        "iterations=4",
        "health.every=1",
    )
    summary = train(cfg)
    run = tmp_path / "digits"
    assert (run / "samples" / "iter_000004.png").is_file()
    assert (run / "checkpoints" / "best-fid.ckpt").is_file()
    assert math.isfinite(summary["metrics"]["fid"])
    assert [s for s, _ in logged(run, next(k for k in _columns(run) if k.startswith("fid/")))] == [
        2,
        4,
    ]
    assert [s for s, _ in logged(run, "health/diversity_ratio")] == [1, 2, 3, 4]
    assert [s for s, _ in logged(run, "lr/generator")] == [1, 2, 3, 4]

    ring = tmp_path / "ring"
    summary = train(toy(ring, *RING, "iterations=2", "metrics=default", "metrics.every=2"))
    assert (ring / "samples" / "scatter_000002.png").is_file()
    assert 0 <= summary["metrics"]["modes"] <= 8

    stacked = tmp_path / "stacked"
    layouts.mnist(stacked / "data", train=60, test=0)
    summary = train(
        toy(stacked, *TINY, "data=stacked_mnist", f"data.root={stacked / 'data'}",
            "data.count=64", "data.num_workers=0", "iterations=2", "metrics=default",
            "metrics.every=2", "metrics.stacked.num_samples=200", "metrics.batch_size=100",
            "metrics.classifier.steps=3", f"metrics.cache_dir={tmp_path / 'cache'}")
    )  # fmt: skip
    assert 1 <= summary["metrics"]["modes"] <= 200


def _columns(run: Path) -> list[str]:
    with open(next(run.glob("csv/**/metrics.csv"))) as f:
        return next(csv.reader(f))


# ---------------------------------------------------------------------------- lazy terms
def test_lazy_correction_is_stylegan2s_formula():
    """StyleGAN2 (training_loop.py): mb_ratio = interval / (interval + 1); lr *= mb_ratio,
    betas = beta ** mb_ratio."""
    opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=0.0025, betas=(0.0, 0.99))
    lazy_correction(opt, 16)
    group = opt.param_groups[0]
    assert group["lr"] == pytest.approx(0.0025 * 16 / 17, rel=1e-12)
    assert group["betas"] == pytest.approx((0.0, 0.99 ** (16 / 17)), rel=1e-12)
    plain = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=0.0025)
    lazy_correction(plain, 1)  # every step: nothing to correct
    assert plain.param_groups[0]["lr"] == 0.0025


def test_a_lazy_r1_is_its_own_phase_with_the_corrected_optimizer(tmp_path):
    cfg = compose_config(
        [*TINY, "model.discriminator.norm=none", "regularizer=r1", "regularizer.r1.lazy=true",
         "regularizer.r1.every=4", "iterations=8", "logger=csv", f"paths.run_dir={tmp_path}"]
    )  # fmt: skip
    train(cfg)
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["gans"]["phases"] == {"Dmain": 8, "Dreg": 8, "Gmain": 8}  # Dreg ran at 4 and 8
    d, g = (s["param_groups"][0] for s in ckpt["optimizer_states"])
    assert d["lr"] == pytest.approx(5e-4 * 4 / 5) and g["lr"] == pytest.approx(5e-4)
    assert d["betas"] == pytest.approx((0.5**0.8, 0.999**0.8)) and tuple(g["betas"]) == (0.5, 0.999)
    assert int(ckpt["optimizer_states"][0]["state"][0]["step"]) == 8 + 2  # main + lazy steps
    assert [s for s, _ in logged(tmp_path, "reg/r1")] == [4, 5, 6, 7, 8]  # kept until next


# ---------------------------------------------------------------------------- LR schedules
def test_lr_factors_at_chosen_iterations():
    linear = LRFactor("linear", start=10, length=10)
    assert [linear(t) for t in (0, 10, 15, 20, 30)] == [1.0, 1.0, 0.5, 0.0, 0.0]
    warm = LRFactor("constant", warmup=4)
    assert [warm(t) for t in (0, 1, 3, 100)] == [0.25, 0.5, 1.0, 1.0]
    with pytest.raises(ConfigError, match="optimizer.schedule.generator.kind=cosine"):
        lr_factor("generator", {"kind": "cosine"})
    with pytest.raises(ConfigError, match="length must be >= 1"):
        lr_factor("generator", {"kind": "linear", "start": 5})


def test_an_lr_schedule_is_logged_per_player_and_restored_on_resume(tmp_path):
    schedule = "optimizer.schedule.generator={kind:linear,start:2,length:4}"
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    train(toy(whole, *RING, schedule, "iterations=8", "checkpoint_every=4"))
    lr = 2e-4  # optimizer=adam's default
    expected = [lr * f for f in (1, 1, 0.75, 0.5, 0.25, 0, 0, 0)]
    assert [v for _, v in logged(whole, "lr/generator")] == pytest.approx(expected)
    train(toy(parts, *RING, schedule, "iterations=4", "checkpoint_every=4"))
    last = parts / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["optimizer_states"][0]["param_groups"][0][
        "lr"
    ] == pytest.approx(lr * 0.5)  # f(4): the rate iteration 5 will use
    train(toy(parts, *RING, schedule, "iterations=8", "checkpoint_every=4", f"ckpt_path={last}"))
    assert_same_state(
        torch.load(whole / "checkpoints" / "last.ckpt", weights_only=True),
        torch.load(last, weights_only=True),
    )
    assert [v for s, v in logged(parts, "lr/generator") if s > 4] == pytest.approx(expected[4:])


# ---------------------------------------------------------------------------- typed batches
def test_datamodules_produce_typed_batches():
    digits = DigitsDataModule(image_size=8, batch_size=16)
    batch = digits.on_after_batch_transfer(next(iter(digits.train_dataloader())), 0)
    assert isinstance(batch, Labelled) and batch.x.shape == (16, 1, 8, 8)
    assert batch.y.shape == (16,) and batch.real is batch.x
    dirac = DiracDataModule(batch_size=4)
    point = dirac.on_after_batch_transfer(next(iter(dirac.train_dataloader())), 0)
    assert isinstance(point, Unlabelled) and point.real.shape == (4, 1)
    assert isinstance(typed((torch.zeros(2, 1), torch.zeros(2)), 0), Unlabelled)


# ---------------------------------------------------------------------------- restoring
def test_a_tampered_checkpoint_config_is_refused_by_restore_and_by_resume(tmp_path):
    run = tmp_path / "run"
    train(compose_config([*TINY, "iterations=2", "logger=none", f"paths.run_dir={run}"]))
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    target = tmp_path / "made-by-the-checkpoint"
    ckpt["gans"]["config"]["model"]["generator"] = {"_target_": "os.makedirs", "name": str(target)}
    tampered = tmp_path / "tampered.ckpt"
    torch.save(ckpt, tampered)
    refused = rf"ckpt={tampered}: model.generator._target_='os.makedirs' is refused"
    with pytest.raises(ConfigError, match=refused):
        restore(tampered)
    with pytest.raises(ConfigError, match=refused.replace("ckpt=", "ckpt_path=")):
        train(
            compose_config([*TINY, "iterations=3", "logger=none",
                            f"paths.run_dir={tmp_path / 'r'}", f"ckpt_path={tampered}"])
        )  # fmt: skip
    assert not target.exists()


def test_a_checkpoint_saved_before_game_families_still_restores(tmp_path):
    """Configs saved before ``model._target_`` existed were all GANs."""
    run = tmp_path / "run"
    train(compose_config([*TINY, "iterations=1", "logger=none", f"paths.run_dir={run}"]))
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    del ckpt["gans"]["config"]["model"]["_target_"], ckpt["gans"]["config"]["model"]["objective"]
    old = tmp_path / "old.ckpt"
    torch.save(ckpt, old)
    _, model, iteration = restore(old)
    assert type(model).__name__ == "GANGame" and iteration == 1
    assert torch.equal(model.generator.state_dict()["net.0.weight"],
                       ckpt["state_dict"]["generator.net.0.weight"])  # fmt: skip
