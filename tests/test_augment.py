"""Differentiable augmentation (augment=diffaugment, augment=ada): exact per-sample operations,
gradients through them, ADA's probability and its heuristic, and their place in the game."""

from __future__ import annotations

import pytest
import torch

from gans.augment.ada import ADA
from gans.augment.diffaugment import DiffAugment
from gans.augment.ops import rotate90, translate
from gans.errors import ConfigError
from gans.train import train


def test_translation_moves_whole_pixels_with_zero_or_mirrored_borders():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    right = translate(x, torch.tensor([1]), torch.tensor([0]), "zeros")
    assert torch.equal(right[0, 0, :, 1:], x[0, 0, :, :3])
    assert torch.equal(right[0, 0, :, 0], torch.zeros(4))
    up = translate(x, torch.tensor([0]), torch.tensor([-1]), "reflect")
    assert torch.equal(up[0, 0, :3], x[0, 0, 1:])
    assert torch.equal(up[0, 0, 3], x[0, 0, 2])  # the mirror image of the last row but one
    k = torch.tensor([0, 1, 2])
    turned = rotate90(x.expand(3, 1, 4, 4), k)
    assert torch.equal(turned[1], x[0].rot90(1, (1, 2))) and torch.equal(turned[0], x[0])


@pytest.mark.parametrize("make", [DiffAugment, lambda: ADA(initial_p=1.0)], ids=["diff", "ada"])
def test_augmentations_keep_the_shape_and_pass_gradients(make):
    torch.manual_seed(0)
    augment = make()
    x = torch.rand(8, 3, 16, 16, requires_grad=True)
    out = augment(x * 2 - 1)
    assert out.shape == x.shape and not torch.equal(out, x * 2 - 1)
    (out * torch.randn_like(out)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_ada_at_p_0_is_the_identity_exactly():
    torch.manual_seed(0)
    x = torch.randn(16, 3, 8, 8)
    assert torch.equal(ADA(initial_p=0.0)(x), x)


def test_diffaugment_cutout_blanks_one_square_half_the_side():
    torch.manual_seed(0)
    out = DiffAugment(policy=["cutout"])(torch.ones(64, 1, 16, 16))
    zeros = (out == 0).flatten(1).sum(1)
    assert zeros.max() == 64 and zeros.min() >= 16  # 8x8, clipped at the border


def test_ada_p_rises_when_d_is_sure_of_the_reals_and_falls_when_it_is_not():
    ada = ADA(interval=4, speed_images=1000)
    for step in range(1, 9):  # a D that outputs +1 on every real: r_t = 1 > 0.6
        ada.observe(torch.ones(50), step)
    assert ada.p.item() == pytest.approx(2 * 200 / 1000)  # two adjustments of N / speed each
    assert ada.rt.item() == 1.0
    for step in range(9, 13):  # half right: r_t = 0 < 0.6
        ada.observe(torch.tensor([1.0, -1.0] * 25), step)
    assert ada.p.item() == pytest.approx(0.2)
    for step in range(13, 41):  # never below 0
        ada.observe(-torch.ones(50), step)
    assert ada.p.item() == 0.0
    for step in range(1, 4):  # no adjustment between intervals
        ada.observe(torch.ones(50), step)
    assert ada.p.item() == 0.0


def test_ada_logs_p_and_keeps_it_in_the_checkpoint(tiny_config, tmp_path):
    # target -2: any r_t (in [-1, 1]) is above it: p rises by 16 images / 64 at each D step
    cfg = tiny_config("augment=ada", "augment.speed_images=64", "augment.interval=1",
                      "augment.target=-2", "iterations=3", "regularizer=r1",
                      "logger=csv")  # fmt: skip
    train(cfg)
    ckpt = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["state_dict"]["augment.p"].item() == pytest.approx(0.75)
    (log,) = (tmp_path / "run").glob("csv/**/metrics.csv")
    header = log.read_text().splitlines()[0].split(",")
    assert "augment/p" in header and "augment/rt" in header


def test_augmentation_reaches_d_in_both_players_steps_and_in_r1(tiny_config):
    from gans.build import build_model

    cfg = tiny_config("augment=diffaugment", "regularizer=r1")
    game = build_model(cfg)
    seen = []
    original = game.augment.forward
    game.augment.forward = lambda x: seen.append(x.shape[0]) or original(x)
    x = torch.randn(4, 1, 16, 16)
    game.discriminator_loss(x, torch.randn(4, 1, 16, 16), None)  # D step: real + fake + R1
    assert len(seen) == 3
    game.judge(torch.randn(4, 1, 16, 16), None)  # the G step's view of its fakes
    assert len(seen) == 4
    game.discriminator.eval()  # outside training (checks, samples) D sees the images as they are
    game.judge(torch.randn(4, 1, 16, 16), None)
    assert len(seen) == 4


def test_augment_on_a_model_without_a_discriminator_is_refused_in_one_line(tiny_config, tmp_path):
    from gans.build import build_model
    from tests.conftest import compose_config

    cfg = compose_config(["data=digits", "model=vae", "augment=ada", f"paths.run_dir={tmp_path}"])
    with pytest.raises(ConfigError, match="augment=none") as exc:
        build_model(cfg)
    assert "\n" not in str(exc.value)
    with pytest.raises(ConfigError, match="model.pack=1"):
        train(tiny_config("augment=diffaugment", "model.pack=2"))
