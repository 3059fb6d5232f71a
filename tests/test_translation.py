"""Image-to-image translation: Pix2Pix and CycleGAN networks, their losses and image pool, the
paired and unpaired folders, the metrics, the runs, and gans.translate."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import nullcontext

import pytest
import torch
from PIL import Image

from gans.build import build_model
from gans.data.paired import PairedFolderDataModule
from gans.data.unpaired import UnpairedFolderDataModule, UnpairedShuffle
from gans.errors import ConfigError
from gans.games.cyclegan import cycle_loss, identity_loss
from gans.image_pool import ImagePool
from gans.nets.patchgan import PatchDiscriminator, receptive_field
from gans.nets.resnet_translator import ResnetGenerator
from gans.nets.unet import UNetGenerator
from gans.schedules import lr_factor
from gans.train import train
from tests import layouts
from tests.conftest import ROOT, compose_config, one_line

QUIET = ["logger=none", "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]
PIX2PIX_TINY = [
    "model=pix2pix", "data=paired_folder", "data.image_size=32", "data.load_size=36",
    "data.channels_a=1", "data.channels_b=1", "data.batch_size=4",
    "model.generator.base_channels=4", "model.discriminator.base_channels=4",
]  # fmt: skip
CYCLEGAN_TINY = [
    "model=cyclegan", "data=unpaired_folder", "data.image_size=16", "data.channels_a=1",
    "data.channels_b=1", "data.batch_size=4", "model.generator_ab.base_channels=4",
    "model.generator_ab.n_blocks=1", "model.discriminator_a.base_channels=4",
    "model.discriminator_a.n_layers=2", "model.pool_size=4",
]  # fmt: skip


# ---------------------------------------------------------------------------- networks
@pytest.mark.parametrize("size", [32, 64, 256])
def test_the_translators_keep_the_image_size_and_map_channels(size):
    x = torch.randn(2, 1, size, size)
    unet = UNetGenerator(1, 3, size, base_channels=4)
    assert unet.depth == {32: 5, 64: 6, 256: 8}[size]  # unet_256: 8 downsamplings
    assert unet(x).shape == (2, 3, size, size)
    resnet = ResnetGenerator(1, 3, size, base_channels=4, n_blocks=2)
    assert resnet(x).shape == (2, 3, size, size)
    patches = PatchDiscriminator([1, 3], base_channels=4)(torch.randn(2, 4, size, size))
    # three stride-2 layers and two stride-1 4x4 layers: S/8 - 2 patches a side
    assert patches.shape == (2, 1, size // 8 - 2, size // 8 - 2)


def test_unet_256_has_the_reference_parameter_count_and_dropout_where_it_puts_it():
    unet = UNetGenerator(3, 3, 256)  # the reference's unet_256, ngf 64: 54,414,531 parameters
    assert sum(p.numel() for p in unet.parameters()) == 54_414_531
    dropouts = [
        i for i, up in enumerate(unet.ups) if any(isinstance(m, torch.nn.Dropout) for m in up)
    ]
    assert dropouts == [4, 5, 6]  # the three 512-wide levels above the innermost
    small = UNetGenerator(1, 1, 32, base_channels=4)  # the 32x32 variant keeps two (the noise)
    assert [i for i, up in enumerate(small.ups) if isinstance(up[-1], torch.nn.Dropout)] == [2, 3]


@pytest.mark.parametrize(("layers", "field"), [(1, 16), (2, 34), (3, 70)])
def test_the_patchgan_receptive_field_is_70_for_the_basic_discriminator(layers, field):
    assert receptive_field(PatchDiscriminator(3, n_layers=layers)) == field
    # measured, not only computed: one output moves only for inputs within its patch
    d = PatchDiscriminator(1, base_channels=4, n_layers=layers).double().eval()  # local norm
    x = torch.randn(1, 1, 96, 96, dtype=torch.double, requires_grad=True)
    out = d(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = (x.grad[0, 0].abs().sum(1) > 0).nonzero()
    assert int(rows.max() - rows.min() + 1) == field


def test_an_image_size_the_unet_cannot_take_names_the_nearest_sizes_that_work():
    with pytest.raises(
        ConfigError, match="data.image_size=100 .* nearest sizes that work: 64, 128"
    ):
        UNetGenerator(1, 1, 100)
    with pytest.raises(ConfigError, match="num_downs=3 .* nearest sizes that work: 40, 48"):
        UNetGenerator(1, 1, 44, num_downs=3)
    assert (
        UNetGenerator(1, 1, 48, num_downs=3, base_channels=4)(torch.randn(1, 1, 48, 48)).shape[-1]
        == 48
    )


# ---------------------------------------------------------------------------- losses and pool
def test_the_image_pool_returns_past_fakes_with_probability_one_half_once_full():
    torch.manual_seed(0)
    pool = ImagePool(50, (1, 1, 1))
    first = torch.arange(50.0).reshape(50, 1, 1, 1)
    assert torch.equal(pool.query(first), first)  # filling: every image is returned as it is
    new = torch.arange(1000.0, 3000.0).reshape(2000, 1, 1, 1)
    out = pool.query(new)
    swapped = out.flatten() != new.flatten()
    assert 0.45 < float(swapped.float().mean()) < 0.55
    # a swapped-in image is a past one: an image of the first batch or an earlier new one
    assert bool((out.flatten()[swapped] < new.flatten()[swapped]).all())
    assert int(pool.count) == 50 and "images" in pool.state_dict()
    assert torch.equal(ImagePool(0, (1, 1, 1)).query(new), new)


def test_cycle_and_identity_losses_equal_their_formulas():
    a = torch.tensor([[[[0.5, -1.0], [0.0, 1.0]]]])
    rec = torch.tensor([[[[0.0, -0.5], [0.5, 1.0]]]])
    assert float(cycle_loss(rec, a)) == pytest.approx((0.5 + 0.5 + 0.5 + 0.0) / 4)
    assert float(identity_loss(a, a)) == 0.0


class Scale(torch.nn.Module):
    """x -> s * x: a generator whose outputs the test can write down."""

    def __init__(self, s: float) -> None:
        super().__init__()
        self.s = torch.nn.Parameter(torch.tensor(s))

    def forward(self, x):
        return self.s * x


class Mean(torch.nn.Module):
    """x -> mean(x) + c per image (a one-patch discriminator)."""

    def __init__(self, c: float) -> None:
        super().__init__()
        self.c = torch.nn.Parameter(torch.tensor(c))

    def forward(self, x):
        return x.mean((1, 2, 3), keepdim=True) + self.c


def test_cyclegan_generator_loss_is_the_papers_sum_of_terms(tmp_path):
    game = build_model(compose_config([*CYCLEGAN_TINY, f"paths.run_dir={tmp_path}"]))
    game.generator_ab, game.generator_ba = Scale(0.5), Scale(3.0)
    game.discriminator_a, game.discriminator_b = Mean(0.2), Mean(-0.1)
    captured = {}
    game.playing = lambda player: nullcontext()
    game.update = lambda player, loss, **kw: captured.setdefault(player, loss)
    a, b = torch.rand(3, 1, 4, 4), torch.rand(3, 1, 4, 4)
    game.generator_step(a, b)

    def mse_to_one(d):  # the reference's LSGAN generator term: E[(D(G(a)) - 1)^2]
        return ((d - 1) ** 2).mean()

    def l1(x, y):
        return (x - y).abs().mean()

    adversarial = mse_to_one((0.5 * a).mean((1, 2, 3)) - 0.1) + mse_to_one(
        (3.0 * b).mean((1, 2, 3)) + 0.2
    )
    cycle = 10 * l1(1.5 * a, a) + 10 * l1(1.5 * b, b)
    identity = 0.5 * (10 * l1(0.5 * b, b) + 10 * l1(3.0 * a, a))
    assert float(captured["generators"].detach()) == pytest.approx(
        float(adversarial + cycle + identity), rel=1e-5
    )


def test_lr_schedules_take_a_share_of_the_run():
    factor = lr_factor("generator", {"kind": "linear", "start": "50%", "length": "50%"})
    factor.resolve(200)
    assert (factor.start, factor.length) == (100, 100)
    assert [factor(t) for t in (0, 100, 150, 200)] == [1.0, 1.0, 0.5, 0.0]
    with pytest.raises(ConfigError, match="start=150% must be an integer >= 0 or a share"):
        lr_factor("generator", {"kind": "linear", "start": "150%", "length": 10})


# ---------------------------------------------------------------------------- data
def test_paired_jitter_gives_a_and_b_the_same_crop_and_flip(tmp_path):
    layouts.paired_side_by_side(tmp_path, "train", 8)
    dm = PairedFolderDataModule(str(tmp_path), image_size=16, load_size=20, channels_a=1,
                                channels_b=1, batch_size=8, hflip=True, num_workers=0)  # fmt: skip
    dm.setup()
    images, labels = dm.dataset[list(range(8))]
    torch.manual_seed(0)
    batches = [dm.on_after_batch_transfer((images, labels), 0) for _ in range(4)]
    for batch in batches:
        assert batch.a.shape == batch.b.shape == (8, 1, 16, 16)
        assert torch.allclose(batch.b, -batch.a, atol=1e-6)  # B = 255 - A, after the same jitter
    crops = torch.stack([batch.a for batch in batches])
    assert not torch.equal(crops[0], crops[1])  # the crops and flips do vary


def test_the_a_b_folder_layout_pairs_files_by_name_and_refuses_unequal_lists(tmp_path):
    layouts.paired_folders(tmp_path / "ok", "train", ["x.png", "y.png"], size=16)
    dm = PairedFolderDataModule(str(tmp_path / "ok"), image_size=16, channels_a=1, channels_b=1,
                                batch_size=2, num_workers=0)  # fmt: skip
    dm.setup()
    batch = dm.on_after_batch_transfer(dm.dataset[[0, 1]], 0)
    assert torch.allclose(batch.b, -batch.a, atol=1e-6)
    layouts.paired_folders(tmp_path / "bad", "train", ["x.png", "y.png"], names_b=["x.png"])
    bad = PairedFolderDataModule(str(tmp_path / "bad"), image_size=16, channels_a=1,
                                 channels_b=1, batch_size=1, num_workers=0)  # fmt: skip
    with pytest.raises(ConfigError, match=r"A/train and .*B/train must hold the same file names"):
        bad.setup()


def test_a_colour_folder_read_as_one_channel_is_named(tmp_path):
    layouts.paired_folders(tmp_path, "train", ["x.png", "y.png"], mode="RGB")
    dm = PairedFolderDataModule(str(tmp_path), image_size=16, channels_a=1, channels_b=1,
                                batch_size=1, num_workers=0)  # fmt: skip
    with pytest.raises(ConfigError, match=r"A/train holds colour images .* data.channels_a=1"):
        dm.setup()


def test_unpaired_epochs_visit_the_larger_domain_once_and_resume_with_the_same_pairs():
    order = UnpairedShuffle(3, 7, batch_size=1)
    order.set_epoch(4)
    pairs = list(order)
    assert sorted(j for _, j in pairs) == list(range(7)) and {i for i, _ in pairs} == {0, 1, 2}
    again = UnpairedShuffle(3, 7, batch_size=1)
    again.set_epoch(4)
    again.resume(4, 3)
    assert list(again) == pairs[3:]


def test_an_empty_domain_folder_is_named(tmp_path):
    layouts.unpaired(tmp_path, {"trainA": 4})
    (tmp_path / "trainB").mkdir()
    dm = UnpairedFolderDataModule(str(tmp_path), image_size=16, channels_a=1, channels_b=1,
                                  batch_size=2, num_workers=0)  # fmt: skip
    with pytest.raises(ConfigError, match=r"trainB holds no images"):
        dm.setup()


# ---------------------------------------------------------------------------- runs
@pytest.fixture(scope="module")
def pix2pix_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("edges")
    layouts.paired_side_by_side(root / "pairs", "train", 12)
    layouts.paired_side_by_side(root / "pairs", "test", 6)
    cfg = compose_config([*PIX2PIX_TINY, *QUIET, f"data.root={root / 'pairs'}", "iterations=2",
                          "sample_every=2", "metrics.every=2", "metrics.translation.domain=mnist",
                          f"paths.run_dir={root / 'run'}"])  # fmt: skip
    return root, train(cfg)


def test_two_pix2pix_iterations_write_a_checkpoint_a_grid_and_paired_scores(pix2pix_run):
    root, summary = pix2pix_run
    run = root / "run"
    assert summary["iterations"] == 2 and (run / "checkpoints" / "last.ckpt").is_file()
    grid = Image.open(run / "samples" / "translation_000002.png")
    assert grid.height == 3 * (32 + 2) + 2  # rows: input | output | target
    assert {"l1", "psnr", "ssim", "fid"} <= set(summary["metrics"])
    assert 0 <= summary["metrics"]["ssim"] <= 1


def test_gans_translate_writes_one_output_per_input(pix2pix_run, tmp_path):
    root, _ = pix2pix_run
    layouts.png_folder(tmp_path / "in", {"x": 3, "y": 2}, size=24)
    done = subprocess.run(
        [sys.executable, "-m", "gans.translate", f"ckpt={root / 'run/checkpoints/last.ckpt'}",
         f"input={tmp_path / 'in'}", f"output={tmp_path / 'out'}", "device=cpu"],
        cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    written = sorted(p.relative_to(tmp_path / "out") for p in (tmp_path / "out").rglob("*.png"))
    assert written == sorted(
        p.relative_to(tmp_path / "in") for p in (tmp_path / "in").rglob("*.png")
    )
    assert Image.open(tmp_path / "out" / written[0]).size == (32, 32)
    assert "eval mode" in done.stdout and "resized to 36, center crop 32" in done.stdout


def test_gans_translate_refuses_side_by_side_pairs_without_pairs_true(pix2pix_run, tmp_path):
    """Pix2Pix's own A|B test folder, given as plain inputs, would be squeezed into one input."""
    root, _ = pix2pix_run
    args = [
        sys.executable,
        "-m",
        "gans.translate",
        f"ckpt={root / 'run/checkpoints/last.ckpt'}",
        f"input={root / 'pairs' / 'test'}",
        f"output={tmp_path / 'out'}",
        "device=cpu",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    refused = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    one_line(refused, 2, "holds A|B side-by-side images", "add pairs=true")
    assert not (tmp_path / "out").exists()
    done = subprocess.run([*args, "pairs=true"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "out").rglob("*.png"))) == 6


def test_two_cyclegan_iterations_write_a_checkpoint_a_grid_and_unpaired_scores(tmp_path):
    layouts.unpaired(tmp_path / "data", {"trainA": 8, "trainB": 12, "testA": 6, "testB": 6},
                     classes=3)  # fmt: skip
    cfg = compose_config([*CYCLEGAN_TINY, *QUIET, f"data.root={tmp_path / 'data'}",
                          "iterations=2", "sample_every=2", "metrics.every=2",
                          "metrics.translation.domain=mnist",
                          f"paths.run_dir={tmp_path / 'run'}"])  # fmt: skip
    summary = train(cfg)
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()
    grid = Image.open(tmp_path / "run" / "samples" / "translation_000002.png")
    assert grid.height == 6 * (16 + 2) + 2  # A | G(A) | F(G(A)) and B | F(B) | G(F(B))
    scores = summary["metrics"]
    assert {"fid_AtoB", "cycle_l1_AtoB", "label_acc_AtoB", "fid_BtoA", "label_acc_BtoA"} <= set(
        scores
    )
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    assert int(state["state_dict"]["pool_a.count"]) == 4  # the pools resume with the run


def test_translation_bad_input_is_one_line(tmp_path):
    layouts.paired_side_by_side(tmp_path / "pairs", "train", 4)

    def said(*overrides: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "gans.train", *overrides, "logger=none", "metrics=none",
             f"hydra.run.dir={tmp_path / 'run'}"],
            cwd=ROOT, env={**os.environ, "WANDB_MODE": "offline"}, capture_output=True, text=True,
        )  # fmt: skip
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert done.returncode == 2 and len(errors) == 1, done.stderr
        return errors[0]

    base = [*PIX2PIX_TINY, f"data.root={tmp_path / 'pairs'}"]
    assert "data.image_size=24 cannot pass through the U-Net" in said(
        *base, "data.image_size=24", "data.load_size=24"
    )
    assert "nearest sizes that work: 16, 32" in said(
        *base, "data.image_size=24", "data.load_size=24"
    )
    assert "model.discriminator cannot judge 16x16 images (it takes at least 24x24)" in said(
        *base, "data.image_size=16", "data.load_size=16"
    )
    layouts.unpaired(tmp_path / "unpaired", {"trainA": 4})
    (tmp_path / "unpaired" / "trainB").mkdir()
    assert "trainB holds no images" in said(*CYCLEGAN_TINY, f"data.root={tmp_path / 'unpaired'}")


@pytest.mark.parametrize("model", ["pix2pix", "cyclegan"])
def test_a_translation_run_resumed_mid_epoch_equals_the_uninterrupted_one(tmp_path, model):
    """Random crops, flips, B partners, the image pools and the LR schedules all continue: the
    run resumed from its iteration-4 checkpoint (mid-epoch: 3 batches an epoch) ends where the
    uninterrupted one does."""
    from tests.test_resume import assert_same_state

    if model == "pix2pix":
        layouts.paired_side_by_side(tmp_path / "data", "train", 12)
        base = [*PIX2PIX_TINY, "data.hflip=true"]
    else:
        layouts.unpaired(tmp_path / "data", {"trainA": 8, "trainB": 12})
        base = [*CYCLEGAN_TINY, "data.load_size=20", "data.hflip=true"]
    base += [*QUIET, f"data.root={tmp_path / 'data'}", "metrics=none", "sample_every=0",
             "data.test_split=null", "iterations=7", "checkpoint_every=4",
             "logger=csv"]  # fmt: skip
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    train(compose_config([*base, f"paths.run_dir={whole}"]))
    middle = whole / "checkpoints" / "iter_000004.ckpt"
    train(compose_config([*base, f"paths.run_dir={resumed}", f"ckpt_path={middle}"]))
    assert_same_state(
        torch.load(whole / "checkpoints" / "last.ckpt", weights_only=True),
        torch.load(resumed / "checkpoints" / "last.ckpt", weights_only=True),
    )


def test_gans_sample_points_a_translation_checkpoint_to_gans_translate(pix2pix_run, tmp_path):
    from hydra import compose, initialize_config_dir

    from gans.sample import sample
    from gans.train import CONF_DIR

    root, _ = pix2pix_run
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        ckpt = root / "run" / "checkpoints" / "last.ckpt"
        cfg = compose(config_name="sample", overrides=[f"ckpt={ckpt}", f"out={tmp_path}"])
    with pytest.raises(ConfigError, match="a translation model: use python -m gans.translate"):
        sample(cfg)
